/** Errors a user can cause, as values: a code, a message a person can act on, and which fields were wrong. */

export type ErrorCode =
  | "VALIDATION_FAILED"
  | "NOT_FOUND"
  | "CONFLICT"
  | "UNAUTHORIZED"
  | "FORBIDDEN"
  | "METHOD_NOT_ALLOWED"
  | "PAYLOAD_TOO_LARGE"
  | "TOO_MANY_REQUESTS"
  | "QUOTA_EXCEEDED";

/** One wrong input field: its path (e.g. `details.port`) and what is wrong with it. */
export interface FieldError {
  path: string;
  message: string;
}

/** An error the caller caused and can fix. The HTTP layer turns `code` into a status; the CLI into a message. */
export class DomainError extends Error {
  override name = "DomainError";
  constructor(
    readonly code: ErrorCode,
    message: string,
    readonly fields: FieldError[] = [],
  ) {
    super(message);
  }
}

/** The object does not exist in the caller's account (whether or not it exists in another one). */
export function notFound(what: string): DomainError {
  return new DomainError("NOT_FOUND", `${what} not found`);
}

/** One or more fields are invalid. */
export function invalid(fields: FieldError[]): DomainError {
  const first = fields[0];
  const message =
    fields.length === 1 && first ? `${first.path}: ${first.message}` : `${fields.length} fields are invalid`;
  return new DomainError("VALIDATION_FAILED", message, fields);
}

/** PostgreSQL's unique_violation, to turn into a CONFLICT naming the field. */
export function isUniqueViolation(err: unknown, constraint?: string): boolean {
  const e = err as { code?: string; constraint?: string };
  return e?.code === "23505" && (constraint === undefined || e.constraint === constraint);
}
