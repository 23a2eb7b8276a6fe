/**
 * The FileStore in S3-compatible object storage (AWS S3, Ceph RADOS Gateway, MinIO…), for Ferry nodes that
 * share no disk. Chosen by FERRY_STORE_URL=s3://bucket/prefix; credentials come from the AWS SDK's standard
 * chain (AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY, a profile, an instance role).
 *
 * Uploads stream into the object store while the client writes: bytes that arrive in order go on at once
 * (SHA-256 computed on the way) into a multipart upload of PART_BYTES parts, QUEUE parts in flight, or a single
 * PUT for a file smaller than a part. Memory per upload is bounded: about (QUEUE + 1) × PART_BYTES, plus the
 * reorder window. Clients that write in parallel (SFTP requests in flight) send blocks out of order: a block
 * ahead of the bytes received in order waits in a reorder window of up to WINDOW_BYTES, and goes on once the
 * gap before it is filled; a write further ahead, or one that rewrites bytes already sent, is refused (the
 * local store allows both). The client's close is still the durability point: the multipart upload is
 * completed, then the Transfer committed. A cut upload aborts its multipart upload; those a crash left behind
 * are aborted by the store sweep (removeStaleUploads).
 *
 * Reads are ranged GETs of READ_BLOCK bytes, the next block fetched while the current one is read. Emailed
 * download links can send the browser to a presigned URL of the object (FERRY_S3_PRESIGN_DOWNLOADS).
 *
 * Ceph RGW 16 refuses the SDK's default request checksums on streamed bodies (411, aws-chunked trailers):
 * checksums are computed only when an operation requires them; Ferry keeps its own SHA-256.
 */
import { createHash } from "node:crypto";
import { once } from "node:events";
import { PassThrough } from "node:stream";
import {
  AbortMultipartUploadCommand,
  DeleteObjectCommand,
  GetObjectCommand,
  HeadObjectCommand,
  ListMultipartUploadsCommand,
  ListObjectsV2Command,
  S3Client,
} from "@aws-sdk/client-s3";
import { Upload as MultipartUpload } from "@aws-sdk/lib-storage";
import { getSignedUrl } from "@aws-sdk/s3-request-presigner";
import { newId } from "../db/ids.js";
import type { FileStore, ObjectReader, StoredObject, Upload } from "../pipeline/store.js";

/** Part size of multipart uploads (S3's minimum is 5 MiB). */
export const PART_BYTES = 8 * 1024 * 1024;
/** Parts uploaded at once per upload. */
const QUEUE = 2;
/** How far ahead of the bytes received in order a write may land (SFTP clients keep ~2 MiB in flight). */
export const WINDOW_BYTES = 32 * 1024 * 1024;
/** Bytes per ranged GET. */
const READ_BLOCK = 4 * 1024 * 1024;

export interface S3StoreOptions {
  bucket: string;
  /** Key prefix of Ferry's objects, e.g. "ferry/" (may be empty). */
  prefix: string;
  endpoint?: string | undefined;
  region: string;
  forcePathStyle: boolean;
  /** Explicit credentials (tests); otherwise the SDK's standard chain. */
  credentials?: { accessKeyId: string; secretAccessKey: string };
}

/** Parses FERRY_STORE_URL's s3://bucket/prefix; the prefix gets a trailing slash. */
export function parseS3Url(url: string): { bucket: string; prefix: string } {
  const m = /^s3:\/\/([a-z0-9][a-z0-9.-]{1,61}[a-z0-9])(?:\/(.*))?$/.exec(url);
  if (!m) throw new Error(`not an s3://bucket[/prefix] URL: ${url}`);
  const prefix = (m[2] ?? "").replace(/^\/+|\/+$/g, "");
  return { bucket: m[1]!, prefix: prefix ? `${prefix}/` : "" };
}

export function s3Client(options: S3StoreOptions): S3Client {
  return new S3Client({
    region: options.region,
    ...(options.endpoint ? { endpoint: options.endpoint } : {}),
    forcePathStyle: options.forcePathStyle,
    ...(options.credentials ? { credentials: options.credentials } : {}),
    requestChecksumCalculation: "WHEN_REQUIRED",
    responseChecksumValidation: "WHEN_REQUIRED",
  });
}

const checkKey = (key: string) => {
  if (!/^[0-9a-f-]{36}$/.test(key)) throw new Error(`Bad object key: ${key}`);
  return key;
};

export function s3Store(options: S3StoreOptions, client: S3Client = s3Client(options)): FileStore {
  const { bucket, prefix } = options;
  const name = (key: string) => `${prefix}${checkKey(key)}`;
  return {
    async create() {
      const key = newId();
      return new S3Upload(client, bucket, name(key), key);
    },
    async open(key) {
      try {
        const head = await client.send(new HeadObjectCommand({ Bucket: bucket, Key: name(key) }));
        return new S3Reader(client, bucket, name(key), head.ContentLength ?? 0);
      } catch (err) {
        throw notFound(err, key);
      }
    },
    async remove(key) {
      // S3 answers a delete of a missing object with success, as the local store does.
      await client.send(new DeleteObjectCommand({ Bucket: bucket, Key: name(key) }));
    },
    async removeStaleUploads(before) {
      let removed = 0;
      let keyMarker: string | undefined;
      let uploadIdMarker: string | undefined;
      for (;;) {
        const page = await client.send(
          new ListMultipartUploadsCommand({
            Bucket: bucket,
            Prefix: prefix,
            ...(keyMarker ? { KeyMarker: keyMarker, UploadIdMarker: uploadIdMarker } : {}),
          }),
        );
        for (const u of page.Uploads ?? []) {
          if (!u.Key || !u.UploadId || !u.Initiated || u.Initiated >= before) continue;
          await client.send(
            new AbortMultipartUploadCommand({ Bucket: bucket, Key: u.Key, UploadId: u.UploadId }),
          );
          removed++;
        }
        if (!page.IsTruncated) return removed;
        keyMarker = page.NextKeyMarker;
        uploadIdMarker = page.NextUploadIdMarker;
      }
    },
    presign(key, fileName, seconds) {
      return getSignedUrl(
        client,
        new GetObjectCommand({
          Bucket: bucket,
          Key: name(key),
          ResponseContentDisposition: `attachment; filename*=UTF-8''${encodeURIComponent(fileName)}`,
          ResponseContentType: "application/octet-stream",
        }),
        { expiresIn: seconds },
      );
    },
    async *objectsBefore(before) {
      let token: string | undefined;
      do {
        const page = await client.send(
          new ListObjectsV2Command({
            Bucket: bucket,
            Prefix: prefix,
            ...(token ? { ContinuationToken: token } : {}),
          }),
        );
        const keys = (page.Contents ?? [])
          .filter((o) => o.Key && o.LastModified && o.LastModified < before)
          .map((o) => o.Key!.slice(prefix.length))
          .filter((k) => /^[0-9a-f-]{36}$/.test(k));
        if (keys.length) yield keys;
        token = page.IsTruncated ? page.NextContinuationToken : undefined;
      } while (token);
    },
  };
}

/** A missing object as the local store reports one (ENOENT), other failures as they are. */
function notFound(err: unknown, key: string): Error {
  const e = err as { name?: string; $metadata?: { httpStatusCode?: number } };
  if (e.name === "NotFound" || e.name === "NoSuchKey" || e.$metadata?.httpStatusCode === 404) {
    return Object.assign(new Error(`No such object: ${key}`), { code: "ENOENT" });
  }
  return err as Error;
}

class S3Upload implements Upload {
  size = 0;
  /** Bytes passed on in order so far. */
  private next = 0;
  /** Blocks that arrived ahead of `next`, by position, waiting for the gap before them. */
  private ahead = new Map<number, Buffer>();
  private aheadBytes = 0;
  private hash = createHash("sha256");
  private body = new PassThrough({ highWaterMark: 1024 * 1024 });
  private multipart: MultipartUpload;
  private finished: Promise<void>;
  private failed: Error | undefined;
  /** Serialises writes: each waits for the one before (its bytes may be the gap another fills). */
  private queue: Promise<void> = Promise.resolve();

  constructor(
    private client: S3Client,
    private bucket: string,
    private objectName: string,
    readonly key: string,
  ) {
    this.multipart = new MultipartUpload({
      client,
      params: { Bucket: bucket, Key: objectName, Body: this.body },
      partSize: PART_BYTES,
      queueSize: QUEUE,
      leavePartsOnError: false,
    });
    this.finished = this.multipart.done().then(
      () => {},
      (err: Error) => {
        this.failed ??= err;
        throw err;
      },
    );
    // Seen by whoever awaits it (commit, a write waiting for room); not an unhandled rejection meanwhile.
    this.finished.catch(() => {});
  }

  write(data: Buffer, position: number): Promise<void> {
    // The caller may reuse `data` as soon as this returns: copy it now.
    const copy = Buffer.from(data);
    const run = this.queue.then(() => this.place(copy, position));
    this.queue = run.catch(() => {});
    return run;
  }

  private async place(data: Buffer, position: number): Promise<void> {
    if (this.failed) throw this.failed;
    if (data.length === 0) return;
    if (position < this.next) {
      throw new Error(
        `A write at offset ${position} rewrites bytes already stored (up to ${this.next}); this store takes each byte once: write files from the start, in order`,
      );
    }
    this.size = Math.max(this.size, position + data.length);
    if (position > this.next) {
      if (this.aheadBytes + data.length > WINDOW_BYTES) {
        throw new Error(
          `A write at offset ${position} lands more than ${WINDOW_BYTES} bytes ahead of the data received in order (${this.next}); send the file in order`,
        );
      }
      this.ahead.set(position, data);
      this.aheadBytes += data.length;
      return;
    }
    await this.pass(data);
    for (let block = this.ahead.get(this.next); block; block = this.ahead.get(this.next)) {
      this.ahead.delete(this.next);
      this.aheadBytes -= block.length;
      await this.pass(block);
    }
  }

  /** Hands in-order bytes to the multipart upload, waiting while its buffer is full. */
  private async pass(data: Buffer): Promise<void> {
    this.hash.update(data);
    this.next += data.length;
    if (!this.body.write(data)) {
      await Promise.race([once(this.body, "drain"), this.finished]);
    }
    if (this.failed) throw this.failed;
  }

  async commit(): Promise<StoredObject> {
    await this.queue;
    if (this.failed) throw this.failed;
    if (this.ahead.size > 0 || this.next !== this.size) {
      await this.abort();
      throw new Error(`The file has gaps: ${this.next} of its ${this.size} bytes arrived in order`);
    }
    this.body.end();
    await this.finished;
    return { key: this.key, size: this.next, sha256: this.hash.digest("hex") };
  }

  async abort(): Promise<void> {
    this.failed ??= new Error("upload aborted");
    this.ahead.clear();
    await this.multipart.abort().catch(() => {});
    this.body.destroy();
    await this.finished.catch(() => {});
    // lib-storage stops its uploads but may leave the multipart upload itself open (its parts kept, billed):
    // abort it by name. Anything this misses (a crash) is swept by removeStaleUploads.
    const open = await this.client
      .send(new ListMultipartUploadsCommand({ Bucket: this.bucket, Prefix: this.objectName }))
      .catch(() => null);
    for (const u of open?.Uploads ?? []) {
      if (u.Key !== this.objectName || !u.UploadId) continue;
      await this.client
        .send(new AbortMultipartUploadCommand({ Bucket: this.bucket, Key: u.Key, UploadId: u.UploadId }))
        .catch(() => {});
    }
  }
}

class S3Reader implements ObjectReader {
  /** Blocks fetched or being fetched, by index; the two around the current read are kept. */
  private blocks = new Map<number, Promise<Buffer>>();

  constructor(
    private client: S3Client,
    private bucket: string,
    private objectName: string,
    readonly size: number,
  ) {}

  private block(index: number): Promise<Buffer> {
    let block = this.blocks.get(index);
    if (!block) {
      const start = index * READ_BLOCK;
      const end = Math.min(this.size, start + READ_BLOCK) - 1;
      block = this.client
        .send(
          new GetObjectCommand({ Bucket: this.bucket, Key: this.objectName, Range: `bytes=${start}-${end}` }),
        )
        .then(async (r) => Buffer.from(await r.Body!.transformToByteArray()));
      block.catch(() => {});
      this.blocks.set(index, block);
    }
    return block;
  }

  async read(position: number, length: number): Promise<Buffer> {
    const end = Math.min(this.size, position + length);
    if (position >= end) return Buffer.alloc(0);
    const first = Math.floor(position / READ_BLOCK);
    const last = Math.floor((end - 1) / READ_BLOCK);
    // Read ahead: the block after the last one asked for.
    if ((last + 1) * READ_BLOCK < this.size) this.block(last + 1);
    for (const index of this.blocks.keys())
      if (index < first - 1 || index > last + 1) this.blocks.delete(index);
    const parts: Buffer[] = [];
    for (let i = first; i <= last; i++) {
      const data = await this.block(i);
      const from = Math.max(position, i * READ_BLOCK) - i * READ_BLOCK;
      const to = Math.min(end, (i + 1) * READ_BLOCK) - i * READ_BLOCK;
      parts.push(data.subarray(from, to));
    }
    return parts.length === 1 ? Buffer.from(parts[0]!) : Buffer.concat(parts);
  }

  async close(): Promise<void> {
    this.blocks.clear();
  }
}
