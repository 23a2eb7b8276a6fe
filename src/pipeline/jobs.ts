/**
 * The job queue port. Jobs are enqueued inside the caller's transaction, so a job exists exactly when the row
 * it works on does (a Transfer and its processing job commit together, or neither does). pg-boss implements
 * it (queue/boss.ts); the pipeline never imports pg-boss.
 */
import type { Kysely } from "kysely";
import type { Database } from "../db/schema.js";
import type { GenerationQueue, PullQueue } from "../domain/jobs.js";
import type { WebhookQueue } from "../domain/webhooks.js";

/** Processing of one inbound Transfer. */
export const PROCESS_QUEUE = "process-transfer";

export interface ProcessJob {
  transferId: string;
}

/** Generation of one outbound run (a report file for a period). */
export const GENERATE_QUEUE = "generate-run";

export interface GenerateJob {
  runId: string;
}

/** Delivery of a generated file (by email). */
export const DELIVER_QUEUE = "deliver-file";

export interface DeliverJob {
  transferId: string;
  /** Mail an inbound file's summary and errors to its connection's return address (instead of a file). */
  results?: boolean;
  /** With `results`: upload them to the pull connection's result folder instead of mailing them. */
  remote?: boolean;
  /** Upload a generated file to the connection's own server (deliverToServer). */
  push?: boolean;
}

/** One webhook delivery (an event to one endpoint). */
export const WEBHOOK_QUEUE = "deliver-webhook";

export interface WebhookJob {
  deliveryId: string;
}

/** One notification mailed at once. */
export const NOTIFY_QUEUE = "notify-email";

export interface NotifyJob {
  notificationId: string;
}

/** One pull from a third party's server. */
export const PULL_QUEUE = "pull-remote";

export interface PullJob {
  pullId: string;
}

/** A raw SQL executor inside a transaction (the pg client processing and generation run on). */
export interface SqlClient {
  query(text: string, values?: unknown[]): Promise<{ rows: unknown[] }>;
}

export interface QueuedJob<T> {
  id: string;
  data: T;
  /** Retries already made (0 on the first run). */
  retryCount: number;
  retryLimit: number;
}

/** Every queue's door (generation and pull ones are the domain's, domain/jobs.ts). */
export interface JobQueue extends GenerationQueue, PullQueue, WebhookQueue {
  /** Adds a processing job as part of `trx`. */
  enqueueProcessing(trx: Kysely<Database>, job: ProcessJob): Promise<void>;
  /** Adds a delivery job as part of the transaction open on `client`. */
  enqueueDelivery(client: SqlClient, job: DeliverJob): Promise<void>;
  /** Adds a webhook delivery job as part of `client`'s (or `trx`'s) transaction. */
  enqueueWebhook(client: SqlClient | Kysely<Database>, job: WebhookJob): Promise<void>;
  /** Adds a notification mail job as part of `client`'s transaction. */
  enqueueNotification(client: SqlClient, job: NotifyJob): Promise<void>;
  /** Whether the queue is started and not stopped (readiness). */
  running(): boolean;
  /** Jobs waiting to start, per queue, and how long the oldest has waited (seconds): for metrics. */
  backlog(): Promise<{ queue: string; waiting: number; oldestSeconds: number }[]>;
}

/** What a process that runs jobs needs from the queue. */
export interface WorkQueue extends JobQueue {
  work<T>(
    name: string,
    concurrency: number,
    pollingSeconds: number,
    handler: (job: QueuedJob<T>) => Promise<void>,
  ): Promise<void>;
  /** Active jobs of `name` started more than `seconds` ago. */
  staleJobs<T>(name: string, seconds: number): Promise<{ id: string; data: T }[]>;
  /**
   * Runs `handler` on a cron schedule (UTC), once per tick however many processes call this: the queue keeps
   * the schedule in the database and one of those processes takes each tick's job. A failure is logged by
   * the handler and waits for the next tick.
   */
  every(name: string, cron: string, handler: () => Promise<void>): Promise<void>;
  /** Puts a job's data back in the queue to run in `seconds` (not a retry: it counts none). */
  defer<T extends object>(name: string, data: T, seconds: number): Promise<void>;
  /** Fails a job now; it is retried if it has retries left. */
  fail(name: string, id: string, reason: string): Promise<void>;
}
