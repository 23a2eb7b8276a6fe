/**
 * Parsing of the SSH public keys users paste: OpenSSH one-line form, RFC 4716 (`ssh-keygen -e`), and PEM
 * (PKCS#8/SPKI `PUBLIC KEY`, PKCS#1 `RSA PUBLIC KEY`). Every key is checked by node:crypto (points on the
 * curve, sane RSA modulus) and kept in one canonical form: the SSH wire blob (RFC 4253 §6.6), whose SHA-256 is
 * the fingerprint OpenSSH shows.
 */

import { createHash, createPublicKey, type KeyObject, type webcrypto } from "node:crypto";
import ssh2 from "ssh2";
import { messageOf } from "../thrown.js";

type JsonWebKey = webcrypto.JsonWebKey;

/** A validated public key. */
export interface PublicKey {
  /** SSH key type, e.g. `ssh-ed25519`. */
  type: string;
  /** Key size in bits (RSA modulus, EC curve size, 256 for ed25519). */
  bits: number;
  /** The SSH wire-format blob. */
  blob: Buffer;
  /** `type base64` as in authorized_keys, without a comment. */
  openssh: string;
  /** `SHA256:` and unpadded base64, as `ssh-keygen -l` prints. */
  fingerprint: string;
  /** The comment of an OpenSSH line, if any. */
  comment: string | undefined;
}

export type ParseResult = { ok: true; key: PublicKey } | { ok: false; message: string };

/** RSA keys below this size are refused (NIST SP 800-57: 2048 bits is the minimum until 2030). */
export const MIN_RSA_BITS = 2048;

const CURVES: Record<string, { crv: string; size: number; bits: number }> = {
  nistp256: { crv: "P-256", size: 32, bits: 256 },
  nistp384: { crv: "P-384", size: 48, bits: 384 },
  nistp521: { crv: "P-521", size: 66, bits: 521 },
};

const ACCEPTED = "ssh-ed25519, ecdsa-sha2-nistp256/384/521, or ssh-rsa of at least 2048 bits";

/** Parses and validates a pasted public key. */
export function parsePublicKey(input: string): ParseResult {
  const text = input.trim();
  if (text === "") return fail("is empty; paste the contents of your .pub file");
  if (/PRIVATE KEY/.test(text)) {
    return fail("is a private key; never share it. Paste the public key instead (the .pub file)");
  }
  try {
    if (text.startsWith("-----BEGIN")) return fromKeyObject(createPublicKey({ key: text, format: "pem" }));
    if (text.startsWith("---- BEGIN SSH2 PUBLIC KEY ----")) return fromBlob(rfc4716Blob(text), undefined);
    return fromOpenSshLine(text);
  } catch (err) {
    return fail(`could not be read: ${messageOf(err).replace(/^error:\w+:/, "")}`);
  }
}

function fail(message: string): ParseResult {
  return { ok: false, message: `Public key ${message}` };
}

function fromOpenSshLine(text: string): ParseResult {
  if (/[\r\n]/.test(text)) return fail("must be a single line (type, base64 data, optional comment)");
  const [type, data, ...rest] = text.split(/\s+/);
  if (!type || !data)
    return fail(`is not in OpenSSH form ("ssh-ed25519 AAAA... comment"); accepted: ${ACCEPTED}`);
  if (!/^[A-Za-z0-9+/]+={0,2}$/.test(data)) return fail("data is not valid base64");
  const blob = Buffer.from(data, "base64");
  const result = fromBlob(blob, rest.join(" ") || undefined);
  if (result.ok && result.key.type !== type) {
    return fail(`says "${type}" but its data holds a ${result.key.type} key`);
  }
  return result;
}

/** RFC 4716 §3: header lines (`Tag: value`, `\` continues a line), then base64 until the END line. */
function rfc4716Blob(text: string): Buffer {
  const lines = text.split(/\r?\n/).map((l) => l.trim());
  const end = lines.indexOf("---- END SSH2 PUBLIC KEY ----");
  if (end < 0) throw new Error("the END line is missing");
  let body = "";
  let continued = false;
  for (const line of lines.slice(1, end)) {
    if (continued || /^[^:\s]{1,64}:/.test(line)) {
      continued = line.endsWith("\\");
      continue;
    }
    body += line;
  }
  return Buffer.from(body, "base64");
}

/** Reads the length-prefixed strings of an SSH blob (RFC 4251 §5). */
function readStrings(blob: Buffer): Buffer[] {
  const parts: Buffer[] = [];
  let at = 0;
  while (at < blob.length) {
    if (at + 4 > blob.length) throw new Error("truncated key data");
    const len = blob.readUInt32BE(at);
    if (at + 4 + len > blob.length) throw new Error("truncated key data");
    parts.push(blob.subarray(at + 4, at + 4 + len));
    at += 4 + len;
  }
  return parts;
}

function fromBlob(blob: Buffer, comment: string | undefined): ParseResult {
  const parts = readStrings(blob);
  const type = parts[0]?.toString("latin1") ?? "";
  let jwk: JsonWebKey;
  if (type === "ssh-ed25519" && parts.length === 2 && parts[1]!.length === 32) {
    jwk = { kty: "OKP", crv: "Ed25519", x: parts[1]!.toString("base64url") };
  } else if (type === "ssh-rsa" && parts.length === 3) {
    jwk = {
      kty: "RSA",
      e: unsigned(parts[1]!).toString("base64url"),
      n: unsigned(parts[2]!).toString("base64url"),
    };
  } else if (type.startsWith("ecdsa-sha2-") && parts.length === 3) {
    const curve = CURVES[type.slice("ecdsa-sha2-".length)];
    const q = parts[2]!;
    if (!curve || parts[1]!.toString("latin1") !== type.slice("ecdsa-sha2-".length)) {
      return fail(`has an unknown or mismatched curve; accepted: ${ACCEPTED}`);
    }
    if (q.length !== 1 + 2 * curve.size || q[0] !== 4) return fail("has a malformed EC point");
    jwk = {
      kty: "EC",
      crv: curve.crv,
      x: q.subarray(1, 1 + curve.size).toString("base64url"),
      y: q.subarray(1 + curve.size).toString("base64url"),
    };
  } else if (type === "ssh-dss") {
    return fail(`is a DSA key, which OpenSSH no longer accepts; use ${ACCEPTED}`);
  } else {
    return fail(
      `type "${type || "unknown"}" is not accepted, or its data is malformed; accepted: ${ACCEPTED}`,
    );
  }
  // createPublicKey checks the key itself: an EC point off its curve or a malformed modulus is refused here.
  return fromKeyObject(createPublicKey({ key: jwk, format: "jwk" }), comment);
}

/** Builds the canonical SSH form from a validated key. */
function fromKeyObject(key: KeyObject, comment?: string): ParseResult {
  const jwk = key.export({ format: "jwk" });
  let type: string;
  let bits: number;
  let blob: Buffer;
  if (jwk.kty === "OKP" && jwk.crv === "Ed25519") {
    type = "ssh-ed25519";
    bits = 256;
    blob = sshStrings(type, Buffer.from(jwk.x!, "base64url"));
  } else if (jwk.kty === "RSA") {
    type = "ssh-rsa";
    const n = Buffer.from(jwk.n!, "base64url");
    bits = bitLength(n);
    if (bits < MIN_RSA_BITS) return fail(`is RSA with ${bits} bits; at least ${MIN_RSA_BITS} are required`);
    blob = sshStrings(type, mpint(Buffer.from(jwk.e!, "base64url")), mpint(n));
  } else if (jwk.kty === "EC") {
    const entry = Object.entries(CURVES).find(([, c]) => c.crv === jwk.crv);
    if (!entry) return fail(`uses curve ${jwk.crv}, which is not accepted; accepted: ${ACCEPTED}`);
    const [name, curve] = entry;
    type = `ecdsa-sha2-${name}`;
    bits = curve.bits;
    const point = Buffer.concat([
      Buffer.from([4]),
      Buffer.from(jwk.x!, "base64url"),
      Buffer.from(jwk.y!, "base64url"),
    ]);
    blob = sshStrings(type, Buffer.from(name), point);
  } else {
    return fail(`of kind ${jwk.kty}${jwk.crv ? `/${jwk.crv}` : ""} is not accepted; accepted: ${ACCEPTED}`);
  }
  return {
    ok: true,
    key: {
      type,
      bits,
      blob,
      openssh: `${type} ${blob.toString("base64")}`,
      fingerprint: fingerprintOf(blob),
      comment,
    },
  };
}

/** OpenSSH's SHA256 fingerprint of a key blob. */
export function fingerprintOf(blob: Buffer): string {
  return `SHA256:${createHash("sha256").update(blob).digest("base64").replace(/=+$/, "")}`;
}

function sshStrings(type: string, ...values: Buffer[]): Buffer {
  const parts = [Buffer.from(type), ...values];
  return Buffer.concat(
    parts.flatMap((p) => {
      const len = Buffer.alloc(4);
      len.writeUInt32BE(p.length);
      return [len, p];
    }),
  );
}

/** RFC 4251 §5 mpint: big-endian, with a leading zero byte when the top bit is set. */
function mpint(value: Buffer): Buffer {
  const v = unsigned(value);
  return v.length > 0 && v[0]! & 0x80 ? Buffer.concat([Buffer.from([0]), v]) : v;
}

function unsigned(value: Buffer): Buffer {
  let i = 0;
  while (i < value.length - 1 && value[i] === 0) i++;
  return value.subarray(i);
}

function bitLength(value: Buffer): number {
  const v = unsigned(value);
  if (v.length === 0 || (v.length === 1 && v[0] === 0)) return 0;
  return (v.length - 1) * 8 + (32 - Math.clz32(v[0]!));
}

/**
 * A new SSH key pair in OpenSSH form. ssh2's generator (1.17) writes a malformed ed25519 private key whenever
 * the public key starts with a zero byte (it drops that byte as if the key were a number): about 1 in 256
 * keys, which would stop a first start for good (host keys) or break a key login (account keys). Each pair is
 * therefore parsed back and made again until it reads.
 */
export function generateSshKeyPair(
  type: "ed25519" | "ecdsa" | "rsa",
  options: { bits?: number; comment?: string } = {},
): { private: string; public: string } {
  for (let attempt = 0; ; attempt++) {
    const pair =
      type === "rsa"
        ? ssh2.utils.generateKeyPairSync("rsa", { bits: options.bits ?? 3072, comment: options.comment })
        : type === "ecdsa"
          ? ssh2.utils.generateKeyPairSync("ecdsa", { bits: 256, comment: options.comment })
          : ssh2.utils.generateKeyPairSync("ed25519", { comment: options.comment });
    const priv = ssh2.utils.parseKey(pair.private);
    const pub = ssh2.utils.parseKey(pair.public);
    if (!(priv instanceof Error) && !(pub instanceof Error)) return pair;
    if (attempt > 20) throw new Error(`could not generate a readable ${type} key pair`);
  }
}
