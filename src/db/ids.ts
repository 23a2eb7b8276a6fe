/** Identifiers: UUID version 7 (RFC 9562 §5.7), so ids sort by creation time and keyset pagination is by id. */
import { randomBytes } from "node:crypto";

/** The time and counter of this process's last id (RFC 9562 §6.2, method 1: a counter in rand_a's 12 bits). */
let last = { ms: 0, seq: 0 };

/**
 * A new UUIDv7: 48 bits of Unix milliseconds (`at`, or now), version, 12 bits of counter (random when `at` is
 * given), variant and 62 random bits.
 */
export function newId(at?: number): string {
  const b = randomBytes(16);
  let ms = at ?? Date.now();
  let seq = ((b[6]! & 0x0f) << 8) | b[7]!;
  if (at === undefined) {
    // Ids made in the same millisecond count up, so they sort in the order they were made (lists ordered by
    // id — a connection's runs made by one scheduling pass — came out shuffled otherwise).
    if (ms <= last.ms) {
      ms = last.ms;
      seq = last.seq + 1;
      if (seq > 0xfff) {
        ms += 1;
        seq = 0;
      }
    } else seq &= 0x7ff; // a random start in the lower half: room to count up
    last = { ms, seq };
  }
  b.writeUIntBE(ms, 0, 6);
  b[6] = 0x70 | (seq >> 8);
  b[7] = seq & 0xff;
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
