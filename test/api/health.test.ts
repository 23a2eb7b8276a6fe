/** /livez and /readyz as a load balancer or orchestrator asks them, and `ferry status`'s source. */
import { rename, rm, writeFile } from "node:fs/promises";
import path from "node:path";
import { describe, expect, it } from "vitest";
import { useTestApi } from "../helpers/api.js";

const api = useTestApi();
const get = (url: string) => api.current.call(null, "GET", url);
const failing = (body: { checks: { name: string; ok: boolean }[] }) =>
  body.checks.filter((c) => !c.ok).map((c) => c.name);

describe("health", () => {
  it("readiness names a file store that takes no write, and is ready again once it does", async () => {
    // The store's upload folder replaced by a plain file: every new upload fails.
    const tmp = path.join(api.current.storeDir, "tmp");
    await api.current.store.create().then((u) => u.abort());
    await rename(tmp, `${tmp}.away`);
    await writeFile(tmp, "not a folder");
    const broken = await get("/readyz");
    expect(broken.status).toBe(503);
    expect(broken.body.status).toBe("not ready");
    expect(failing(broken.body)).toEqual(["store"]);
    expect(broken.body.checks.find((c: { name: string }) => c.name === "store").detail).toMatch(
      /does not take a write/,
    );
    await rm(tmp);
    await rename(`${tmp}.away`, tmp);
    // A failure stands a second (a prober hammering /readyz does not make a write per request).
    expect((await get("/readyz")).status).toBe(503);
    await new Promise((r) => setTimeout(r, 1100));
    const back = await get("/readyz");
    expect(back.status).toBe(200);
    expect(back.body).toEqual({
      status: "ready",
      checks: [
        { name: "database", ok: true, detail: "answers" },
        { name: "migrations", ok: true, detail: expect.stringMatching(/^at \d+$/) },
        { name: "store", ok: true, detail: "takes a write" },
        { name: "queue", ok: true, detail: "running" },
      ],
    });
  });

  it("readiness says so when the database lacks a migration this version knows", async () => {
    const pool = api.current.db.pool;
    const last = (await pool.query("SELECT * FROM ferry_migrations ORDER BY id DESC LIMIT 1")).rows[0];
    await pool.query("DELETE FROM ferry_migrations WHERE id = $1", [last.id]);
    try {
      const res = await get("/readyz");
      expect(res.status).toBe(503);
      expect(failing(res.body)).toEqual(["migrations"]);
      expect(res.body.checks[1].detail).toBe("1 pending: run ferry migrate (or start Ferry once)");
    } finally {
      await pool.query(
        "INSERT INTO ferry_migrations (id, name, checksum, applied_at) VALUES ($1, $2, $3, $4)",
        [last.id, last.name, last.checksum, last.applied_at],
      );
    }
    expect((await get("/readyz")).status).toBe(200);
  });

  it("liveness answers while the process serves, whatever its dependencies; readiness fails when the queue stopped", async () => {
    await api.current.queue.stop();
    const ready = await get("/readyz");
    expect(ready.status).toBe(503);
    expect(failing(ready.body)).toEqual(["queue"]);
    expect(await get("/livez")).toMatchObject({ status: 200, body: { status: "ok" } });
  });
});
