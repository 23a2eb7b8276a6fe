/**
 * What every FileStore must do, whatever keeps the bytes: run unchanged against the local disk store
 * (src/store/local.test.ts) and the S3 store on a real Ceph gateway (src/store/s3.test.ts).
 */
import { createHash, randomBytes } from "node:crypto";
import { describe, expect, it } from "vitest";
import type { FileStore } from "../../src/pipeline/store.js";
import { objectStream } from "../../src/pipeline/store.js";

const sha = (b: Buffer) => createHash("sha256").update(b).digest("hex");

async function readAll(store: FileStore, key: string): Promise<Buffer> {
  const parts: Buffer[] = [];
  for await (const chunk of objectStream(await store.open(key))) parts.push(chunk as Buffer);
  return Buffer.concat(parts);
}

export function storeContract(name: string, store: () => FileStore): void {
  describe(`${name}: the FileStore contract`, () => {
    it("stores sequential writes with their size and SHA-256, readable by range and as a stream", async () => {
      const s = store();
      const data = randomBytes(9 * 1024 * 1024 + 17);
      const upload = await s.create();
      for (let at = 0; at < data.length; at += 32768) await upload.write(data.subarray(at, at + 32768), at);
      const obj = await upload.commit();
      expect(obj).toMatchObject({ size: data.length, sha256: sha(data) });
      const reader = await s.open(obj.key);
      expect(reader.size).toBe(data.length);
      expect((await reader.read(1000, 50)).equals(data.subarray(1000, 1050))).toBe(true);
      const edge = 4 * 1024 * 1024 - 10;
      expect((await reader.read(edge, 20)).equals(data.subarray(edge, edge + 20))).toBe(true);
      expect((await reader.read(data.length - 5, 100)).length).toBe(5);
      expect((await reader.read(data.length, 100)).length).toBe(0);
      await reader.close();
      expect(sha(await readAll(s, obj.key))).toBe(sha(data));
    });

    it("keeps every byte through concurrent uploads of mixed write sizes", async () => {
      const s = store();
      const files = [randomBytes(5 * 1024 * 1024 + 3), randomBytes(2 * 1024 * 1024 + 1), randomBytes(70_000)];
      const sizes = [1, 4096, 32768, 65_000, 1024 * 1024, 3 * 1024 * 1024];
      const objects = await Promise.all(
        files.map(async (data, f) => {
          const upload = await s.create();
          for (let at = 0, i = f; at < data.length; i++) {
            const n = sizes[i % sizes.length]!;
            await upload.write(data.subarray(at, at + n), at);
            at += n;
          }
          return upload.commit();
        }),
      );
      for (const [f, obj] of objects.entries()) {
        expect(obj).toMatchObject({ size: files[f]!.length, sha256: sha(files[f]!) });
        expect((await readAll(s, obj.key)).equals(files[f]!)).toBe(true);
      }
    });

    it("serves many small reads in flight at once, as an SFTP client asks", async () => {
      const s = store();
      const data = randomBytes(5 * 1024 * 1024 + 5000);
      const upload = await s.create();
      await upload.write(data, 0);
      const reader = await s.open((await upload.commit()).key);
      const reads = [];
      for (let at = 0; at < data.length; at += 32768) reads.push(reader.read(at, 32768));
      expect(Buffer.concat(await Promise.all(reads)).equals(data)).toBe(true);
      expect((await reader.read(100, 10)).equals(data.subarray(100, 110))).toBe(true);
      await reader.close();
    });

    it("puts blocks written out of order (parallel SFTP writes) in their place, hashed right", async () => {
      const s = store();
      const data = randomBytes(3 * 1024 * 1024 + 99);
      const upload = await s.create();
      // 64 blocks of 32 KiB in flight, each group written back to front.
      const block = 32768;
      for (let group = 0; group < data.length; group += 64 * block) {
        const starts = [];
        for (let at = group; at < Math.min(data.length, group + 64 * block); at += block) starts.push(at);
        await Promise.all(starts.reverse().map((at) => upload.write(data.subarray(at, at + block), at)));
      }
      const obj = await upload.commit();
      expect(obj).toMatchObject({ size: data.length, sha256: sha(data) });
      expect((await readAll(s, obj.key)).equals(data)).toBe(true);
    });

    it("does not keep the caller's buffer", async () => {
      const s = store();
      const buffer = Buffer.from("hello");
      const upload = await s.create();
      await upload.write(buffer, 0);
      buffer.fill(0);
      const obj = await upload.commit();
      expect((await readAll(s, obj.key)).toString()).toBe("hello");
    });

    it("takes writes in flight at once from one buffer the caller refills as each returns", async () => {
      const s = store();
      const data = randomBytes(9 * 1024 * 1024 + 777); // more than one 8 MiB part of the S3 store
      const upload = await s.create();
      const reused = Buffer.alloc(32768);
      const inFlight = new Set<Promise<void>>();
      for (let at = 0; at < data.length; at += reused.length) {
        const n = data.copy(reused, 0, at, at + reused.length);
        const write = upload.write(reused.subarray(0, n), at);
        reused.fill(0xee); // what the next packet would overwrite
        const done = write.then(() => {
          inFlight.delete(done);
        });
        inFlight.add(done);
        if (inFlight.size >= 64) await Promise.race(inFlight);
      }
      await Promise.all(inFlight);
      const obj = await upload.commit();
      expect(obj).toMatchObject({ size: data.length, sha256: sha(data) });
      expect((await readAll(s, obj.key)).equals(data)).toBe(true);
    });

    it("stores an empty file", async () => {
      const s = store();
      const obj = await (await s.create()).commit();
      expect(obj).toMatchObject({ size: 0, sha256: sha(Buffer.alloc(0)) });
      expect((await readAll(s, obj.key)).length).toBe(0);
    });

    it("removes objects: opening one then fails with ENOENT, removing it again is no error", async () => {
      const s = store();
      const upload = await s.create();
      await upload.write(Buffer.from("x"), 0);
      const { key } = await upload.commit();
      await s.remove(key);
      await expect(s.open(key)).rejects.toThrow(/ENOENT|No such object/);
      await s.remove(key);
    });

    it("lists committed objects made within a window, for the sweep of orphans", async () => {
      const s = store();
      const upload = await s.create();
      await upload.write(Buffer.from("old"), 0);
      const { key } = await upload.commit();
      const listed = async (from: Date, before: Date) => {
        const keys: string[] = [];
        for await (const batch of s.objectsBetween(from, before)) keys.push(...batch);
        return keys;
      };
      const now = Date.now();
      expect(await listed(new Date(now - 60_000), new Date(now + 60_000))).toContain(key);
      expect(await listed(new Date(0), new Date(now + 60_000))).toContain(key);
      // Changed after `before`, or made before `from`: not listed.
      expect(await listed(new Date(now - 60_000), new Date(now - 3600_000))).not.toContain(key);
      expect(await listed(new Date(now + 60_000), new Date(now + 120_000))).not.toContain(key);
    });

    it("throws an aborted upload away, and the sweep of stale uploads leaves committed objects alone", async () => {
      const s = store();
      const upload = await s.create();
      await upload.write(randomBytes(6 * 1024 * 1024), 0);
      await upload.abort();
      const kept = await s.create();
      await kept.write(Buffer.from("kept"), 0);
      const { key } = await kept.commit();
      await s.removeStaleUploads(new Date(Date.now() + 60_000));
      expect((await readAll(s, key)).toString()).toBe("kept");
    });
  });
}
