/**
 * The S3 store against a real Ceph RADOS Gateway: the FileStore contract, and what is particular to object
 * storage — multipart uploads streamed while written, a cut upload aborted (no parts left), abandoned ones
 * swept, the reorder window's bounds.
 */

import { createHash, randomBytes } from "node:crypto";
import { ListMultipartUploadsCommand, ListObjectsV2Command } from "@aws-sdk/client-s3";
import { parse as parseDisposition } from "content-disposition";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { FileStore } from "../../src/pipeline/store.js";
import { PART_BYTES, PartPool, parseS3Url, s3Client, s3Store, WINDOW_BYTES } from "../../src/store/s3.js";
import { startS3, type TestS3 } from "../helpers/s3.js";
import { storeContract } from "../helpers/store-contract.js";

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
    // Two parts' worth written: the multipart upload exists (its parts on their way) before the client closes.
    for (let i = 0; i < 50 && (await openUploads()).length === 0; i++)
      await new Promise((r) => setTimeout(r, 100));
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
    const url = await store.presign!(key, "rapport café 2026-12-01.csv", 60);
    const res = await fetch(url);
    expect(res.status).toBe(200);
    // The name as the browser will save it, accents and all (RFC 8187's filename*, an ASCII fallback).
    const disposition = res.headers.get("content-disposition") ?? "";
    expect(parseDisposition(disposition).parameters.filename).toBe("rapport café 2026-12-01.csv");
    expect(disposition).toContain('filename="rapport caf? 2026-12-01.csv"');
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

  it("bounds upload memory by a shared pool of part buffers: many uploads at once all finish, right", async () => {
    // 3 buffers for 6 uploads of 2.5 parts each, written in turn by one writer each (as SFTP sessions do).
    const small = s3Store({ ...s3.options, uploadBuffers: 3 });
    const files = Array.from({ length: 6 }, () => randomBytes(2.5 * PART_BYTES));
    const stored = await Promise.all(
      files.map(async (data, i) => {
        const upload = await small.create(`account-${i % 2}`);
        for (let at = 0; at < data.length; at += 256 * 1024)
          await upload.write(data.subarray(at, at + 256 * 1024), at);
        return upload.commit();
      }),
    );
    expect(stored.map((o) => o.sha256)).toEqual(files.map(sha));
    const reader = await small.open(stored[5]!.key);
    expect(sha(await reader.read(0, files[5]!.length))).toBe(sha(files[5]!));
    await reader.close();
  });
});

describe("the S3 reader", () => {
  it("streams sequential reads from one GET and serves jumps back, far ahead and past the window right", async () => {
    const data = randomBytes(24 * 1024 * 1024 + 77);
    const upload = await store.create();
    await upload.write(data, 0);
    const { key } = await upload.commit();
    const reader = await store.open(key);
    const at = (p: number, n: number) => data.subarray(p, Math.min(data.length, p + n));
    // In flight at once, as SFTP sends them: served in order.
    const sequential = await Promise.all(
      Array.from({ length: 16 }, (_, i) => reader.read(i * 256 * 1024, 256 * 1024)),
    );
    expect(Buffer.concat(sequential).equals(at(0, 4 * 1024 * 1024))).toBe(true);
    expect((await reader.read(1000, 5000)).equals(at(1000, 5000))).toBe(true);
    expect((await reader.read(20 * 1024 * 1024, 65536)).equals(at(20 * 1024 * 1024, 65536))).toBe(true);
    expect(
      (await reader.read(2 * 1024 * 1024, 12 * 1024 * 1024)).equals(at(2 * 1024 * 1024, 12 * 1024 * 1024)),
    ).toBe(true);
    expect((await reader.read(data.length - 10, 100)).equals(at(data.length - 10, 100))).toBe(true);
    expect((await reader.read(data.length, 100)).length).toBe(0);
    await reader.close();
  });
});

describe("the part pool", () => {
  it("makes at most its size, reuses buffers, serves waiters in turn, and caps each owner at half", async () => {
    const pool = new PartPool(6);
    expect(pool.perOwner).toBe(3);
    const a = [await pool.acquire("a"), await pool.acquire("a"), await pool.acquire("a")];
    const got: Record<string, Buffer | null> = { a4: null, d1: null };
    void pool.acquire("a").then((b) => {
      got.a4 = b;
    });
    // "a" holds its half: its fourth waits although buffers are free; others take the rest at once.
    const b1 = await pool.acquire("b");
    const c1 = await pool.acquire("c");
    const c2 = await pool.acquire("c");
    // Six made: "d" waits too.
    void pool.acquire("d").then((b) => {
      got.d1 = b;
    });
    await new Promise((r) => setImmediate(r));
    expect(got).toEqual({ a4: null, d1: null });
    // A buffer "a" gives back goes to the first waiter who may take it: "a" itself (first in line).
    pool.release("a", a[0]!);
    await new Promise((r) => setImmediate(r));
    expect(got.a4).toBe(a[0]);
    // One "c" gives back: "d" (the only waiter) takes it; every buffer is one of the six.
    pool.release("c", c1);
    await new Promise((r) => setImmediate(r));
    expect(got.d1).toBe(c1);
    for (const x of [a[1]!, a[2]!, got.a4!]) pool.release("a", x);
    pool.release("b", b1);
    pool.release("c", c2);
    pool.release("d", got.d1!);
    expect([...a, b1, c1, c2]).toContain(await pool.acquire("e"));
    // Owner-less uploads take a buffer of their own.
    expect([...a, b1, c1, c2]).not.toContain(await pool.acquire(undefined));
  });
});
