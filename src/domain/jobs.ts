/**
 * The work the domain hands on, added inside the caller's transaction so that it exists exactly when the row
 * it works on does: a generation run ("run now"), a pull ("pull now", a due schedule). The pipeline's job
 * queue (pipeline/jobs.ts) is what implements them; the domain knows only these two doors.
 */
import type { Kysely } from "kysely";
import type { Database } from "../db/schema.js";

export interface GenerationQueue {
  /** Adds a generation job for the run as part of `trx`. */
  enqueueGeneration(trx: Kysely<Database>, job: { runId: string }): Promise<void>;
  /** Tells this process's workers that work may be waiting (after a commit). */
  wake(): void;
}

export interface PullQueue {
  /** Adds a pull job as part of `trx`. */
  enqueuePull(trx: Kysely<Database>, job: { pullId: string }): Promise<void>;
  wake(): void;
}
