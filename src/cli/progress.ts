/**
 * A progress line for uploads and downloads of large files, on stderr: shown when stderr is a terminal (or
 * with --progress), never mixed into stdout (a download may go there). Redrawn at most 5 times a second.
 */
import { Transform } from "node:stream";

const MiB = 1024 * 1024;
const mib = (n: number) => `${(n / MiB).toFixed(1)} MiB`;

/** A pass-through stream that counts bytes and draws `label 12.3 MiB of 50.0 MiB (24%) 8.1 MiB/s`. */
export function progress(label: string, total: number | null, show: boolean): Transform {
  const started = Date.now();
  let done = 0;
  let drawn = 0;
  const draw = (last: boolean) => {
    const seconds = Math.max((Date.now() - started) / 1000, 0.001);
    const of = total ? ` of ${mib(total)} (${Math.floor((100 * done) / total)}%)` : "";
    process.stderr.write(`\r${label} ${mib(done)}${of} ${mib(done / seconds)}/s${last ? "\n" : ""}`);
  };
  return new Transform({
    transform(chunk: Buffer, _encoding, callback) {
      done += chunk.length;
      if (show && Date.now() - drawn >= 200) {
        drawn = Date.now();
        draw(false);
      }
      callback(null, chunk);
    },
    flush(callback) {
      if (show) draw(true);
      callback();
    },
  });
}

/** Whether to draw: --progress, or stderr is a terminal. */
export const wantsProgress = (flag: unknown) => flag === true || process.stderr.isTTY === true;
