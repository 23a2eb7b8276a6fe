/** Rules for the names of files clients send: what is refused, what is temporary, what is reserved. */

/** Characters refused in file names (peers refuse the same): path separators, wildcards, quotes, control. */
// biome-ignore lint/suspicious/noControlCharactersInRegex: refusing control characters is the point.
const FORBIDDEN = /[\\/:*<>|?"\u0000-\u001f\u007f]/;

/** Why a name cannot be used for an upload, or null when it can. */
export function refuseName(name: string): string | null {
  if (name === "" || name === "." || name === "..") return "is not a file name";
  if (Buffer.byteLength(name) > 255) return "is longer than 255 bytes";
  if (FORBIDDEN.test(name))
    return 'contains a character that is not allowed (\\ / : * < > | ? " or a control character)';
  if (isReservedName(name))
    return "starts with receipt_ or result_, which are reserved for files Ferry writes";
  return null;
}

/** Names of result and receipt files: never taken as input. */
export function isReservedName(name: string): boolean {
  return /^(receipt|result)_/i.test(name);
}

/**
 * Names clients use while a file is still being written, renaming it when complete: `x.part` (many), `x.tmp`,
 * `x.filepart` (WinSCP), `x.partial`, `.in.x.` (lftp's temp files). Such an upload becomes a Transfer only
 * when renamed to a final name.
 */
export function isTemporaryName(name: string): boolean {
  return /\.(part|tmp|filepart|partial)$/i.test(name) || /^\.in\./.test(name);
}

/** Whether a file name matches a glob (`*` any run of characters, `?` one), without case. */
export function matchesPattern(pattern: string, name: string): boolean {
  const re = pattern
    .replace(/[.+^${}()|[\]\\]/g, "\\$&")
    .replace(/\*/g, ".*")
    .replace(/\?/g, ".");
  return new RegExp(`^${re}$`, "i").test(name);
}
