/**
 * The FileStore in S3-compatible object storage (AWS S3, Ceph RADOS Gateway, MinIO…), for Ferry nodes that
 * share no disk. Chosen by FERRY_STORE_URL=s3://bucket/prefix; credentials come from the AWS SDK's standard
 * chain (AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY, a profile, an instance role).
 *
 * Uploads stream into the object store while the client writes: bytes that arrive in order go on at once
 * (SHA-256 computed on the way) into a multipart upload of PART_BYTES parts, QUEUE parts in flight, or a single
 * PUT for a file smaller than a part. Part buffers come from a pool shared by the store's uploads (PartPool):
 * the node's upload memory is bounded by the pool, however many clients upload, plus each upload's reorder
 * window. Clients that write in parallel (SFTP requests in flight) send blocks out of order: a block
 * ahead of the bytes received in order waits in a reorder window of up to WINDOW_BYTES, and goes on once the
 * gap before it is filled; a write further ahead, or one that rewrites bytes already sent, is refused (the
 * local store allows both). The client's close is still the durability point: the multipart upload is
 * completed, then the Transfer committed. A cut upload aborts its multipart upload; those a crash left behind
 * are aborted by the store sweep (removeStaleUploads).
 *
 * Reads stream one ranged GET from the position read, up to READ_WINDOW ahead of the reads (S3Reader). Emailed
 * download links can send the browser to a presigned URL of the object (FERRY_S3_PRESIGN_DOWNLOADS).
 *
 * Ceph RGW 16 refuses the SDK's default request checksums on streamed bodies (411, aws-chunked trailers):
 * checksums are computed only when an operation requires them; Ferry keeps its own SHA-256.
 */

import { createHash } from "node:crypto";
import type { Readable } from "node:stream";
import {
  AbortMultipartUploadCommand,
  CompleteMultipartUploadCommand,
  CreateMultipartUploadCommand,
  DeleteObjectCommand,
  GetObjectCommand,
  HeadObjectCommand,
  ListMultipartUploadsCommand,
  ListObjectsV2Command,
  PutObjectCommand,
  S3Client,
  UploadPartCommand,
} from "@aws-sdk/client-s3";
import { getSignedUrl } from "@aws-sdk/s3-request-presigner";
import { create as contentDisposition } from "content-disposition";
import { keyAt, newId } from "../db/ids.js";
import type { FileStore, ObjectReader, StoredObject, Upload } from "../pipeline/store.js";
import { coerceError } from "../thrown.js";

/** Part size of multipart uploads (S3's minimum is 5 MiB). */
export const PART_BYTES = 8 * 1024 * 1024;
/** Parts uploaded at once per upload. */
const QUEUE = 2;
/** How far ahead of the bytes received in order a write may land (SFTP clients keep ~2 MiB in flight). */
export const WINDOW_BYTES = 32 * 1024 * 1024;
/** How far a reader's GET runs ahead of the reads (memory per download being served). */
const READ_WINDOW = 8 * 1024 * 1024;
/** Part buffers of one store (FERRY_S3_UPLOAD_BUFFERS): 16 × 8 MiB = 128 MiB for all uploads at once. */
export const DEFAULT_UPLOAD_BUFFERS = 16;

export interface S3StoreOptions {
  bucket: string;
  /** Key prefix of Ferry's objects, e.g. "ferry/" (may be empty). */
  prefix: string;
  endpoint?: string | undefined;
  region: string;
  forcePathStyle: boolean;
  /** Explicit credentials (tests); otherwise the SDK's standard chain. */
  credentials?: { accessKeyId: string; secretAccessKey: string };
  /** Part buffers shared by this store's uploads (DEFAULT_UPLOAD_BUFFERS when unset). */
  uploadBuffers?: number | undefined;
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
    // A gateway that stops reading or answering (a full Ceph cluster blocks writes) fails the request instead
    // of holding its part buffer for ever: no byte either way for a minute ends it.
    requestHandler: { connectionTimeout: 10_000, requestTimeout: 60_000 },
  });
}

const checkKey = (key: string) => {
  if (!/^[0-9a-f-]{36}$/.test(key)) throw new Error(`Bad object key: ${key}`);
  return key;
};

export function s3Store(options: S3StoreOptions, client: S3Client = s3Client(options)): FileStore {
  const { bucket, prefix } = options;
  const name = (key: string) => `${prefix}${checkKey(key)}`;
  const pool = new PartPool(options.uploadBuffers ?? DEFAULT_UPLOAD_BUFFERS);
  return {
    async create(owner) {
      const key = newId();
      return new S3Upload(client, pool, owner, bucket, name(key), key);
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
          ResponseContentDisposition: contentDisposition(fileName),
          ResponseContentType: "application/octet-stream",
        }),
        { expiresIn: seconds },
      );
    },
    async *objectsBetween(from, before) {
      let token: string | undefined;
      do {
        // Keys sort by the time in them: the listing starts at the window, not at the store's first object.
        const page = await client.send(
          new ListObjectsV2Command({
            Bucket: bucket,
            Prefix: prefix,
            ...(token ? { ContinuationToken: token } : { StartAfter: `${prefix}${keyAt(from)}` }),
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
  return coerceError(err);
}

/**
 * The part buffers of one store's uploads, shared by all of them: the node's memory for uploads in flight is at
 * most `max` × PART_BYTES however many clients upload at once (one more upload waits for a buffer, and its
 * client for its writes' answers). Buffers are made when first needed and reused (no garbage per part).
 * Waiters are served first come, first served. One owner (an account) holds at most half of them, so one account's many uploads (or slow ones, holding a
 * part half filled) leave the other half to everybody else.
 *
 * Uploads without an owner (Ferry's own files, an email's copies — one writer feeding several uploads in
 * turn, which a shared pool could starve of the buffer each needs) take a buffer of their own instead, bounded
 * by what makes them: processing and pull workers, SMTP sessions and message size.
 */
export class PartPool {
  private free: Buffer[] = [];
  private made = 0;
  private held = new Map<string, number>();
  private waiting: { owner: string; take: (b: Buffer) => void }[] = [];
  readonly perOwner: number;

  constructor(readonly max: number) {
    this.perOwner = Math.max(3, Math.floor(max / 2));
  }

  acquire(owner: string | undefined): Promise<Buffer> {
    if (owner === undefined) return Promise.resolve(Buffer.allocUnsafeSlow(PART_BYTES));
    // Waiters go first, unless all of them wait for their owner's share (then this one takes a free buffer).
    if (this.mayTake(owner) && !this.waiting.some((w) => this.mayTake(w.owner)))
      return Promise.resolve(this.take(owner));
    return new Promise((take) => this.waiting.push({ owner, take }));
  }

  release(owner: string | undefined, buffer: Buffer): void {
    if (owner === undefined) return;
    this.held.set(owner, (this.held.get(owner) ?? 1) - 1);
    if (this.held.get(owner)! <= 0) this.held.delete(owner);
    this.free.push(buffer);
    // The first waiter whose owner may take one more.
    const i = this.waiting.findIndex((w) => this.mayTake(w.owner));
    if (i < 0) return;
    const [w] = this.waiting.splice(i, 1);
    w!.take(this.take(w!.owner));
  }

  private mayTake(owner: string): boolean {
    return (this.free.length > 0 || this.made < this.max) && (this.held.get(owner) ?? 0) < this.perOwner;
  }

  private take(owner: string): Buffer {
    this.held.set(owner, (this.held.get(owner) ?? 0) + 1);
    const buffer = this.free.pop();
    if (buffer) return buffer;
    this.made++;
    return Buffer.allocUnsafeSlow(PART_BYTES);
  }
}

const RESOLVED = Promise.resolve();

/** Bytes of a file's start kept without a pool buffer: small files never wait for one. */
const SMALL_BYTES = 1024 * 1024;

class S3Upload implements Upload {
  size = 0;
  /** Bytes passed on in order so far. */
  private next = 0;
  /** Blocks that arrived ahead of `next`, by position, waiting for the gap before them. */
  private ahead = new Map<number, Buffer>();
  private aheadBytes = 0;
  private hash = createHash("sha256");
  /** The start of the file while it is small (under SMALL_BYTES), as received. */
  private small: Buffer[] = [];
  private smallBytes = 0;
  /** The part being filled (a pool buffer) and how much of it is. */
  private part: Buffer | null = null;
  private filled = 0;
  private parts: { PartNumber: number; ETag: string }[] = [];
  private partsStarted = 0;
  private sending = new Set<Promise<void>>();
  private uploadId: Promise<string> | null = null;
  private failed: Error | undefined;
  /** Serialises writes: each waits for the one before (its bytes may be the gap another fills). */
  private queue: Promise<void> = Promise.resolve();
  /** Writes in `queue` not yet settled. */
  private queued = 0;

  constructor(
    private client: S3Client,
    private pool: PartPool,
    private owner: string | undefined,
    private bucket: string,
    private objectName: string,
    readonly key: string,
  ) {}

  write(data: Buffer, position: number): Promise<void> {
    // The usual case (in order, nothing queued, room in the part being filled): copied into the part now.
    if (
      this.queued === 0 &&
      !this.failed &&
      position === this.next &&
      this.part !== null &&
      this.filled + data.length < PART_BYTES
    ) {
      this.hash.update(data);
      this.next += data.length;
      this.size = Math.max(this.size, this.next);
      this.filled += data.copy(this.part, this.filled);
      return RESOLVED;
    }
    // The caller may reuse `data` as soon as this returns: copy it now.
    const copy = Buffer.from(data);
    this.queued++;
    const run = this.queue.then(() => this.place(copy, position)).finally(() => this.queued--);
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

  /** Copies in-order bytes into the part being filled; a full part goes to the bucket. */
  private async pass(data: Buffer): Promise<void> {
    this.hash.update(data);
    this.next += data.length;
    if (this.part === null && this.parts.length === 0 && this.sending.size === 0) {
      if (this.smallBytes + data.length <= SMALL_BYTES) {
        this.small.push(data);
        this.smallBytes += data.length;
        return;
      }
    }
    const pending = this.small.length ? [...this.small.splice(0), data] : [data];
    this.smallBytes = 0;
    for (const chunk of pending) {
      for (let at = 0; at < chunk.length; ) {
        if (this.part === null) {
          const buffer = await this.pool.acquire(this.owner);
          if (this.failed) {
            this.pool.release(this.owner, buffer);
            throw this.failed;
          }
          this.part = buffer;
          this.filled = 0;
        }
        const n = chunk.copy(this.part, this.filled, at);
        this.filled += n;
        at += n;
        if (this.filled === PART_BYTES) await this.sendPart();
      }
    }
  }

  /** Sends the part being filled (waiting while QUEUE parts are in flight); its buffer goes back when sent. */
  private async sendPart(): Promise<void> {
    while (this.sending.size >= QUEUE) await Promise.race(this.sending);
    if (this.failed) throw this.failed;
    const buffer = this.part!;
    const length = this.filled;
    this.part = null;
    this.filled = 0;
    const PartNumber = ++this.partsStarted;
    this.uploadId ??= this.client
      .send(new CreateMultipartUploadCommand({ Bucket: this.bucket, Key: this.objectName }))
      .then((r) => r.UploadId!);
    const sent = this.uploadId
      .then((UploadId) =>
        this.client.send(
          new UploadPartCommand({
            Bucket: this.bucket,
            Key: this.objectName,
            UploadId,
            PartNumber,
            Body: buffer.subarray(0, length),
            ContentLength: length,
          }),
        ),
      )
      .then(
        (r) => {
          this.parts.push({ PartNumber, ETag: r.ETag! });
        },
        (err: Error) => {
          this.failed ??= err;
        },
      )
      .finally(() => {
        this.pool.release(this.owner, buffer);
        this.sending.delete(sent);
      });
    this.sending.add(sent);
  }

  async commit(): Promise<StoredObject> {
    await this.queue;
    if (this.failed) throw this.failed;
    if (this.ahead.size > 0 || this.next !== this.size) {
      await this.abort();
      throw new Error(`The file has gaps: ${this.next} of its ${this.size} bytes arrived in order`);
    }
    try {
      if (this.uploadId === null) {
        // Smaller than a part: one PUT.
        const body = this.part ? this.part.subarray(0, this.filled) : Buffer.concat(this.small);
        try {
          await this.client.send(
            new PutObjectCommand({
              Bucket: this.bucket,
              Key: this.objectName,
              Body: body,
              ContentLength: body.length,
            }),
          );
        } finally {
          if (this.part) this.pool.release(this.owner, this.part);
          this.part = null;
        }
      } else {
        if (this.part !== null && this.filled > 0) await this.sendPart();
        else if (this.part !== null) this.pool.release(this.owner, this.part);
        this.part = null;
        while (this.sending.size > 0) await Promise.race(this.sending);
        if (this.failed) throw this.failed;
        await this.client.send(
          new CompleteMultipartUploadCommand({
            Bucket: this.bucket,
            Key: this.objectName,
            UploadId: await this.uploadId!,
            MultipartUpload: { Parts: [...this.parts].sort((a, b) => a.PartNumber - b.PartNumber) },
          }),
        );
      }
    } catch (err) {
      await this.abort();
      throw err;
    }
    return { key: this.key, size: this.next, sha256: this.hash.digest("hex") };
  }

  async abort(): Promise<void> {
    this.failed ??= new Error("upload aborted");
    this.ahead.clear();
    this.small = [];
    await this.queue;
    while (this.sending.size > 0) await Promise.race(this.sending);
    if (this.part !== null) this.pool.release(this.owner, this.part);
    this.part = null;
    const uploadId = await this.uploadId?.catch(() => null);
    if (uploadId) {
      await this.client
        .send(
          new AbortMultipartUploadCommand({ Bucket: this.bucket, Key: this.objectName, UploadId: uploadId }),
        )
        .catch(() => {});
    }
    // Anything this misses (a crash, the gateway gone) is swept by removeStaleUploads.
  }
}

/**
 * Reads an object with one streamed GET from the position read, kept going while reads follow each other
 * (SFTP and FTP downloads, processing): one request per pass instead of one per block, which the SDK's
 * per-request cost made twice as expensive in CPU. The stream runs up to READ_WINDOW ahead of the reads, then
 * waits (TCP holds the rest); a read before what is kept, or beyond the window, starts a new GET there. Reads
 * are served one after the other, in the order they come.
 */
class S3Reader implements ObjectReader {
  private body: Readable | null = null;
  /** File offset of the next byte the body yields. */
  private bodyAt = 0;
  /** Bytes received and not yet read past, from `keptAt`. */
  private kept: Buffer[] = [];
  private keptAt = 0;
  private keptBytes = 0;
  private failure: Error | null = null;
  private ended = false;
  private wake: (() => void) | null = null;
  /** The end of the read being served: the stream does not stop before it. */
  private need = 0;
  private queue: Promise<unknown> = Promise.resolve();

  constructor(
    private client: S3Client,
    private bucket: string,
    private objectName: string,
    readonly size: number,
  ) {}

  read(position: number, length: number): Promise<Buffer> {
    const run = this.queue.then(() => this.readNow(position, length));
    this.queue = run.catch(() => {});
    return run;
  }

  private async readNow(position: number, length: number): Promise<Buffer> {
    const end = Math.min(this.size, position + length);
    if (position >= end) return Buffer.alloc(0);
    if (
      this.body === null ||
      this.failure ||
      position < this.keptAt ||
      position > this.bodyAt + READ_WINDOW
    ) {
      await this.start(position);
    }
    this.dropBefore(position);
    // A read longer than the window takes what it needs.
    this.need = end;
    if (this.body?.isPaused() && this.bodyAt < end) this.body.resume();
    while (this.bodyAt < end) {
      if (this.failure) throw this.failure;
      if (this.ended) throw new Error(`${this.objectName} ended at ${this.bodyAt} of ${this.size} bytes`);
      await new Promise<void>((resolve) => {
        this.wake = resolve;
      });
    }
    // The bytes [position, end) from the kept chunks (a view when one chunk holds them all).
    const parts: Buffer[] = [];
    let at = this.keptAt;
    for (const chunk of this.kept) {
      const from = Math.max(position, at);
      const to = Math.min(end, at + chunk.length);
      if (from < to) parts.push(chunk.subarray(from - at, to - at));
      at += chunk.length;
      if (at >= end) break;
    }
    return parts.length === 1 ? parts[0]! : Buffer.concat(parts);
  }

  /** A new GET from `position` to the end; the one before is dropped. */
  private async start(position: number): Promise<void> {
    this.stop();
    this.failure = null;
    this.ended = false;
    this.keptAt = this.bodyAt = position;
    const res = await this.client.send(
      new GetObjectCommand({ Bucket: this.bucket, Key: this.objectName, Range: `bytes=${position}-` }),
    );
    const body = res.Body as Readable;
    this.body = body;
    const wake = () => {
      this.wake?.();
      this.wake = null;
    };
    body.on("data", (chunk: Buffer) => {
      if (this.body !== body) return;
      this.kept.push(chunk);
      this.keptBytes += chunk.length;
      this.bodyAt += chunk.length;
      if (this.keptBytes >= READ_WINDOW && this.bodyAt >= this.need) body.pause();
      wake();
    });
    body.once("end", () => {
      if (this.body !== body) return;
      this.ended = true;
      wake();
    });
    // `on`, not `once`: a body destroyed by stop() may still report an error, which must not go unheard.
    body.on("error", (err: Error) => {
      if (this.body !== body) return;
      this.failure = err;
      wake();
    });
  }

  /** Lets go of what lies before `position`; the stream goes on once there is room in the window. */
  private dropBefore(position: number): void {
    while (this.kept.length > 0 && this.keptAt + this.kept[0]!.length <= position) {
      const chunk = this.kept.shift()!;
      this.keptAt += chunk.length;
      this.keptBytes -= chunk.length;
    }
    // Resumed once half the window is free, not at every chunk read: a pause and a resume per 64 KiB chunk
    // stopped and started the socket's reading (and the gateway's sending) all the time.
    if (this.body?.isPaused() && this.keptBytes <= READ_WINDOW / 2) this.body.resume();
  }

  private stop(): void {
    const body = this.body;
    this.body = null;
    body?.destroy();
    this.kept = [];
    this.keptBytes = 0;
  }

  async close(): Promise<void> {
    await this.queue;
    this.stop();
  }
}
