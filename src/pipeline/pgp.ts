/**
 * OpenPGP in the pipeline (OpenPGP.js): inbound files encrypted to the account's keys are decrypted as a
 * stream before unpacking, their signature checked against the partner's key when the connection asks;
 * outbound files are encrypted (and signed) to the partner's key as a stream. Memory stays flat: plaintext is
 * released before the message's integrity check (MDC) at its end — safe here because nothing of a file is
 * applied before its last byte is read, in one transaction that a late failure rolls back.
 */
import { Readable } from "node:stream";
import * as openpgp from "openpgp";
import { FileProblem } from "../datatypes/problems.js";
import type { KeyringEntry, PgpKeyring } from "../domain/pgp-keys.js";
import { messageOf } from "../thrown.js";

export type { PgpKeyring } from "../domain/pgp-keys.js";

/** How a connection reads OpenPGP files. */
export interface PgpReading {
  keyring: PgpKeyring;
  accountId: string;
  /** A file that is not an OpenPGP message is refused. */
  required: boolean;
  /** The id of the partner key every file must be signed with. */
  signedBy?: string | undefined;
}

const ARMOR = "-----BEGIN PGP MESSAGE-----";
/** Packet tags a message can start with: PKESK (1), SKESK (3), one-pass signature (4), compressed (8). */
const FIRST_TAGS = new Set([1, 3, 4, 8]);

/**
 * Whether the bytes starting a file are an OpenPGP message, armored or binary. A binary message is known by
 * its first packet (tag and the version or algorithm byte its body starts with), so text that merely starts
 * with a byte above 0x7f is not taken for one.
 */
export function openPgpKind(head: Buffer): "armored" | "binary" | null {
  let at = head[0] === 0xef && head[1] === 0xbb && head[2] === 0xbf ? 3 : 0;
  while (
    at < head.length &&
    (head[at] === 0x20 || head[at] === 0x0a || head[at] === 0x0d || head[at] === 0x09)
  )
    at++;
  if (head.subarray(at, at + ARMOR.length).toString("latin1") === ARMOR) return "armored";
  const b = head[0];
  if (b === undefined || !(b & 0x80)) return null;
  let tag: number;
  let bodyAt: number;
  if (b & 0x40) {
    tag = b & 0x3f;
    const l = head[1] ?? 0;
    bodyAt = l < 192 ? 2 : l < 224 ? 3 : l === 255 ? 6 : 2;
  } else {
    tag = (b >> 2) & 0x0f;
    bodyAt = 1 + [1, 2, 4, 0][b & 0x03]!;
  }
  if (!FIRST_TAGS.has(tag)) return null;
  const first = head[bodyAt];
  if (first === undefined) return null;
  const plausible =
    tag === 1
      ? first === 3 || first === 6
      : tag === 3
        ? first >= 4 && first <= 6
        : tag === 4
          ? first === 3 || first === 6
          : first <= 3;
  return plausible ? "binary" : null;
}

const CONFIG = (maxBytes: number): openpgp.PartialConfig => ({
  allowUnauthenticatedStream: true,
  maxDecompressedMessageSize: maxBytes,
});

const shortId = (fingerprint: string) => fingerprint.slice(-16);
const day = (d: Date) => d.toISOString().slice(0, 10);

/** An OpenPGP.js error while reading a message, in words. */
function damaged(err: unknown): FileProblem {
  if (err instanceof FileProblem) return err;
  const m = messageOf(err);
  if (/decompressed message size/i.test(m)) {
    return new FileProblem("FILE_TOO_LARGE", "The OpenPGP message decompresses beyond the size limit");
  }
  if (/Modification detected|MDC|authentication tag|integrity/i.test(m)) {
    return new FileProblem(
      "PGP_DAMAGED",
      "The OpenPGP message fails its integrity check: it was altered or damaged in transit; send the file again",
    );
  }
  if (/Unexpected end|end of (packet|stream)|truncated|Error during parsing|Misformed armored/i.test(m)) {
    return new FileProblem(
      "PGP_TRUNCATED",
      `The OpenPGP message is truncated or damaged (${m.replace(/\.$/, "")}); send the whole file again`,
    );
  }
  return new FileProblem("PGP_FAILED", `The OpenPGP message cannot be read: ${m}`);
}

/**
 * The plaintext of an OpenPGP message, as a stream. Errors it can end with are FileProblems: no key, wrong key,
 * not encrypted (when required), not signed or badly signed (when a signature is required), truncated,
 * damaged. The signature is judged after the last byte, before the stream ends.
 */
export async function decrypted(
  ciphertext: Readable,
  kind: "armored" | "binary",
  pgp: PgpReading,
  maxBytes: number,
): Promise<Readable> {
  const config = CONFIG(maxBytes);
  let message: openpgp.Message<openpgp.WebStream<Uint8Array | string>>;
  try {
    const web = Readable.toWeb(ciphertext) as unknown as ReadableStream<Uint8Array>;
    message =
      kind === "armored"
        ? await openpgp.readMessage({
            armoredMessage: web.pipeThrough(new TextDecoderStream() as never) as never,
            config,
          })
        : await openpgp.readMessage({ binaryMessage: web as never, config });
  } catch (err) {
    throw damaged(err);
  }
  const partner = pgp.signedBy ? await pgp.keyring.partnerKey(pgp.accountId, pgp.signedBy) : null;
  if (pgp.signedBy && !partner) {
    throw new FileProblem(
      "PGP_NO_KEY",
      "The partner key this connection checks signatures with is gone; choose it again",
    );
  }
  const recipients = message.getEncryptionKeyIDs().map((k) => k.toHex().toUpperCase());
  const passworded = message.packets.filterByTag(openpgp.enums.packet.symEncryptedSessionKey).length > 0;
  let result: { data: unknown; signatures: openpgp.DecryptMessageResult["signatures"] };
  try {
    if (recipients.length === 0) {
      if (passworded) {
        throw new FileProblem(
          "PGP_PASSWORD",
          "The file is encrypted with a passphrase; encrypt it to the account's public PGP key instead (gpg --encrypt --recipient …)",
        );
      }
      if (pgp.required) {
        throw new FileProblem(
          "PGP_NOT_ENCRYPTED",
          "The file is an OpenPGP message but not encrypted, and this connection requires encryption; encrypt it to the account's public PGP key",
        );
      }
      result = await openpgp.verify({
        message,
        verificationKeys: partner ? [partner.key] : [],
        format: "binary",
        config,
      });
    } else {
      const own = await pgp.keyring.ownKeys(pgp.accountId);
      const wildcard = recipients.includes("0000000000000000");
      const matching = own.filter((o) =>
        o.key.getKeyIDs().some((id) => wildcard || recipients.includes(id.toHex().toUpperCase())),
      );
      if (matching.length === 0) {
        if (own.length === 0) {
          throw new FileProblem(
            "PGP_NO_KEY",
            "The file is OpenPGP-encrypted, but the account has no active PGP key: create one and give its public key to the partner",
          );
        }
        const named = await pgp.keyring.describeKeyIds(pgp.accountId, recipients);
        throw new FileProblem(
          "PGP_WRONG_KEY",
          `The file is encrypted to ${named.length ? `the key ${named.join(", ")}` : `key id ${recipients.join(", ")}`}, not to one of the account's active PGP keys (${own.map((o) => `"${o.name}" ${shortId(o.fingerprint)}`).join(", ")}); ask the partner to encrypt to your current public key`,
        );
      }
      result = await openpgp.decrypt({
        message,
        decryptionKeys: matching.map((o) => o.key),
        ...(partner ? { verificationKeys: [partner.key] } : {}),
        format: "binary",
        config,
      });
    }
  } catch (err) {
    if (err instanceof FileProblem) throw err;
    const m = messageOf(err);
    if (/Session key decryption failed|No decryption key packets found/i.test(m)) {
      throw new FileProblem(
        "PGP_WRONG_KEY",
        "The file's session key cannot be decrypted with the account's PGP keys; ask the partner to encrypt to your current public key",
      );
    }
    throw damaged(err);
  }
  const plaintext = Readable.fromWeb(result.data as never);
  async function* checked(): AsyncGenerator<Buffer> {
    try {
      for await (const chunk of plaintext)
        yield Buffer.from(chunk.buffer, chunk.byteOffset, chunk.byteLength);
    } catch (err) {
      throw damaged(err);
    }
    if (partner) await checkSignature(result.signatures, partner);
  }
  return Readable.from(checked(), { objectMode: false, highWaterMark: 1 });
}

/** Refuses a file that is not signed, or not with the partner's key, or whose signature does not match. */
async function checkSignature(
  signatures: openpgp.DecryptMessageResult["signatures"],
  partner: KeyringEntry<openpgp.PublicKey>,
): Promise<void> {
  const expected = `the partner's key "${partner.name}" (${shortId(partner.fingerprint)})`;
  if (signatures.length === 0) {
    throw new FileProblem(
      "PGP_NOT_SIGNED",
      `The file is not signed, and this connection requires a signature by ${expected}`,
    );
  }
  const problems: string[] = [];
  for (const s of signatures) {
    try {
      if (await s.verified) return;
    } catch (err) {
      problems.push(messageOf(err));
    }
  }
  const all = problems.join("; ");
  if (/Could not find signing key/i.test(all)) {
    throw new FileProblem(
      "PGP_BAD_SIGNATURE",
      `The file is signed with key ${signatures.map((s) => s.keyID.toHex().toUpperCase()).join(", ")}, not with ${expected}`,
    );
  }
  if (/expired/i.test(all)) {
    throw new FileProblem(
      "PGP_KEY_EXPIRED",
      `The file is signed with ${expected}, which ${partner.expiresAt ? `expired on ${day(partner.expiresAt)}` : "has expired"}; import the partner's renewed key`,
    );
  }
  throw new FileProblem(
    "PGP_BAD_SIGNATURE",
    `The file's signature by ${expected} does not match its content (${all}): it was altered after signing`,
  );
}

/** What an outbound file is encrypted to and signed with. */
export interface PgpWriting {
  recipient: KeyringEntry<openpgp.PublicKey> & { status: string };
  signer: KeyringEntry<openpgp.PrivateKey> | null;
}

/**
 * The keys an outbound connection encrypts to and signs with; an Error in words when one is missing or
 * expired (the run fails with it).
 */
export async function writingKeys(
  keyring: PgpKeyring,
  accountId: string,
  details: { pgpEncryptTo?: string; pgpSign?: boolean },
): Promise<PgpWriting | null> {
  if (!details.pgpEncryptTo) return null;
  const recipient = await keyring.partnerKey(accountId, details.pgpEncryptTo);
  if (!recipient) throw new Error("The partner PGP key this connection encrypts to is gone; choose it again");
  const now = new Date();
  if (recipient.expiresAt && recipient.expiresAt <= now) {
    throw new Error(
      `The partner's PGP key "${recipient.name}" (${shortId(recipient.fingerprint)}) expired on ${day(recipient.expiresAt)}; import their renewed key and choose it for this connection`,
    );
  }
  try {
    await recipient.key.getEncryptionKey();
  } catch (err) {
    throw new Error(
      `The partner's PGP key "${recipient.name}" (${shortId(recipient.fingerprint)}) cannot be encrypted to (${messageOf(err)}); ask the partner for a key with an encryption subkey`,
    );
  }
  let signer: KeyringEntry<openpgp.PrivateKey> | null = null;
  if (details.pgpSign) {
    signer = (await keyring.ownKeys(accountId)).find((k) => !k.expiresAt || k.expiresAt > now) ?? null;
    if (!signer) {
      throw new Error(
        "The connection signs its files, but the account has no active, unexpired PGP key: create one",
      );
    }
  }
  return { recipient, signer };
}

/** `content` encrypted (and signed) as a binary OpenPGP message, as a stream. */
export async function encrypted(content: Readable, keys: PgpWriting, fileName: string): Promise<Readable> {
  const message = await openpgp.createMessage({
    binary: Readable.toWeb(content) as never,
    filename: fileName,
    format: "binary",
  });
  const out = await openpgp.encrypt({
    message,
    encryptionKeys: keys.recipient.key,
    ...(keys.signer ? { signingKeys: keys.signer.key } : {}),
    format: "binary",
  });
  return Readable.fromWeb(out as never);
}
