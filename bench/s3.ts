/**
 * The S3 store: Ferry receiving and serving a large file over SFTP into and out of a bucket, against the AWS
 * SDK's own multipart `Upload` and streamed `GetObject` of the same file to the same gateway in the same run
 * (a real Ceph RADOS Gateway on loopback, scripts/s3-ceph-rgw.sh). Then the memory of one node while many
 * clients upload into the bucket at once.
 *
 *   npm run bench:s3 [-- --mib 512 --runs 3 --clients 20 --client-mib 256]
 *
 * Needs the Debian packages ceph-mon ceph-osd radosgw (scripts/install-test-tools.sh) and openssh-client.
 * The gateway's OSD keeps objects in RAM (about twice their size): each phase deletes what it stored.
 */
import { execFileSync, spawn } from "node:child_process";
import { randomBytes } from "node:crypto";
import { createReadStream, createWriteStream, readFileSync } from "node:fs";
import { chmod, mkdir, mkdtemp, readFile, rm } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import type { Readable } from "node:stream";
import { pipeline } from "node:stream/promises";
import { parseArgs } from "node:util";
import {
  DeleteObjectsCommand,
  GetObjectCommand,
  ListObjectsV2Command,
  type S3Client,
} from "@aws-sdk/client-s3";
import { Upload } from "@aws-sdk/lib-storage";
import { PART_BYTES, s3Client } from "../src/store/s3.js";
import { sshClientOptions } from "../test/helpers/openssh.js";
import { startS3 } from "../test/helpers/s3.js";
import { cpuOf, memoryOf, startFerryForBench } from "./ferry.js";

const { values } = parseArgs({
  options: {
    mib: { type: "string", default: "512" },
    runs: { type: "string", default: "3" },
    clients: { type: "string", default: "20" },
    "client-mib": { type: "string", default: "256" },
    cipher: { type: "string", default: "aes128-gcm@openssh.com" },
  },
});
const MIB = Number(values.mib);
const RUNS = Number(values.runs);
const CLIENTS = Number(values.clients);
const CLIENT_MIB = Number(values["client-mib"]);
const CIPHER = values.cipher!;
const GIVEN_CEPH_BYTES = process.env.CEPH_MEM_BYTES;

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
/** CPU seconds of this process's finished children (the sftp and ssh clients), from /proc/self/stat. */
function clientsCpu(): number {
  const stat = readFileSync("/proc/self/stat", "utf8");
  const f = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
  return (Number(f[13]) + Number(f[14])) / 100;
}
const WATCHED = ["radosgw", "ceph-osd", "ceph-mon", "node"];
/** CPU seconds per process name spent during each measured phase, summed over runs. */
const cpu: Record<string, Record<string, number>> = {};

const seconds = async (work: () => Promise<unknown>, phase?: string) => {
  const before: Record<string, number> = { ...cpuOf(WATCHED), "sftp client": clientsCpu() };
  const started = process.hrtime.bigint();
  await work();
  const secs = Number(process.hrtime.bigint() - started) / 1e9;
  if (phase) {
    const after = { ...cpuOf(WATCHED), "sftp client": clientsCpu() };
    cpu[phase] ??= {};
    for (const [name, v] of Object.entries(after))
      cpu[phase]![name] = (cpu[phase]![name] ?? 0) + v - (before[name] ?? 0);
  }
  return secs;
};

function sftp(port: number, user: string, key: string, commands: string): Promise<void> {
  return new Promise((resolve, reject) => {
    const child = spawn(
      "sftp",
      ["-q", "-c", CIPHER, ...sshClientOptions(port), "-i", key, "-b", "-", `${user}@127.0.0.1`],
      { stdio: ["pipe", "ignore", "inherit"] },
    );
    child.stdin.end(commands);
    child.once("exit", (code) => (code === 0 ? resolve() : reject(new Error(`sftp exited with ${code}`))));
  });
}

/** Deletes every object under a prefix (to give the gateway's RAM back). */
async function emptyPrefix(client: S3Client, bucket: string, prefix: string): Promise<void> {
  for (;;) {
    const page = await client.send(new ListObjectsV2Command({ Bucket: bucket, Prefix: prefix }));
    const keys = (page.Contents ?? []).map((o) => ({ Key: o.Key! }));
    if (keys.length === 0) return;
    await client.send(new DeleteObjectsCommand({ Bucket: bucket, Delete: { Objects: keys } }));
  }
}

async function main() {
  const dir = await mkdtemp(path.join(os.tmpdir(), "ferry-bench-s3-"));
  await chmod(dir, 0o755); // the embedded PostgreSQL runs as "postgres" when we are root
  const key = path.join(dir, "id_ed25519");
  execFileSync("ssh-keygen", ["-q", "-t", "ed25519", "-N", "", "-f", key]);
  const publicKey = await readFile(`${key}.pub`, "utf8");
  const file = path.join(dir, "payload.bin");
  console.log(`writing a ${MIB} MiB file of random bytes...`);
  execFileSync("dd", ["if=/dev/urandom", `of=${file}`, "bs=1M", `count=${MIB}`, "status=none"]);
  console.log("starting a Ceph RADOS Gateway and Ferry on it...");
  // The gateway's nominal size: what a phase stores, with room for deleted objects not yet collected.
  process.env.CEPH_MEM_BYTES = GIVEN_CEPH_BYTES ?? String(Math.ceil(RUNS * MIB * 2 * 1.5) * 1024 * 1024);
  const s3 = await startS3();
  const client = s3Client(s3.options);
  const bucket = s3.options.bucket;
  const ferry = await startFerryForBench(dir, publicKey, {
    ...s3.env,
    FERRY_MAX_SESSIONS_PER_CREDENTIAL: String(CLIENTS * 2),
  });
  const results = {
    sdk: { up: [] as number[], down: [] as number[] },
    ferry: { up: [] as number[], down: [] as number[] },
  };
  try {
    for (let run = 1; run <= RUNS; run++) {
      const name = `run${run}-${randomBytes(3).toString("hex")}.bin`;
      const got = path.join(dir, `got-${name}`);
      // The SDK: lib-storage's multipart Upload from a file stream (parts of Ferry's size, its default 4 in
      // flight), and a GetObject whose body streams to a file.
      const sdkKey = `sdk/${name}`;
      results.sdk.up.push(
        await seconds(
          () =>
            new Upload({
              client,
              params: { Bucket: bucket, Key: sdkKey, Body: createReadStream(file) },
              partSize: PART_BYTES,
            }).done(),
          "sdk up",
        ),
      );
      results.sdk.down.push(
        await seconds(async () => {
          const res = await client.send(new GetObjectCommand({ Bucket: bucket, Key: sdkKey }));
          await pipeline(res.Body as Readable, createWriteStream(got));
        }, "sdk down"),
      );
      execFileSync("cmp", [file, got]);
      await rm(got);
      await emptyPrefix(client, bucket, "sdk/");
      // Ferry: OpenSSH's sftp into the inbox (stored in the bucket), and back.
      results.ferry.up.push(
        await seconds(
          () => sftp(ferry.sftpPort, ferry.username, key, `put ${file} /${ferry.folder}/inbox/${name}\n`),
          "ferry up",
        ),
      );
      results.ferry.down.push(
        await seconds(
          () => sftp(ferry.sftpPort, ferry.username, key, `get /${ferry.folder}/inbox/${name} ${got}\n`),
          "ferry down",
        ),
      );
      execFileSync("cmp", [file, got]);
      await rm(got);
      console.log(`run ${run}/${RUNS} done`);
    }
    await emptyPrefix(client, bucket, s3.options.prefix);
  } finally {
    await ferry.stop();
    await s3.stop();
  }
  // Memory: many clients uploading into a bucket through one node at once. A new gateway, large enough for all
  // of it (a full Ceph cluster blocks writes; deleted objects are collected only later).
  process.env.CEPH_MEM_BYTES =
    GIVEN_CEPH_BYTES ?? String(Math.ceil(CLIENTS * CLIENT_MIB * 1.5) * 1024 * 1024);
  const s3b = await startS3();
  await mkdir(path.join(dir, "many"), { mode: 0o755 });
  const many = await startFerryForBench(path.join(dir, "many"), publicKey, {
    ...s3b.env,
    FERRY_MAX_SESSIONS_PER_CREDENTIAL: String(CLIENTS * 2),
  });
  try {
    const clientFile = path.join(dir, "client.bin");
    execFileSync("dd", [
      "if=/dev/urandom",
      `of=${clientFile}`,
      "bs=1M",
      `count=${CLIENT_MIB}`,
      "status=none",
    ]);
    console.log(`${CLIENTS} clients uploading ${CLIENT_MIB} MiB each at once...`);
    const idle = await memoryOf(many.pid);
    let peak = idle.rss;
    const sampler = setInterval(
      () =>
        memoryOf(many.pid).then(
          (m) => {
            peak = Math.max(peak, m.rss);
          },
          () => {},
        ),
      50,
    );
    const wall = await seconds(() =>
      Promise.all(
        Array.from({ length: CLIENTS }, (_, i) =>
          sftp(many.sftpPort, many.username, key, `put ${clientFile} /${many.folder}/inbox/many-${i}.bin\n`),
        ),
      ),
    );
    clearInterval(sampler);
    peak = Math.max(peak, (await memoryOf(many.pid)).hwm);

    const mbs = (secs: number[]) => (MIB * 1.048576) / median(secs);
    console.log(`\nS3 store (Ceph RGW on loopback), ${MIB} MiB file, median of ${RUNS} runs:`);
    for (const dirn of ["up", "down"] as const) {
      const sdk = mbs(results.sdk[dirn]);
      const ferryMbs = mbs(results.ferry[dirn]);
      console.log(
        `  ${(dirn === "up" ? "upload" : "download").padEnd(8)}  AWS SDK ${sdk.toFixed(0).padStart(5)} MB/s   Ferry over SFTP ${ferryMbs.toFixed(0).padStart(5)} MB/s   ratio ${(ferryMbs / sdk).toFixed(2)}x`,
      );
    }
    console.log(
      "  CPU seconds per phase (all runs; node = Ferry, or this benchmark's SDK client; sftp client = sftp + ssh):",
    );
    for (const [phase, byName] of Object.entries(cpu)) {
      const parts = Object.entries(byName)
        .filter(([, v]) => v > 0.05)
        .map(([n, v]) => `${n} ${v.toFixed(1)}`);
      console.log(`    ${phase.padEnd(10)} ${parts.join(", ")}`);
    }
    const mib = (b: number) => (b / 1024 / 1024).toFixed(0);
    console.log(
      `\n${CLIENTS} clients × ${CLIENT_MIB} MiB at once into S3 through one node: ${wall.toFixed(1)} s (${((CLIENTS * CLIENT_MIB * 1.048576) / wall).toFixed(0)} MB/s in all); Ferry RSS idle ${mib(idle.rss)} MiB, peak ${mib(peak)} MiB`,
    );
  } catch (err) {
    console.error(`Ferry said:\n${many.output().split("\n").slice(-20).join("\n")}`);
    throw err;
  } finally {
    await many.stop();
    await s3b.stop();
    await rm(dir, { recursive: true, force: true });
  }
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});
