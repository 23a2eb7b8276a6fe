/**
 * When pulls happen: a pull connection's first pull is due at once, then every pullEveryMinutes; after failures
 * with back-off (1, 2, 4… minutes, capped by the interval); never two open pulls of one connection however
 * many processes tick; a running pull whose process stopped (no heartbeat) is failed so the next can start.
 */
import { beforeAll, describe, expect, it } from "vitest";
import { scheduleDuePulls } from "../../src/domain/pulls.js";
import { useTestApi } from "../helpers/api.js";

const api = useTestApi();
let token: string;

beforeAll(async () => {
  ({ token } = await api.current.newAccount());
});

async function pullConnection(name: string, every = 15) {
  const res = await api.current.call(token, "POST", "/api/v1/connections", {
    name,
    direction: "inbound",
    dataType: "clicks",
    method: "sftp",
    methodology: "pull_from_third_party",
    details: {
      host: "sftp.example.com",
      username: "u",
      password: "p",
      folder: "/out",
      filePattern: "*.csv",
      pullEveryMinutes: every,
    },
  });
  expect(res.status).toBe(201);
  return res.body.id as string;
}

const pulls = async (connectionId: string) =>
  (
    await api.current.db.pool.query(
      "SELECT id, status, trigger FROM pulls WHERE connection_id = $1 ORDER BY id",
      [connectionId],
    )
  ).rows;
const setLast = (connectionId: string, status: string, minutesAgo: number) =>
  api.current.db.pool.query(
    `UPDATE pulls SET status = $2, created_at = now() - make_interval(secs => $3::float8 * 60), finished_at = now()
     WHERE id = (SELECT max(id::text)::uuid FROM pulls WHERE connection_id = $1)`,
    [connectionId, status, minutesAgo],
  );

describe("scheduled pulls", () => {
  it("are due at once, once, however many processes tick; then every interval", async () => {
    const id = await pullConnection("Every 15");
    const ticks = await Promise.all(
      [1, 2, 3, 4].map(() => scheduleDuePulls(api.current.db.db, api.current.queue)),
    );
    expect(ticks.reduce((a, b) => a + b, 0)).toBeGreaterThanOrEqual(1);
    expect(await pulls(id)).toEqual([expect.objectContaining({ status: "pending", trigger: "schedule" })]);
    await setLast(id, "succeeded", 10);
    await scheduleDuePulls(api.current.db.db, api.current.queue);
    expect(await pulls(id)).toHaveLength(1);
    await setLast(id, "succeeded", 16);
    await scheduleDuePulls(api.current.db.db, api.current.queue);
    expect(await pulls(id)).toHaveLength(2);
  });

  it("back off after failures: 1, 2, 4… minutes, never more than the interval", async () => {
    const id = await pullConnection("Backing off", 5);
    const tick = () => scheduleDuePulls(api.current.db.db, api.current.queue);
    await tick();
    // One failure: due again after 1 minute.
    await setLast(id, "failed", 0.5);
    await tick();
    expect(await pulls(id)).toHaveLength(1);
    await setLast(id, "failed", 1.1);
    await tick();
    expect(await pulls(id)).toHaveLength(2);
    // Two failures in a row: 2 minutes.
    await setLast(id, "failed", 1.5);
    await tick();
    expect(await pulls(id)).toHaveLength(2);
    await setLast(id, "failed", 2.1);
    await tick();
    expect(await pulls(id)).toHaveLength(3);
    // Three: 4 minutes.
    await setLast(id, "failed", 3.5);
    await tick();
    expect(await pulls(id)).toHaveLength(3);
    await setLast(id, "failed", 4.1);
    await tick();
    expect(await pulls(id)).toHaveLength(4);
    // Four: 8 minutes, but the interval (5) caps it.
    await setLast(id, "failed", 5.1);
    await tick();
    expect(await pulls(id)).toHaveLength(5);
  });

  it("fail a running pull whose heartbeat stopped, so the connection pulls again", async () => {
    const id = await pullConnection("Lost worker");
    await scheduleDuePulls(api.current.db.db, api.current.queue);
    await api.current.db.pool.query(
      "UPDATE pulls SET status = 'running', created_at = now() - interval '20 minutes', heartbeat_at = now() - interval '2 minutes' WHERE connection_id = $1",
      [id],
    );
    await scheduleDuePulls(api.current.db.db, api.current.queue);
    const rows = (
      await api.current.db.pool.query(
        "SELECT status, error FROM pulls WHERE connection_id = $1 ORDER BY id",
        [id],
      )
    ).rows;
    expect(rows[0]).toMatchObject({
      status: "failed",
      error: expect.stringMatching(/process running this pull stopped/),
    });
    expect(rows).toHaveLength(2);
  });

  it("skip disabled connections", async () => {
    const id = await pullConnection("Disabled");
    await api.current.call(token, "POST", `/api/v1/connections/${id}/disable`);
    await scheduleDuePulls(api.current.db.db, api.current.queue);
    expect(await pulls(id)).toEqual([]);
  });
});
