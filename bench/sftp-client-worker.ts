/** Load generator for bench/sftp-sessions.ts: opens all sessions at once with ssh2's client, each uploading one
 * file, and prints a JSON summary. */
import { randomBytes } from "node:crypto";
import { readFileSync } from "node:fs";
import ssh2 from "ssh2";

const o = JSON.parse(process.argv[2]!) as {
  port: number;
  username: string;
  key: string;
  folder: string;
  sessions: number;
  bytes: number;
  /** Number of the first file (several workers share one inbox). */
  first?: number;
};
const privateKey = readFileSync(o.key);

function session(i: number): Promise<number> {
  const started = performance.now();
  return new Promise((resolve, reject) => {
    const client = new ssh2.Client();
    const fail = (err: Error) => {
      client.end();
      reject(err);
    };
    client
      .on("ready", () => {
        client.sftp((err, sftp) => {
          if (err) return fail(err);
          sftp.writeFile(
            `/${o.folder}/inbox/file-${(o.first ?? 0) + i}.csv`,
            randomBytes(o.bytes),
            (werr) => {
              if (werr) return fail(werr);
              client.end();
              resolve(performance.now() - started);
            },
          );
        });
      })
      .on("error", fail)
      .connect({
        host: "127.0.0.1",
        port: o.port,
        username: o.username,
        privateKey,
        readyTimeout: 120_000,
        algorithms: { cipher: ["aes128-gcm@openssh.com"] },
      });
  });
}

const wall = performance.now();
const results = await Promise.allSettled(Array.from({ length: o.sessions }, (_, i) => session(i)));
const times = results.flatMap((r) => (r.status === "fulfilled" ? [r.value] : []));
const errors = results.flatMap((r) =>
  r.status === "rejected" ? [String(r.reason?.message ?? r.reason)] : [],
);
process.stdout.write(
  JSON.stringify({
    ok: times.length,
    failed: errors.length,
    errors,
    times,
    wallMs: performance.now() - wall,
  }),
);
