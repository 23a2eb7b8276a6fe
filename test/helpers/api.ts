/** An in-process Ferry API on the file's test schema, driven with app.inject, with its logs captured. */
import { randomBytes } from "node:crypto";
import { mkdtemp, rm } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { Writable } from "node:stream";
import type { FastifyInstance } from "fastify";
import { afterAll, beforeAll } from "vitest";
import { ensureAdministrator } from "../../src/domain/bootstrap.js";
import { LoginGuard } from "../../src/domain/login-guard.js";
import { pgpKeyring } from "../../src/domain/pgp-keys.js";
import { secretBox } from "../../src/domain/secretbox.js";
import { buildApp } from "../../src/http/app.js";
import { createMetrics } from "../../src/http/metrics.js";
import { createLogger } from "../../src/log.js";
import { type Outcome, type ProcessDeps, processTransfer } from "../../src/pipeline/process.js";
import { type Received, recordUpload } from "../../src/pipeline/receive.js";
import type { FileStore } from "../../src/pipeline/store.js";
import { BossQueue } from "../../src/queue/boss.js";
import { localStore } from "../../src/store/local.js";
import { type TestDb, useTestDb } from "./db.js";

/** The login limits of the in-process API: those of the server's defaults. */
export const TEST_GUARD = {
  maxFailures: 10,
  windowMs: 15 * 60_000,
  banMs: 30 * 60_000,
  maxSessionsPerCredential: 10,
  maxHandlesPerCredential: 1024,
};

export interface Response<T = any> {
  status: number;
  body: T;
  headers: Record<string, unknown>;
}

export interface TestApi {
  db: TestDb;
  app: FastifyInstance;
  store: FileStore;
  /** The local store's root folder. */
  storeDir: string;
  /** Every log line the app wrote. */
  logs: string[];
  adminToken: string;
  /** Calls the API with a bearer token (or none). */
  call<T = any>(token: string | null, method: string, url: string, body?: unknown): Promise<Response<T>>;
  /** A new account of the given type and a token for it. */
  newAccount(type?: "brand" | "partner"): Promise<{ id: string; token: string }>;
  /** The job queue (pg-boss, in its own schema next to the file's). */
  queue: BossQueue;
  /** What processing needs, with small limits tests can reach. */
  processDeps: ProcessDeps;
  /** Receives a file as an upload would: store, then the receive transaction (which enqueues its job). */
  receive(
    to: { accountId: string; connectionId: string },
    name: string,
    content: string | Buffer,
  ): Promise<Received>;
  /** Runs the processing of a transfer here and now (the real code a worker runs). */
  process(transferId: string): Promise<Outcome>;
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
    const queue = await BossQueue.start(
      { url: db.current.url, schema: `${db.current.schema}_jobs`, pollingSeconds: 0.5 },
      createLogger("warn", sink),
    );
    cleanup.push(async () => {
      await queue.stop();
      if (process.env.FERRY_KEEP_TEST_SCHEMAS !== "1") {
        await db.current.pool.query(`DROP SCHEMA IF EXISTS ${db.current.schema}_jobs CASCADE`);
      }
    });
    const box = secretBox(randomBytes(32));
    const app = await buildApp({
      db: db.current.db,
      box,
      store,
      endpoints: { publicHost: "ferry.test", sftpPort: 2222, ftpPort: 2121, emailDomain: "in.ferry.test" },
      metrics: createMetrics(),
      queue,
      maxUploadBytes: 1024 * 1024,
      logger: createLogger("debug", sink),
      requestLimits: { bodyMs: 1000, minUploadBytesPerSecond: 1024, checkMs: 1000 },
      loginGuard: new LoginGuard(db.current.pool, TEST_GUARD),
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
    const processDeps: ProcessDeps = {
      pool: db.current.pool,
      pgp: pgpKeyring(db.current.db, box),
      store,
      log: createLogger("debug", sink),
      limits: {
        maxLineChars: 64 * 1024,
        unpack: { maxUnpackedBytes: 1024 ** 3, maxRatio: 200 },
        // Files applied a part at a time (conversions) start with parts of a few rows (2, 4, 8…): tests of them
        // cross parts (repeats in another part, item-level orders, errors gathered from every part).
        parts: { firstRows: 2, maxRows: 4096, maxChars: 1024 * 1024 },
      },
    };
    const receive = async (
      to: { accountId: string; connectionId: string },
      name: string,
      content: string | Buffer,
    ) => {
      const upload = await store.create();
      await upload.write(Buffer.from(content), 0);
      const object = await upload.commit();
      return recordUpload(
        db.current.db,
        queue,
        { ...to, credentialId: null, protocol: "sftp", remoteIp: "203.0.113.7" },
        name,
        object,
      );
    };
    ref.current = {
      storeDir,
      db: db.current,
      app,
      store,
      logs,
      adminToken,
      call,
      newAccount,
      queue,
      processDeps,
      receive,
      // As a worker runs it: with the queue its results mail and events are enqueued on.
      process: (transferId) => processTransfer({ ...processDeps, queue }, transferId),
    };
  });
  afterAll(async () => {
    await ref.current?.app.close();
    for (const c of cleanup) await c();
  });
  return ref;
}
