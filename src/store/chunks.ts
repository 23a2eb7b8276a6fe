/**
 * The local store's 1 MiB buffers, reused across uploads and reads: plain ones, and page-aligned ones for
 * direct I/O (O_DIRECT needs aligned addresses).
 */

/** Pending bytes gathered before one write to disk, and the size of every buffer here. */
export const CHUNK = 1024 * 1024;

/**
 * Chunks given back once written, for the next uploads. Every new buffer counts as V8 "external memory", and
 * a stream of new ones made V8 run a full mark-compact about every 100 ms during an SFTP upload ("external
 * memory pressure"): reusing them halves that churn (the other half is the sockets' own reads).
 */
const freeChunks: Buffer[] = [];
const MAX_FREE_CHUNKS = 16;

/**
 * Page-aligned chunks for direct I/O, carved from WebAssembly memories (slabs of 8 MiB, at most 64 MiB in all;
 * kept for the life of the process, only pages ever used are resident). When all are in use, plain chunks.
 */
// WebAssembly's types come with the DOM library, which this project does not load: the one constructor used.
declare const WebAssembly: {
  Memory: new (d: { initial: number; maximum: number }) => { buffer: ArrayBuffer };
};
const SLAB_CHUNKS = 8;
const MAX_SLABS = 8;
const WASM_PAGE = 64 * 1024;
let slabs = 0;
const freeAligned: Buffer[] = [];
const aligned = new WeakSet<Buffer>();

export function takeChunk(wantAligned: boolean): Buffer {
  if (wantAligned) {
    if (freeAligned.length === 0 && slabs < MAX_SLABS) {
      slabs++;
      const pages = (SLAB_CHUNKS * CHUNK) / WASM_PAGE;
      const memory = new WebAssembly.Memory({ initial: pages, maximum: pages });
      for (let i = 0; i < SLAB_CHUNKS; i++) {
        const chunk = Buffer.from(memory.buffer, i * CHUNK, CHUNK);
        aligned.add(chunk);
        freeAligned.push(chunk);
      }
    }
    const chunk = freeAligned.pop();
    if (chunk) return chunk;
  }
  return freeChunks.pop() ?? Buffer.allocUnsafeSlow(CHUNK);
}

export function giveBack(chunk: Buffer): void {
  if (aligned.has(chunk)) freeAligned.push(chunk);
  else if (freeChunks.length < MAX_FREE_CHUNKS) freeChunks.push(chunk);
}

/** Whether a chunk is page-aligned (usable for direct I/O). */
export const isAligned = (chunk: Buffer): boolean => aligned.has(chunk);
