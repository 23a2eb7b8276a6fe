/** Problems found in a file: one that stops the whole file, and the per-row kind. */

/** Stops a file: nothing of it is applied; the summary carries the code and message. */
export class FileProblem extends Error {
  override name = "FileProblem";
  constructor(
    readonly code: string,
    message: string,
  ) {
    super(message);
  }
}

/** A row that cannot be taken: its error type and a message a person can act on. */
export class RowProblem extends Error {
  override name = "RowProblem";
  constructor(
    readonly code: string,
    message: string,
  ) {
    super(message);
  }
}
