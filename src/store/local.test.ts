import { createHash, randomBytes } from "node:crypto";
import { constants, mkdtempSync } from "node:fs";
import { mkdtemp, open, readdir, readFile, rm } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { Writable } from "node:stream";
import { pipeline } from "node:stream/promises";
import { afterAll, describe, expect, it } from "vitest";
import { storeContract } from "../../test/helpers/store-contract.js";
import { lendingStream } from "../pipeline/store.js";
import { directIo, localStore } from "./local.js";

const roots: string[] = [];
async function store() {
  const root = await mkdtemp(path.join(os.tmpdir(), "ferry-store-"));
  roots.push(root);
  return { root, store: localStore(root) };
}
afterAll(() => Promise.all(roots.map((r) => rm(r, { recursive: true, force: true }))));

storeContract("the local store", () => {
  const root = mkdtempSync(path.join(os.tmpdir(), "ferry-store-"));
  roots.push(root);
  return localStore(root);
});

const sha = (b: Buffer) => createHash("sha256").update(b).digest("hex");

describe("the local store", () => {
  it("serves small sequential reads from a block read ahead, and any read after them", async () => {
    const { store: s } = await store();
    const data = randomBytes(2 * 1024 * 1024 + 5000);
    const upload = await s.create();
    await upload.write(data, 0);
    const reader = await s.open((await upload.commit()).key);
    // As an SFTP client asks: many 32 KiB reads in flight at once.
    const reads = [];
    for (let at = 0; at < data.length; at += 32768) reads.push(reader.read(at, 32768));
    expect(Buffer.concat(await Promise.all(reads)).equals(data)).toBe(true);
    // Backwards, across a block boundary, and past the end.
    expect((await reader.read(100, 10)).equals(data.subarray(100, 110))).toBe(true);
    const edge = 1024 * 1024 - 10;
    expect((await reader.read(edge, 20)).equals(data.subarray(edge, edge + 20))).toBe(true);
    expect((await reader.read(data.length - 3, 32768)).equals(data.subarray(data.length - 3))).toBe(true);
    await reader.close();
  });

  it("leaves nothing behind when an upload is aborted", async () => {
    const { root, store: s } = await store();
    const upload = await s.create();
    await upload.write(randomBytes(5000), 0);
    await upload.abort();
    expect(await readdir(path.join(root, "tmp"))).toEqual([]);
  });

  it("puts committed objects under their key, and removes them", async () => {
    const { root, store: s } = await store();
    const upload = await s.create();
    await upload.write(Buffer.from("x"), 0);
    const { key } = await upload.commit();
    expect(await readFile(path.join(root, "objects", key.slice(-2), key), "utf8")).toBe("x");
    await s.remove(key);
    await expect(s.open(key)).rejects.toThrow(/ENOENT/);
  });
});

/** Whether the file system under `dir` takes O_DIRECT (ext4, xfs do; some tmpfs and FUSE file systems do not). */
async function allowsDirectIo(dir: string): Promise<boolean> {
  const probe = path.join(dir, "direct-probe");
  try {
    const fd = await open(probe, constants.O_CREAT | constants.O_WRONLY | constants.O_DIRECT, 0o600);
    await fd.close();
    return true;
  } catch {
    return false;
  } finally {
    await rm(probe, { force: true });
  }
}

describe("the local store with direct I/O", () => {
  it("writes a large upload past its first MiB straight to disk, whatever its write sizes, and reads it back so", async () => {
    const { root, store: s } = await store();
    const direct = await allowsDirectIo(root);
    const data = randomBytes(6 * 1024 * 1024 + 4321);
    const before = { ...directIo };
    const upload = await s.create();
    // OpenSSH-sized writes, then odd ones: chunks are still filled to whole MiBs at MiB offsets.
    const sizes = [32768, 32768, 32797, 1, 65_000, 4096, 300_000];
    for (let at = 0, i = 0; at < data.length; i++) {
      const n = sizes[i % sizes.length]!;
      await upload.write(data.subarray(at, at + n), at);
      at += n;
    }
    const obj = await upload.commit();
    expect(obj).toMatchObject({ size: data.length, sha256: sha(data) });
    expect(directIo.written - before.written).toBe(direct ? 5 * 1024 * 1024 : 0);
    expect((await readFile(path.join(root, "objects", obj.key.slice(-2), obj.key))).equals(data)).toBe(true);

    const reader = await s.open(obj.key);
    const reads = [];
    for (let at = 0; at < data.length; at += 32768) reads.push(reader.read(at, 32768));
    expect(Buffer.concat(await Promise.all(reads)).equals(data)).toBe(true);
    // Every block starts at a 32 KiB offset here, so every block is read directly, the short last one too.
    expect(directIo.read - before.read).toBe(direct ? data.length : 0);
    await reader.close();
  });

  it("lends blocks to readWith without copying, never reusing one while a reader still uses it", async () => {
    const { root, store: s } = await store();
    const direct = await allowsDirectIo(root);
    const data = randomBytes(5 * 1024 * 1024 + 999);
    const upload = await s.create();
    await upload.write(data, 0);
    const reader = await s.open((await upload.commit()).key);
    const before = directIo.read;
    // All at once, as an SFTP client's pipelined READs: blocks are replaced while earlier ones are awaited.
    const got: Buffer[] = [];
    const reads = [];
    for (let at = 0, i = 0; at < data.length; at += 32768, i++)
      reads.push(
        reader.readWith!(at, 32768, (d) => {
          got[i] = Buffer.from(d);
        }),
      );
    await Promise.all(reads);
    expect(Buffer.concat(got).equals(data)).toBe(true);
    expect(directIo.read - before).toBe(direct ? data.length : 0);
    // Large, unaligned and past-the-end reads fall back to read().
    const check = async (at: number, n: number) => {
      let seen = Buffer.alloc(0);
      await reader.readWith!(at, n, (d) => {
        seen = Buffer.from(d);
      });
      expect(seen.equals(data.subarray(at, at + n))).toBe(true);
    };
    await check(12_345, 40_000);
    await check(0, 2 * 1024 * 1024);
    await check(data.length - 10, 32768);
    await check(data.length + 5, 10);
    await reader.close();
  });

  it("streams an object through three lent buffers to a consumer that writes each chunk before the next", async () => {
    const { store: s } = await store();
    const data = randomBytes(7 * 1024 * 1024 + 77);
    const upload = await s.create();
    await upload.write(data, 0);
    const { key } = await upload.commit();
    for (const start of [0, 1_000_003]) {
      const copies: Buffer[] = [];
      const memory = new Set<ArrayBufferLike>();
      // A slow sink, as a socket: each chunk is "written" a little later, then taken as it was at that time.
      const sink = new Writable({
        write(chunk: Buffer, _enc, done) {
          memory.add(chunk.buffer);
          setTimeout(() => {
            copies.push(Buffer.from(chunk));
            done();
          }, 2);
        },
      });
      await pipeline(lendingStream(await s.open(key), start), sink);
      expect(Buffer.concat(copies).equals(data.subarray(start))).toBe(true);
      expect(memory.size).toBeLessThanOrEqual(3);
    }
  });

  it("uses no direct I/O when the operator turns it off (FERRY_DIRECT_IO=false)", async () => {
    const root = await mkdtemp(path.join(os.tmpdir(), "ferry-store-"));
    roots.push(root);
    const s = localStore(root, { directIo: false });
    const before = { ...directIo };
    const data = randomBytes(4 * 1024 * 1024);
    const upload = await s.create();
    for (let at = 0; at < data.length; at += 32768) await upload.write(data.subarray(at, at + 32768), at);
    const reader = await s.open((await upload.commit()).key);
    const got: Buffer[] = [];
    for (let at = 0; at < data.length; at += 32768) got.push(await reader.read(at, 32768));
    await reader.close();
    expect(Buffer.concat(got).equals(data)).toBe(true);
    expect(directIo).toEqual(before);
  });

  it("keeps small uploads and scattered writes on ordinary writes", async () => {
    const { store: s } = await store();
    const before = directIo.written;
    const small = await s.create();
    await small.write(randomBytes(900_000), 0);
    await small.commit();
    const data = randomBytes(3 * 1024 * 1024);
    const scattered = await s.create();
    // Backwards, in 1 MiB pieces at offsets that are not multiples of 4 KiB.
    const cuts = [0, 1_000_001, 2_000_003, data.length];
    for (let i = cuts.length - 2; i >= 0; i--)
      await scattered.write(data.subarray(cuts[i]!, cuts[i + 1]!), cuts[i]!);
    expect(await scattered.commit()).toMatchObject({ size: data.length, sha256: sha(data) });
    expect(directIo.written).toBe(before);
  });
});

describe("the local store under a fast writer", () => {
  it("makes write() wait for the disk once 8 MiB are buffered, so memory stays bounded", async () => {
    const { store: s } = await store();
    const upload = await s.create();
    const chunk = Buffer.alloc(1024 * 1024, 1);
    // Without back-pressure all 64 writes resolve at once; with it, some must wait for disk writes.
    let resolvedImmediately = 0;
    for (let i = 0; i < 64; i++) {
      let done = false;
      const p = upload.write(chunk, i * chunk.length).then(() => {
        done = true;
      });
      await Promise.resolve();
      if (done) resolvedImmediately++;
      await p;
    }
    expect(resolvedImmediately).toBeLessThan(64);
    expect((await upload.commit()).size).toBe(64 * chunk.length);
  });
});
