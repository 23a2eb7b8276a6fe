/**
 * The S3 store against a real Ceph RADOS Gateway: the FileStore contract, and what is particular to object
 * storage — multipart uploads streamed while written, a cut upload aborted (no parts left), abandoned ones
 * swept, the reorder window's bounds.
 */
import { createHash, randomBytes } from "node:crypto";
import { ListMultipartUploadsCommand, ListObjectsV2Command } from "@aws-sdk/client-s3";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startS3, type TestS3 } from "../../test/helpers/s3.js";
import { storeContract } from "../../test/helpers/store-contract.js";
import type { FileStore } from "../pipeline/store.js";
import { PART_BYTES, parseS3Url, s3Client, s3Store, WINDOW_BYTES } from "./s3.js";

let s3: TestS3;
let store: FileStore;

beforeAll(async () => {
  s3 = await startS3();
  store = s3Store(s3.options);
}, 60_000);

afterAll(async () => {
  await s3?.stop();
});

storeContract("the S3 store (Ceph RGW)", () => store);

const sha = (b: Buffer) => createHash("sha256").update(b).digest("hex");
const openUploads = async () =>
  (await s3Client(s3.options).send(new ListMultipartUploadsCommand({ Bucket: s3.options.bucket }))).Uploads ??
  [];

describe("the S3 store", () => {
  it("reads its configuration from an s3:// URL", () => {
    expect(parseS3Url("s3://ferry-files/prod/ferry/")).toEqual({
      bucket: "ferry-files",
      prefix: "prod/ferry/",
    });
    expect(parseS3Url("s3://ferry-files")).toEqual({ bucket: "ferry-files", prefix: "" });
    expect(() => parseS3Url("https://ferry-files")).toThrow(/s3:\/\/bucket/);
  });

  it("streams a large upload in parts while it is written, and aborts a cut one leaving no parts", async () => {
    const data = randomBytes(3 * PART_BYTES + 1234);
    const upload = await store.create();
    for (let at = 0; at < 2 * PART_BYTES + 10; at += 65536)
      await upload.write(data.subarray(at, at + 65536), at);
    // Two parts' worth written: the multipart upload exists before the client closes.
    expect((await openUploads()).length).toBeGreaterThanOrEqual(1);
    await upload.abort();
    expect(await openUploads()).toEqual([]);
    const whole = await store.create();
    for (let at = 0; at < data.length; at += 65536) await whole.write(data.subarray(at, at + 65536), at);
    expect(await whole.commit()).toMatchObject({ size: data.length, sha256: sha(data) });
    expect(await openUploads()).toEqual([]);
  });

  it("sweeps multipart uploads a crash left behind", async () => {
    const upload = await store.create();
    for (let at = 0; at < PART_BYTES + 1; at += 1024 * 1024) await upload.write(randomBytes(1024 * 1024), at);
    // The process "dies" here: nothing aborts it. Only uploads older than the grace period go.
    expect(await store.removeStaleUploads(new Date(Date.now() - 3600_000))).toBe(0);
    expect(await store.removeStaleUploads(new Date(Date.now() + 60_000))).toBeGreaterThanOrEqual(1);
    expect(await openUploads()).toEqual([]);
  });

  it("refuses writes beyond its reorder window, and rewrites of bytes already sent, in words", async () => {
    const far = await store.create();
    await far.write(Buffer.from("start"), 0);
    await expect(far.write(randomBytes(1024), WINDOW_BYTES + 10)).resolves.toBeUndefined();
    await expect(far.write(randomBytes(WINDOW_BYTES), 2 * WINDOW_BYTES)).rejects.toThrow(
      /more than \d+ bytes ahead of the data received in order/,
    );
    await far.abort();
    const again = await store.create();
    await again.write(Buffer.from("hello world"), 0);
    await expect(again.write(Buffer.from("HELLO"), 0)).rejects.toThrow(/rewrites bytes already stored/);
    await again.abort();
  });

  it("signs download URLs that serve the object for a while, named, and refuses a tampered one", async () => {
    const data = randomBytes(300_000);
    const upload = await store.create();
    await upload.write(data, 0);
    const { key } = await upload.commit();
    const url = await store.presign!(key, "report 2026-12-01.csv", 60);
    const res = await fetch(url);
    expect(res.status).toBe(200);
    expect(res.headers.get("content-disposition")).toBe(
      "attachment; filename*=UTF-8''report%202026-12-01.csv",
    );
    expect(Buffer.from(await res.arrayBuffer()).equals(data)).toBe(true);
    const tampered = url.replace(/(X-Amz-Signature=)([0-9a-f])/, (_, p, c) => `${p}${c === "0" ? "1" : "0"}`);
    expect((await fetch(tampered)).status).toBe(403);
    const expired = await store.presign!(key, "x.csv", 1);
    await new Promise((r) => setTimeout(r, 2100));
    expect((await fetch(expired)).status).toBe(403);
  });

  it("keeps objects under its prefix only", async () => {
    const upload = await store.create();
    await upload.write(Buffer.from("x"), 0);
    const { key } = await upload.commit();
    const listed = await s3Client(s3.options).send(new ListObjectsV2Command({ Bucket: s3.options.bucket }));
    expect(listed.Contents?.map((o) => o.Key)).toContain(`files/${key}`);
    expect(listed.Contents?.every((o) => o.Key?.startsWith("files/"))).toBe(true);
  });
});
