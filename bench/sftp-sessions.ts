/**
 * Concurrency: N concurrent SFTP sessions (default 1,000), each logging in with a key and uploading one small
 * file, against one Ferry process. Reports success count, p50/p99 time per session (connect + login + upload
 * + close), and Ferry's peak memory (VmHWM) and the increase per session.
 *
 *   npm run bench:sessions [-- --sessions 1000 --bytes 4096]
 *
 * The clients are ssh2 clients in a separate Node process (bench/sftp-client-worker.ts), so the load is real
 * TCP + SSH + SFTP, and Ferry's own process is measured alone.
 */
import { execFileSync } from "node:child_process";
import { chmod, mkdtemp, readFile, rm } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { parseArgs } from "node:util";
import { memoryOf, runSftpClients, startFerryForBench } from "./ferry.js";

const { values } = parseArgs({
  options: { sessions: { type: "string", default: "1000" }, bytes: { type: "string", default: "4096" } },
});
const SESSIONS = Number(values.sessions);

async function main() {
  const dir = await mkdtemp(path.join(os.tmpdir(), "ferry-bench-sessions-"));
  await chmod(dir, 0o755);
  const key = path.join(dir, "id_ed25519");
  execFileSync("ssh-keygen", ["-q", "-t", "ed25519", "-N", "", "-f", key]);
  const publicKey = await readFile(`${key}.pub`, "utf8");
  const ferry = await startFerryForBench(dir, publicKey, {
    FERRY_MAX_SESSIONS_PER_CREDENTIAL: String(SESSIONS * 2),
    FERRY_LOGIN_MAX_FAILURES: String(SESSIONS * 2),
    // All sessions start at once from one address: this measures sessions, not the pre-login caps.
    FERRY_PREAUTH_PER_IP: String(SESSIONS * 2),
    FERRY_PREAUTH_TOTAL: String(SESSIONS * 2),
  });
  try {
    const idle = await memoryOf(ferry.pid);
    let peakRss = idle.rss;
    const sampler = setInterval(() => {
      memoryOf(ferry.pid).then(
        (m) => {
          peakRss = Math.max(peakRss, m.rss);
        },
        () => {},
      );
    }, 50);
    const r = await runSftpClients({
      port: ferry.sftpPort,
      username: ferry.username,
      key,
      folder: ferry.folder,
      sessions: SESSIONS,
      bytes: Number(values.bytes),
    }).finally(() => clearInterval(sampler));
    const sorted = [...r.times].sort((a, b) => a - b);
    const pct = (p: number) =>
      sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))] ?? NaN;
    const after = await memoryOf(ferry.pid);
    const res = await fetch(`${ferry.url}/api/v1/connections?limit=1`, {
      headers: { authorization: `Bearer ${ferry.token}` },
    });
    const conn = ((await res.json()) as { items: { id: string }[] }).items[0]!;
    let recorded = 0;
    for (let cursor: string | null = null; ; ) {
      const page = (await (
        await fetch(
          `${ferry.url}/api/v1/connections/${conn.id}/transfers?limit=200${cursor ? `&cursor=${cursor}` : ""}`,
          {
            headers: { authorization: `Bearer ${ferry.token}` },
          },
        )
      ).json()) as { items: unknown[]; nextCursor: string | null };
      recorded += page.items.length;
      cursor = page.nextCursor;
      if (!cursor) break;
    }
    const mib = (b: number) => (b / 1024 / 1024).toFixed(1);
    console.log(
      `\n${SESSIONS} concurrent SFTP sessions (key login + ${values.bytes}-byte upload each), one Ferry process:`,
    );
    console.log(
      `  succeeded ${r.ok}, failed ${r.failed}; transfers recorded ${recorded}; wall time ${(r.wallMs / 1000).toFixed(1)} s`,
    );
    console.log(
      `  per session: p50 ${pct(50).toFixed(0)} ms, p99 ${pct(99).toFixed(0)} ms, max ${sorted.at(-1)?.toFixed(0)} ms`,
    );
    console.log(
      `  Ferry memory: idle ${mib(idle.rss)} MiB, peak ${mib(Math.max(peakRss, after.hwm))} MiB, ${((Math.max(peakRss, after.hwm) - idle.rss) / SESSIONS / 1024).toFixed(0)} KiB per session at peak`,
    );
    if (r.errors.length) console.log(`  first errors: ${r.errors.slice(0, 5).join("; ")}`);
  } finally {
    await ferry.stop();
    await rm(dir, { recursive: true, force: true });
  }
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});
