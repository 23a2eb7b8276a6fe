import { sql } from "kysely";
import pg from "pg";
import { describe, expect, inject, it } from "vitest";
import { loadMigrations, migrate } from "../../src/db/migrate.js";
import { openDb } from "../../src/db/pool.js";

describe("migrations", () => {
  it("are numbered SQL files applied in order", async () => {
    const migrations = await loadMigrations();
    expect(migrations[0]).toMatchObject({ id: 1, name: "foundation" });
    expect(migrations.map((m) => m.id)).toEqual([...migrations.map((m) => m.id)].sort((a, b) => a - b));
  });

  it("run once each even when several processes migrate at the same time", async () => {
    const url = inject("databaseUrl");
    const schema = `t_mig_${Date.now().toString(36)}`;
    const admin = new pg.Client({ connectionString: url });
    await admin.connect();
    await admin.query(`CREATE SCHEMA ${schema}`);
    const handles = Array.from({ length: 4 }, () => openDb(url, { schema, max: 2 }));
    try {
      const results = await Promise.all(handles.map((h) => migrate(h.pool)));
      const applied = results.flat().filter((r) => r.status === "applied");
      expect(applied.map((r) => r.id)).toEqual((await loadMigrations()).map((m) => m.id));
      const rows = await sql<{ id: number }>`SELECT id FROM ferry_migrations`.execute(handles[0]!.db);
      expect(rows.rows.length).toBe(applied.length);
      // And a later run finds nothing to do.
      expect((await migrate(handles[0]!.pool)).every((r) => r.status === "already_applied")).toBe(true);
    } finally {
      await Promise.all(handles.map((h) => h.close()));
      await admin.query(`DROP SCHEMA ${schema} CASCADE`);
      await admin.end();
    }
  });
});
