/**
 * A real S3 server for tests: Ceph's RADOS Gateway (one mon, one in-memory OSD, radosgw on a loopback port),
 * started by scripts/s3-ceph-rgw.sh (Debian packages ceph-mon ceph-osd radosgw), with a bucket made for the
 * test file. Always stop() it: the script kills exactly the daemons it started.
 */
import { execFile } from "node:child_process";
import { randomBytes } from "node:crypto";
import { mkdtemp } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { CreateBucketCommand } from "@aws-sdk/client-s3";
import { type S3StoreOptions, s3Client } from "../../src/store/s3.js";

const SCRIPT = fileURLToPath(new URL("../../scripts/s3-ceph-rgw.sh", import.meta.url));

export interface TestS3 {
  /** Store options for the bucket made here. */
  options: S3StoreOptions;
  /** The environment a `ferry serve` needs to use it. */
  env: Record<string, string>;
  stop(): Promise<void>;
}

const run = (args: string[]) =>
  new Promise<string>((resolve, reject) =>
    execFile("bash", [SCRIPT, ...args], { timeout: 60_000 }, (err, stdout, stderr) =>
      err ? reject(new Error(`s3-ceph-rgw.sh ${args[0]}: ${stderr || err.message}`)) : resolve(stdout),
    ),
  );

export async function startS3(): Promise<TestS3> {
  const work = path.join(await mkdtemp(path.join(os.tmpdir(), "ferry-rgw-")), "rgw");
  const stop = () =>
    run(["stop", work]).then(
      () => {},
      () => {},
    );
  try {
    const out = await run(["start", work]);
    const v = Object.fromEntries(
      out
        .split("\n")
        .map((l) => /^(S3_[A-Z_]+)=(.*)$/.exec(l))
        .filter((m): m is RegExpExecArray => m !== null)
        .map((m) => [m[1]!, m[2]!]),
    );
    const bucket = `ferry-${randomBytes(4).toString("hex")}`;
    const options: S3StoreOptions = {
      bucket,
      prefix: "files/",
      endpoint: v.S3_ENDPOINT!,
      region: v.S3_REGION ?? "us-east-1",
      forcePathStyle: true,
      credentials: { accessKeyId: v.S3_ACCESS_KEY!, secretAccessKey: v.S3_SECRET_KEY! },
    };
    await s3Client(options).send(new CreateBucketCommand({ Bucket: bucket }));
    return {
      options,
      env: {
        FERRY_STORE_URL: `s3://${bucket}/files`,
        FERRY_S3_ENDPOINT: v.S3_ENDPOINT!,
        FERRY_S3_REGION: options.region,
        FERRY_S3_FORCE_PATH_STYLE: "true",
        AWS_ACCESS_KEY_ID: v.S3_ACCESS_KEY!,
        AWS_SECRET_ACCESS_KEY: v.S3_SECRET_KEY!,
      },
      stop,
    };
  } catch (err) {
    await stop();
    throw err;
  }
}
