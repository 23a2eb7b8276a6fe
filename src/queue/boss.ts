/**
 * The job queue on pg-boss, in the same PostgreSQL as everything else: jobs are enqueued in the caller's
 * transaction, fetched with SKIP LOCKED (so any number of Ferry processes share them), retried with back-off.
 *
 * pg-boss 10 (not 11+, which needs Node 22) cannot tell a slow job from one whose process died (kill -9): it
 * waits for the job's expiry. Workers here therefore hold a lease for each job (see pipeline/worker.ts) and
 * `staleJobs` lists active jobs so that a lost lease can be failed — and retried — at once.
 */
import { CompiledQuery, type Kysely } from "kysely";
import PgBoss from "pg-boss";
import type { Logger } from "pino";
import { checkSchemaName } from "../db/pool.js";
import type { Database } from "../db/schema.js";
import {
  DELIVER_QUEUE,
  type DeliverJob,
  GENERATE_QUEUE,
  type GenerateJob,
  type JobQueue,
  NOTIFY_QUEUE,
  type NotifyJob,
  PROCESS_QUEUE,
  type ProcessJob,
  PULL_QUEUE,
  type PullJob,
  type QueuedJob,
  type SqlClient,
  WEBHOOK_QUEUE,
  type WebhookJob,
} from "../pipeline/jobs.js";

export interface BossOptions {
  url: string;
  /** The schema pg-boss keeps its tables in. (Default: ferry_jobs) */
  schema: string;
  /** How often an idle worker looks for jobs, in seconds; pg-boss's minimum is 0.5. */
  pollingSeconds: number;
  /** How often schedules are checked for due ticks, in seconds (pg-boss's default: 30; tests use less). */
  cronMonitorSeconds?: number;
  /** The first retry delay of a failed webhook delivery, doubling after. (Default: 10) */
  webhookRetrySeconds?: number;
}

export class BossQueue implements JobQueue {
  private workerIds: string[] = [];
  private stopped = false;

  private constructor(
    private boss: PgBoss,
    private schema: string,
  ) {}

  static async start(options: BossOptions, log: Logger): Promise<BossQueue> {
    const schema = checkSchemaName(options.schema);
    const boss = new PgBoss({
      connectionString: options.url,
      schema,
      max: 4,
      application_name: "ferry-jobs",
      // Completed jobs are kept a week for inspection; the Transfer is the lasting record.
      deleteAfterDays: 7,
      ...(options.cronMonitorSeconds ? { cronMonitorIntervalSeconds: options.cronMonitorSeconds } : {}),
    });
    boss.on("error", (err) => log.error({ err }, "job queue error"));
    await boss.start();
    // A file can take long (a catalog of several GB): expiry is the last resort; leases catch dead workers.
    // Sending a mail is short: a dead sender's job expires and retries within minutes.
    await boss.createQueue(DELIVER_QUEUE, {
      name: DELIVER_QUEUE,
      retryLimit: 8,
      retryDelay: 30,
      retryBackoff: true,
      expireInSeconds: 600,
    });
    // A webhook is retried with back-off for about 40 minutes (10 s doubling; FERRY_WEBHOOK_RETRY_SECONDS).
    await boss.createQueue(WEBHOOK_QUEUE, {
      name: WEBHOOK_QUEUE,
      retryLimit: 8,
      retryDelay: options.webhookRetrySeconds ?? 10,
      retryBackoff: true,
      expireInSeconds: 120,
    });
    // A notification mail is retried like a delivery.
    await boss.createQueue(NOTIFY_QUEUE, {
      name: NOTIFY_QUEUE,
      retryLimit: 8,
      retryDelay: 30,
      retryBackoff: true,
      expireInSeconds: 600,
    });
    // A pull records its own failure and is retried by the scheduler with back-off, not by the queue.
    await boss.createQueue(PULL_QUEUE, { name: PULL_QUEUE, retryLimit: 0, expireInSeconds: 6 * 3600 });
    for (const name of [PROCESS_QUEUE, GENERATE_QUEUE]) {
      await boss.createQueue(name, {
        name,
        retryLimit: 5,
        retryDelay: 2,
        retryBackoff: true,
        expireInSeconds: 6 * 3600,
      });
    }
    return new BossQueue(boss, schema);
  }

  async enqueueProcessing(trx: Kysely<Database>, job: ProcessJob): Promise<void> {
    await this.boss.send(PROCESS_QUEUE, { ...job }, { db: inTransaction(trx) });
  }

  async enqueueGeneration(trx: Kysely<Database>, job: GenerateJob): Promise<void> {
    await this.boss.send(GENERATE_QUEUE, { ...job }, { db: inTransaction(trx) });
  }

  async enqueuePull(trx: Kysely<Database>, job: PullJob): Promise<void> {
    await this.boss.send(PULL_QUEUE, { ...job }, { db: inTransaction(trx) });
  }

  async enqueueDelivery(client: SqlClient, job: DeliverJob): Promise<void> {
    await this.boss.send(
      DELIVER_QUEUE,
      { ...job },
      {
        db: { executeSql: async (text, values) => (await client.query(text, values)) as { rows: never[] } },
      },
    );
  }

  async enqueueWebhook(client: SqlClient | Kysely<Database>, job: WebhookJob): Promise<void> {
    const db =
      "query" in client
        ? {
            executeSql: async (text: string, values: unknown[]) =>
              (await client.query(text, values)) as { rows: never[] },
          }
        : inTransaction(client);
    await this.boss.send(WEBHOOK_QUEUE, { ...job }, { db });
  }

  async enqueueNotification(client: SqlClient, job: NotifyJob): Promise<void> {
    await this.boss.send(
      NOTIFY_QUEUE,
      { ...job },
      { db: { executeSql: async (text, values) => (await client.query(text, values)) as { rows: never[] } } },
    );
  }

  running(): boolean {
    return !this.stopped;
  }

  wake(): void {
    for (const id of this.workerIds) this.boss.notifyWorker(id);
  }

  /** Runs `handler` for jobs of `name`, `concurrency` at a time in this process. A throw fails the job (retried). */
  async work<T>(
    name: string,
    concurrency: number,
    pollingSeconds: number,
    handler: (job: QueuedJob<T>) => Promise<void>,
  ) {
    for (let i = 0; i < concurrency; i++) {
      const id = await this.boss.work<T>(
        name,
        { batchSize: 1, includeMetadata: true, pollingIntervalSeconds: pollingSeconds },
        async ([job]) => {
          if (job) {
            await handler({
              id: job.id,
              data: job.data,
              retryCount: job.retryCount,
              retryLimit: job.retryLimit,
            });
          }
        },
      );
      this.workerIds.push(id);
    }
  }

  /**
   * pg-boss's cron: the schedule is a row (UTC), one process per minute turns due schedules into jobs (a
   * singleton per minute), and the processes that work the queue take them. No retries: the next tick is one.
   */
  async every(name: string, cron: string, handler: () => Promise<void>): Promise<void> {
    await this.boss.createQueue(name, { name, retryLimit: 0, expireInSeconds: 30 * 60 });
    await this.boss.schedule(name, cron);
    await this.work(name, 1, 5, () => handler());
  }

  async backlog(): Promise<{ queue: string; waiting: number; oldestSeconds: number }[]> {
    const { rows } = await this.sql(
      `SELECT name AS queue, count(*)::int AS waiting,
              coalesce(extract(epoch FROM now() - min(created_on)), 0)::float8 AS "oldestSeconds"
       FROM ${this.schema}.job WHERE state IN ('created', 'retry') AND start_after <= now()
         AND name NOT LIKE '\\_\\_pgboss%' GROUP BY name`,
      [],
    );
    return rows as { queue: string; waiting: number; oldestSeconds: number }[];
  }

  /** Active jobs of `name` started more than `seconds` ago (candidates for a lost worker). */
  async staleJobs<T>(name: string, seconds: number): Promise<{ id: string; data: T }[]> {
    const { rows } = await this.sql(
      `SELECT id, data FROM ${this.schema}.job WHERE name = $1 AND state = 'active' AND started_on < now() - make_interval(secs => $2)`,
      [name, seconds],
    );
    return rows as { id: string; data: T }[];
  }

  async defer<T extends object>(name: string, data: T, seconds: number): Promise<void> {
    await this.boss.send(name, { ...data }, { startAfter: seconds });
  }

  /** Fails a job (it is retried if it has retries left). */
  async fail(name: string, id: string, reason: string): Promise<void> {
    await this.boss.fail(name, id, { reason });
  }

  /** Stops fetching; jobs in flight are failed by pg-boss and retried by another process or the next start. */
  async stop(): Promise<void> {
    this.stopped = true;
    await this.boss.stop({ graceful: true, timeout: 10_000, wait: true });
  }

  private sql(text: string, values: unknown[]) {
    return this.boss.getDb().executeSql(text, values);
  }
}

/** pg-boss's database interface over a Kysely transaction, so that its insert joins that transaction. */
function inTransaction(trx: Kysely<Database>): PgBoss.Db {
  return {
    executeSql: async (text, values) => {
      const result = await trx.executeQuery(CompiledQuery.raw(text, values));
      return { rows: result.rows as unknown[] as object[] } as { rows: never[] };
    },
  };
}
