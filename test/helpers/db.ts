/**
 * A real PostgreSQL schema per test file (pg-boss's way): created and migrated in beforeAll, dropped in
 * afterAll unless FERRY_KEEP_TEST_SCHEMAS=1, so a failed run can be inspected.
 */
import { randomBytes } from "node:crypto";
import pg from "pg";
import { afterAll, beforeAll, inject } from "vitest";
import { migrate } from "../../src/db/migrate.js";
import { type DbHandle, openDb } from "../../src/db/pool.js";

export interface TestDb extends DbHandle {
  schema: string;
  url: string;
}

/** Registers hooks that give the file its own migrated schema; read `.current` inside tests. */
export function useTestDb(): { current: TestDb } {
  const ref = {} as { current: TestDb };
  let admin: pg.Client;
  beforeAll(async () => {
    const url = inject("databaseUrl");
    const schema = `t_${randomBytes(6).toString("hex")}`;
    admin = new pg.Client({ connectionString: url });
    await admin.connect();
    await admin.query(`CREATE SCHEMA ${schema}`);
    const handle = openDb(url, { schema, max: 5 });
    await migrate(handle.pool);
    ref.current = { ...handle, schema, url };
  });
  afterAll(async () => {
    await ref.current?.close();
    if (ref.current && process.env.FERRY_KEEP_TEST_SCHEMAS !== "1") {
      await admin.query(`DROP SCHEMA ${ref.current.schema} CASCADE`);
    }
    await admin?.end();
  });
  return ref;
}

/** A new empty database on the test server, for tests that run Ferry as a whole; dropped by the returned function. */
export async function createTestDatabase(): Promise<{ url: string; drop: () => Promise<void> }> {
  const serverUrl = inject("databaseUrl");
  const name = `ferry_e2e_${randomBytes(5).toString("hex")}`;
  const admin = new pg.Client({ connectionString: serverUrl });
  await admin.connect();
  await admin.query(`CREATE DATABASE ${name}`);
  await admin.end();
  const url = new URL(serverUrl);
  url.pathname = `/${name}`;
  return {
    url: url.toString(),
    drop: async () => {
      const c = new pg.Client({ connectionString: serverUrl });
      await c.connect();
      await c.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
      await c.end();
    },
  };
}
