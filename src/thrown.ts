/**
 * Whatever was thrown, as an Error: `catch (err)` gives `unknown`, and a library may throw a string or a plain
 * object. Used instead of `messageOf(err)` casts, which read `undefined` from such values.
 */

/** The thrown value itself when it is an Error; otherwise a new Error saying what it was, with it as the cause. */
export function coerceError(thrown: unknown): Error {
  if (thrown instanceof Error) return thrown;
  return new Error(describe(thrown), { cause: thrown });
}

/** The message of whatever was thrown. */
export function messageOf(thrown: unknown): string {
  return coerceError(thrown).message;
}

function describe(value: unknown): string {
  if (typeof value === "string") return value;
  if (value && typeof value === "object" && typeof (value as { message?: unknown }).message === "string")
    return (value as { message: string }).message;
  try {
    return JSON.stringify(value) ?? String(value);
  } catch {
    return String(value);
  }
}
