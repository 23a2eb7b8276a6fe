/** Generated secrets and how they are kept: slow hashes for passwords, SHA-256 for random tokens. */
import { createHash, randomBytes, randomInt, scrypt, timingSafeEqual } from "node:crypto";

const ALPHANUMERIC = "ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz23456789";

/**
 * A password of 24 characters from 57 unambiguous letters and digits (no 0/O, 1/l/I): ~140 bits, typeable,
 * and accepted by every SFTP/FTP client without quoting.
 */
export function generatePassword(length = 24): string {
  let out = "";
  for (let i = 0; i < length; i++) out += ALPHANUMERIC[randomInt(ALPHANUMERIC.length)];
  return out;
}

// scrypt cost: N=2^15, r=8 (32 MiB, ~60-100 ms here). Slow enough to make guessing a stolen hash expensive,
// cheap enough for many logins a second. Parameters are stored with each hash so they can be raised later.
const SCRYPT = { N: 1 << 15, r: 8, p: 1, keyLength: 32 };

function scryptAsync(password: string, salt: Buffer, p: typeof SCRYPT): Promise<Buffer> {
  return new Promise((resolve, reject) =>
    scrypt(password, salt, p.keyLength, { N: p.N, r: p.r, p: p.p, maxmem: 256 * p.N * p.r }, (err, key) =>
      err ? reject(err) : resolve(key),
    ),
  );
}

/** `scrypt$N$r$p$salt$hash` (base64): the only form in which a password is stored. */
export async function hashPassword(password: string): Promise<string> {
  const salt = randomBytes(16);
  const key = await scryptAsync(password, salt, SCRYPT);
  return ["scrypt", SCRYPT.N, SCRYPT.r, SCRYPT.p, salt.toString("base64"), key.toString("base64")].join("$");
}

/** Whether `password` matches a hash made by hashPassword, in constant time. */
export async function verifyPassword(password: string, stored: string): Promise<boolean> {
  const [scheme, n, r, p, salt, hash] = stored.split("$");
  if (scheme !== "scrypt" || !salt || !hash) return false;
  const expected = Buffer.from(hash, "base64");
  const params = { N: Number(n), r: Number(r), p: Number(p), keyLength: expected.length };
  const actual = await scryptAsync(password, Buffer.from(salt, "base64"), params);
  return timingSafeEqual(actual, expected);
}

/** An API token: `fry_` and 256 random bits. Only its SHA-256 is stored. */
export function generateToken(): string {
  return `fry_${randomBytes(32).toString("base64url")}`;
}

/** The stored form of a token. Tokens are high-entropy, so a fast hash is safe and allows lookup by hash. */
export function hashToken(token: string): Buffer {
  return createHash("sha256").update(token).digest();
}

/** The first characters of a token, stored to let a person tell their tokens apart. */
export function tokenPrefix(token: string): string {
  return token.slice(0, 8);
}

/** A login name for SFTP/FTP: a slug of the credential's name and 6 random characters, e.g. `acme-orders-k3m9xq`. */
export function generateUsername(name: string): string {
  const slug = name
    .normalize("NFKD")
    .replace(/[\u0300-\u036f]/g, "")
    .toLowerCase()
    .replace(/[^a-z0-9]+/g, "-")
    .replace(/^-+|-+$/g, "")
    .slice(0, 20)
    .replace(/-+$/, "");
  const alphabet = "abcdefghijkmnpqrstuvwxyz23456789";
  let suffix = "";
  for (let i = 0; i < 6; i++) suffix += alphabet[randomInt(alphabet.length)];
  return slug ? `${slug}-${suffix}` : `ferry-${suffix}`;
}
