/**
 * Which character encoding a received file is in. A byte-order mark decides (UTF-8, UTF-16 LE/BE); otherwise
 * the connection's setting, and by default detection on the first SAMPLE_BYTES: valid UTF-8 is UTF-8 (ASCII
 * too), anything else is judged by chardet among the encodings real exports use — Windows-1252 (also for
 * ISO-8859-1, which browsers and the WHATWG Encoding standard read as Windows-1252) and Shift_JIS. A file that
 * is partly UTF-8 and partly not, or in an encoding Ferry does not read, stops with one clear error.
 *
 * Decoding is Node's own TextDecoder (ICU) in fatal mode, so a byte that is not of the chosen encoding stops
 * the file with its line (iconv-lite, the usual library, replaces such bytes silently).
 */
import chardet from "chardet";
import { FileProblem } from "../datatypes/problems.js";
import type { FileEncoding } from "../domain/connection-rules.js";

/** How much of the start of a file detection reads. */
export const SAMPLE_BYTES = 64 * 1024;

/** A decision: the TextDecoder label, and the name said in messages. */
export interface Decided {
  label: string;
  name: string;
  /** Chosen by detection (then an error later in the file is a mixed encoding). */
  detected: boolean;
}

const NAMES: Record<Exclude<FileEncoding, "auto">, Decided> = {
  "utf-8": { label: "utf-8", name: "UTF-8", detected: false },
  "utf-16": { label: "utf-16le", name: "UTF-16", detected: false },
  "windows-1252": { label: "windows-1252", name: "Windows-1252", detected: false },
  "iso-8859-1": { label: "iso-8859-1", name: "ISO-8859-1", detected: false },
  shift_jis: { label: "shift_jis", name: "Shift_JIS", detected: false },
};

/** chardet's names of the encodings detection may choose. */
const DETECTABLE: Record<string, Exclude<FileEncoding, "auto" | "utf-8" | "utf-16">> = {
  "windows-1252": "windows-1252",
  "ISO-8859-1": "windows-1252",
  Shift_JIS: "shift_jis",
};

/**
 * The encoding of a file starting with `sample` (all of it when `complete`). Throws FileProblem for a
 * binary file, mixed encodings, or an encoding detection cannot name among those Ferry reads.
 */
export function decideEncoding(sample: Buffer, setting: FileEncoding, complete: boolean): Decided {
  if (sample[0] === 0xff && sample[1] === 0xfe) return { label: "utf-16le", name: "UTF-16", detected: true };
  if (sample[0] === 0xfe && sample[1] === 0xff) return { label: "utf-16be", name: "UTF-16", detected: true };
  const utf8Bom = sample[0] === 0xef && sample[1] === 0xbb && sample[2] === 0xbf;
  if (setting !== "utf-16" && sample.subarray(0, SAMPLE_BYTES).includes(0)) {
    throw new FileProblem("BINARY_FILE", "The file is binary, not delimited text (it contains NUL bytes)");
  }
  if (utf8Bom) return { ...NAMES["utf-8"], detected: true };
  if (setting !== "auto") return NAMES[setting];
  // Detection reads the first SAMPLE_BYTES (the first chunk read may be longer).
  const head = sample.subarray(0, SAMPLE_BYTES);
  const bad = firstInvalidUtf8(head, complete && head.length === sample.length);
  if (bad === -1) return { ...NAMES["utf-8"], detected: true };
  // UTF-8 characters before the first byte that is not UTF-8: two encodings in one file.
  if (head.subarray(0, bad).some((b) => b >= 0x80)) {
    throw new FileProblem(
      "INVALID_ENCODING",
      `The file mixes encodings: it has UTF-8 characters, and line ${lineAt(head, bad)} is not UTF-8; save it in one encoding (UTF-8)`,
    );
  }
  const guesses = chardet.analyse(head);
  const top = guesses[0];
  const choice = guesses.find((g) => g.name in DETECTABLE);
  // Close guesses among single-byte encodings are common (windows-1252 27, windows-1250 20 for French text):
  // a supported one within 10 points of the best is taken; Shift_JIS must be sure.
  if (
    choice &&
    top &&
    choice.confidence >= top.confidence - 10 &&
    (DETECTABLE[choice.name] !== "shift_jis" || choice.confidence >= 50)
  ) {
    return { ...NAMES[DETECTABLE[choice.name]!], detected: true };
  }
  throw new FileProblem(
    "UNKNOWN_ENCODING",
    `The file is not UTF-8 (line ${lineAt(head, bad)}), and its encoding is not one Ferry reads${top ? ` (it looks like ${top.name})` : ""}; save it as UTF-8, or set the connection's encoding (Windows-1252, ISO-8859-1, Shift_JIS, UTF-16)`,
  );
}

/**
 * Where the first byte that is not well-formed UTF-8 starts, or -1. An incomplete sequence at the very end
 * counts only when the file is `complete` (a sample may cut a character in two).
 */
export function firstInvalidUtf8(bytes: Buffer, complete: boolean): number {
  for (let i = 0; i < bytes.length; ) {
    const b = bytes[i]!;
    if (b < 0x80) {
      i++;
      continue;
    }
    const need = b >= 0xc2 && b <= 0xdf ? 1 : b >= 0xe0 && b <= 0xef ? 2 : b >= 0xf0 && b <= 0xf4 ? 3 : -1;
    if (need < 0) return i;
    for (let k = 1; k <= need; k++) {
      // Cut by the end of a sample, a character is judged by the bytes there are.
      if (i + k >= bytes.length) return complete ? i : -1;
      if ((bytes[i + k]! & 0xc0) !== 0x80) return i;
    }
    // Overlong and surrogate forms (RFC 3629): E0 needs A0–BF next, ED 80–9F, F0 90–BF, F4 80–8F.
    const next = bytes[i + 1]!;
    if (
      (b === 0xe0 && next < 0xa0) ||
      (b === 0xed && next > 0x9f) ||
      (b === 0xf0 && next < 0x90) ||
      (b === 0xf4 && next > 0x8f)
    ) {
      return i;
    }
    i += need + 1;
  }
  return -1;
}

/** The line (1-based) of byte `at`. */
export function lineAt(bytes: Buffer, at: number): number {
  let line = 1;
  for (let k = bytes.indexOf(10); k !== -1 && k < at; k = bytes.indexOf(10, k + 1)) line++;
  return line;
}
