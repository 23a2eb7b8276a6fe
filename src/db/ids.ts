/** Identifiers: UUID version 7 (RFC 9562 §5.7), so ids sort by creation time and keyset pagination is by id. */
import { randomBytes } from "node:crypto";

/** A new UUIDv7: 48 bits of Unix milliseconds, then version, variant and 74 random bits. */
export function newId(now: number = Date.now()): string {
  const b = randomBytes(16);
  b.writeUIntBE(now, 0, 6);
  b[6] = (b[6]! & 0x0f) | 0x70;
  b[8] = (b[8]! & 0x3f) | 0x80;
  const h = b.toString("hex");
  return `${h.slice(0, 8)}-${h.slice(8, 12)}-${h.slice(12, 16)}-${h.slice(16, 20)}-${h.slice(20)}`;
}

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

/** Whether a string is a UUID (so a lookup by a malformed id answers "not found", never a SQL error). */
export function isId(value: string): boolean {
  return UUID.test(value);
}

/**
 * The smallest id (and store key) made at `time` or later: ids sort by the time in them (as uuids and as
 * strings), so everything at or after this one was made at `time` or later. For range scans by time on an id
 * index.
 */
export function keyAt(time: Date): string {
  const h = Math.max(0, time.getTime()).toString(16).padStart(12, "0");
  return `${h.slice(0, 8)}-${h.slice(8, 12)}-0000-0000-000000000000`;
}
