/**
 * Runs processing and generation jobs in this process, and watches for jobs whose worker died. A worker
 * holds a lease (a session advisory lock) on what it works on; PostgreSQL releases it the moment that
 * worker's connection drops (crash, kill -9, lost node). A job still "active" whose lease is free therefore has
 * no worker: it is failed at once, and pg-boss retries it — instead of waiting hours for the job's expiry.
 */
import { deliveries, outboundRuns } from "../telemetry.js";
import { messageOf } from "../thrown.js";
import { type DeliverDeps, deliverByEmail, mailResults, pushToServer, uploadResults } from "./deliver.js";
import { generateRun, runLeaseKey } from "./generate.js";
import {
  DELIVER_QUEUE,
  type DeliverJob,
  GENERATE_QUEUE,
  type GenerateJob,
  PROCESS_QUEUE,
  type ProcessJob,
  type WorkQueue,
} from "./jobs.js";
import { inAccountSlot, leaseIsFree } from "./lease.js";
import { giveUp, leaseKey, type ProcessDeps, processTransfer } from "./process.js";

/**
 * The workers' timing: poll for jobs every half second (a commit in this process wakes them at once), look
 * for jobs whose worker died every 5 s, and suspect only jobs active for 10 s (a worker takes its lease first).
 */
export const WORKER_TIMING = { pollingSeconds: 0.5, reapEveryMs: 5000, graceSeconds: 10 } as const;

export interface WorkerOptions {
  /** Files processed at once in this process. */
  concurrency: number;
  pollingSeconds: number;
  /** How often to look for jobs without a worker, in ms. */
  reapEveryMs: number;
  /** A job is only suspected once active this long, in seconds (its worker takes the lease first). */
  graceSeconds: number;
  /**
   * Files of one account processed at once, across every process on the database; 0: no limit. One
   * account's burst of files then leaves workers to the others (an account over its share has its job put
   * back for a few seconds).
   */
  perAccount: number;
}

/** Seconds a job of an account at its limit waits before it is tried again. */
const ACCOUNT_BUSY_DELAY_S = 1;

/** Each queue's lease, from its job's data. */
const LEASES: [string, (data: Record<string, string>) => string][] = [
  [PROCESS_QUEUE, (d) => leaseKey(d.transferId ?? "")],
  [GENERATE_QUEUE, (d) => runLeaseKey(d.runId ?? "")],
];

export async function startProcessing(
  queue: WorkQueue,
  deps: ProcessDeps,
  delivery: Omit<DeliverDeps, "pool" | "store" | "log">,
  options: WorkerOptions,
): Promise<{ stop(): Promise<void> }> {
  await queue.work<ProcessJob>(PROCESS_QUEUE, options.concurrency, options.pollingSeconds, async (job) => {
    const { transferId } = job.data;
    try {
      const process = () => processTransfer({ ...deps, queue }, transferId);
      let outcome: Awaited<ReturnType<typeof process>>;
      if (options.perAccount > 0) {
        const slot = await inAccountSlot(
          deps.pool,
          { table: "transfers", id: transferId },
          options.perAccount,
          process,
        );
        if (slot === "full") {
          deps.log.debug({ transferId, jobId: job.id }, "account at its processing limit; job put back");
          await queue.defer(PROCESS_QUEUE, job.data, ACCOUNT_BUSY_DELAY_S);
          return;
        }
        outcome = slot.value;
      } else outcome = await process();
      // Its webhook events (and results delivery) were enqueued with the outcome: start them now.
      if (outcome === "processed" || outcome === "failed" || outcome === "duplicate") queue.wake();
      // Another worker holds the lease (it is alive): this copy of the job has nothing to do.
      if (outcome === "busy")
        deps.log.warn({ transferId, jobId: job.id }, "transfer is being processed elsewhere");
    } catch (err) {
      deps.log.error(
        { err, transferId, jobId: job.id, retry: job.retryCount },
        "processing failed; will retry",
      );
      if (job.retryCount >= job.retryLimit) await giveUp(deps.pool, transferId, messageOf(err));
      throw err;
    }
  });
  await queue.work<GenerateJob>(GENERATE_QUEUE, 1, options.pollingSeconds, async (job) => {
    const { runId } = job.data;
    try {
      if ((await generateRun({ ...deps, queue }, runId)) === "generated")
        outboundRuns.inc({ status: "generated" });
    } catch (err) {
      deps.log.error({ err, runId, jobId: job.id, retry: job.retryCount }, "generation failed; will retry");
      if (job.retryCount >= job.retryLimit) {
        outboundRuns.inc({ status: "failed" });
        await deps.pool.query(
          "UPDATE report_runs SET status = 'failed', error = $2, finished_at = now() WHERE id = $1 AND status = 'pending'",
          [runId, messageOf(err)],
        );
      }
      throw err;
    }
  });
  await queue.work<DeliverJob>(DELIVER_QUEUE, 1, options.pollingSeconds, async (job) => {
    const kind = job.data.push
      ? "server"
      : job.data.remote
        ? "results_upload"
        : job.data.results
          ? "results_email"
          : "email";
    try {
      const send = job.data.push
        ? pushToServer
        : job.data.remote
          ? uploadResults
          : job.data.results
            ? mailResults
            : deliverByEmail;
      if ((await send({ ...deps, ...delivery, queue }, job.data.transferId)) === "delivered")
        deliveries.inc({ kind, status: "delivered" });
    } catch (err) {
      deliveries.inc({ kind, status: "failed" });
      deps.log.warn(
        { err, transferId: job.data.transferId, retry: job.retryCount },
        "delivery failed; will retry",
      );
      throw err;
    }
  });
  let timer: NodeJS.Timeout | undefined;
  let running: Promise<void> = Promise.resolve();
  let stopped = false;
  const reap = async () => {
    try {
      for (const [name, lease] of LEASES) {
        for (const job of await queue.staleJobs<Record<string, string>>(name, options.graceSeconds)) {
          if (await leaseIsFree(deps.pool, lease(job.data))) {
            deps.log.warn(
              { queue: name, job: job.data, jobId: job.id },
              "worker of a job is gone; retrying it",
            );
            await queue.fail(name, job.id, "the worker running this job stopped");
          }
        }
      }
    } catch (err) {
      deps.log.error({ err }, "could not check for abandoned jobs");
    }
  };
  const schedule = () => {
    if (stopped) return;
    timer = setTimeout(() => {
      running = reap().finally(schedule);
    }, options.reapEveryMs);
    timer.unref();
  };
  schedule();
  return {
    stop: async () => {
      stopped = true;
      clearTimeout(timer);
      await running;
    },
  };
}
