/** An in-process Ferry API on the file's test schema, driven with app.inject, with its logs captured. */
import { randomBytes } from "node:crypto";
import { mkdtemp, rm } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { Writable } from "node:stream";
import type { FastifyInstance } from "fastify";
import { afterAll, beforeAll } from "vitest";
import { ensureAdministrator } from "../../src/domain/bootstrap.js";
import { secretBox } from "../../src/domain/secretbox.js";
import { buildApp } from "../../src/http/app.js";
import { createMetrics } from "../../src/http/metrics.js";
import { createLogger } from "../../src/log.js";
import type { FileStore } from "../../src/pipeline/store.js";
import { localStore } from "../../src/store/local.js";
import { type TestDb, useTestDb } from "./db.js";

export interface Response<T = any> {
  status: number;
  body: T;
  headers: Record<string, unknown>;
}

export interface TestApi {
  db: TestDb;
  app: FastifyInstance;
  store: FileStore;
  /** Every log line the app wrote. */
  logs: string[];
  adminToken: string;
  /** Calls the API with a bearer token (or none). */
  call<T = any>(token: string | null, method: string, url: string, body?: unknown): Promise<Response<T>>;
  /** A new account of the given type and a token for it. */
  newAccount(type?: "brand" | "partner"): Promise<{ id: string; token: string }>;
}

export function useTestApi(): { current: TestApi } {
  const db = useTestDb();
  const ref = {} as { current: TestApi };
  const cleanup: (() => Promise<void>)[] = [];
  beforeAll(async () => {
    const logs: string[] = [];
    const sink = new Writable({
      write(chunk, _enc, done) {
        logs.push(String(chunk));
        done();
      },
    });
    const storeDir = await mkdtemp(path.join(os.tmpdir(), "ferry-api-store-"));
    cleanup.push(() => rm(storeDir, { recursive: true, force: true }));
    const store = localStore(storeDir);
    const adminToken = `test_admin_${randomBytes(16).toString("hex")}`;
    await ensureAdministrator(db.current.db, { token: adminToken, password: "test-admin-password" });
    const app = await buildApp({
      db: db.current.db,
      box: secretBox(randomBytes(32)),
      store,
      endpoints: { publicHost: "ferry.test", sftpPort: 2222, ftpPort: 2121 },
      metrics: createMetrics(),
      logger: createLogger("debug", sink),
    });
    const call = async (token: string | null, method: string, url: string, body?: unknown) => {
      const res = await app.inject({
        method: method as "GET",
        url,
        headers: token ? { authorization: `Bearer ${token}` } : {},
        ...(body !== undefined ? { payload: body as object } : {}),
      });
      return { status: res.statusCode, body: res.body ? res.json() : undefined, headers: res.headers };
    };
    const newAccount = async (type: "brand" | "partner" = "brand") => {
      const account = await call(adminToken, "POST", "/api/v1/accounts", {
        name: `Account ${randomBytes(3).toString("hex")}`,
        type,
      });
      const token = await call(adminToken, "POST", `/api/v1/accounts/${account.body.id}/tokens`, {
        name: "test",
      });
      return { id: account.body.id as string, token: token.body.token as string };
    };
    ref.current = { db: db.current, app, store, logs, adminToken, call, newAccount };
  });
  afterAll(async () => {
    await ref.current?.app.close();
    for (const c of cleanup) await c();
  });
  return ref;
}
