/**
 * Housekeeping on pg-boss's cron (queue.every): several processes on one database register the same
 * schedule and handler, and each tick runs once, in one of them.
 */
import { afterAll, describe, expect, it } from "vitest";
import { createLogger } from "../../src/log.js";
import { BossQueue } from "../../src/queue/boss.js";
import { useTestDb } from "../helpers/db.js";

const db = useTestDb();
const queues: BossQueue[] = [];

afterAll(async () => {
  for (const q of queues) await q.stop();
});

describe("a schedule shared by several processes", () => {
  it("runs each tick once, in one of them", async () => {
    // Each minute is a tick: the test must not cross into the next minute, where a second run is right.
    // Start in the first 20 s of a minute (it takes under 30 s).
    const second = new Date().getUTCSeconds();
    if (second > 20) await new Promise((r) => setTimeout(r, (61 - second) * 1000));
    const runs: number[] = [];
    for (let i = 0; i < 3; i++) {
      const q = await BossQueue.start(
        {
          url: db.current.url,
          schema: `${db.current.schema}_jobs`,
          pollingSeconds: 0.5,
          cronMonitorSeconds: 1,
        },
        createLogger("warn"),
      );
      queues.push(q);
      // Every minute: the minute that has begun is due at once, so the first tick comes within seconds.
      await q.every("housekeeping", "* * * * *", async () => {
        runs.push(i);
      });
    }
    const deadline = Date.now() + 20_000;
    while (runs.length === 0 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 200));
    // Give the other processes every chance to run it too (their cron checks and workers poll meanwhile).
    await new Promise((r) => setTimeout(r, 8_000));
    expect(runs).toHaveLength(1);
    const { rows } = await db.current.pool.query(
      `SELECT name, cron FROM ${db.current.schema}_jobs.schedule WHERE name = 'housekeeping'`,
    );
    expect(rows).toEqual([{ name: "housekeeping", cron: "* * * * *" }]);
  }, 90_000);
});
