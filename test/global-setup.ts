/**
 * One PostgreSQL server for the whole run, shared by the db and e2e projects: DATABASE_URL when set (e.g. the
 * machine's own), otherwise an embedded one started here in a temporary directory by the first project that
 * needs it (vitest runs each project's global setup in this one process). Test files then isolate themselves
 * in a schema each. The unit project has no database: a unit test that reaches for one fails.
 */
import { mkdtemp, rm } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import type { TestProject } from "vitest/node";
import { startEmbeddedPostgres } from "../src/db/embedded.js";
import { freePort } from "./helpers/ports.js";

declare module "vitest" {
  export interface ProvidedContext {
    databaseUrl: string;
  }
}

let shared: Promise<{ url: string; stop: () => Promise<void> }> | undefined;
let users = 0;

export default async function setup(project: TestProject) {
  if (process.env.DATABASE_URL) {
    project.provide("databaseUrl", process.env.DATABASE_URL);
    return;
  }
  shared ??= (async () => {
    const dir = await mkdtemp(path.join(os.tmpdir(), "ferry-test-pg-"));
    const pg = await startEmbeddedPostgres({ dataDir: dir, port: await freePort() });
    return {
      url: pg.superuserUrl,
      stop: async () => {
        await pg.stop();
        await rm(dir, { recursive: true, force: true });
      },
    };
  })();
  users++;
  const db = await shared;
  project.provide("databaseUrl", db.url);
  return async () => {
    if (--users === 0) await db.stop();
  };
}
