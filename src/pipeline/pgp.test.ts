import { Readable } from "node:stream";
import * as openpgp from "openpgp";
import { describe, expect, it } from "vitest";
import { decrypted, openPgpKind, type PgpKeyring } from "./pgp.js";

describe("openPgpKind", () => {
  it("knows armored messages, with a BOM or blank lines before them", () => {
    expect(openPgpKind(Buffer.from("-----BEGIN PGP MESSAGE-----\n\nhQ"))).toBe("armored");
    expect(openPgpKind(Buffer.from("\ufeff\r\n-----BEGIN PGP MESSAGE-----\n"))).toBe("armored");
    expect(openPgpKind(Buffer.from("-----BEGIN PGP SIGNATURE-----\n"))).toBeNull();
  });

  it("knows binary messages by their first packet and its version byte", () => {
    // gpg to a Curve25519 key: old-format PKESK, one-byte length, version 3.
    expect(openPgpKind(Buffer.from([0x84, 0x5e, 0x03, 0x00]))).toBe("binary");
    // to an RSA key: two-byte length.
    expect(openPgpKind(Buffer.from([0x85, 0x01, 0x8c, 0x03]))).toBe("binary");
    // new-format PKESK (0xc1), passphrase (SKESK v4, 0x8c), signed only (compressed, algorithm 1).
    expect(openPgpKind(Buffer.from([0xc1, 0x5e, 0x03]))).toBe("binary");
    expect(openPgpKind(Buffer.from([0x8c, 0x0d, 0x04, 0x09]))).toBe("binary");
    expect(openPgpKind(Buffer.from([0xa3, 0x01, 0x78]))).toBe("binary");
  });

  it("does not take text, byte-order marks or archives for a message", () => {
    expect(openPgpKind(Buffer.from("OrderId,Amount\n"))).toBeNull();
    expect(openPgpKind(Buffer.from([0xff, 0xfe, 0x4f, 0x00]))).toBeNull(); // UTF-16 LE BOM
    expect(openPgpKind(Buffer.from([0xef, 0xbb, 0xbf, 0x4f]))).toBeNull(); // UTF-8 BOM
    expect(openPgpKind(Buffer.from([0x84, 0x51, 0x75, 0x6f]))).toBeNull();
    expect(openPgpKind(Buffer.from([0x1f, 0x8b, 0x08, 0x00]))).toBeNull(); // gzip
    expect(openPgpKind(Buffer.from([0x50, 0x4b, 0x03, 0x04]))).toBeNull(); // zip
    expect(openPgpKind(Buffer.alloc(0))).toBeNull();
  });
});

describe("decrypted", () => {
  const keyringOf = (key: openpgp.PrivateKey): PgpKeyring => ({
    ownKeys: async () => [
      { key, name: "own", fingerprint: key.getFingerprint().toUpperCase(), expiresAt: null },
    ],
    partnerKey: async () => null,
    describeKeyIds: async () => [],
  });
  const text = async (stream: Readable) => {
    let out = "";
    for await (const chunk of stream) out += chunk.toString();
    return out;
  };

  it("decrypts a file encrypted to the account's key while the key was valid, though it has expired since", async () => {
    const day = 86_400_000;
    const { privateKey } = await openpgp.generateKey({
      type: "ecc",
      curve: "curve25519Legacy",
      userIDs: [{ name: "Old" }],
      date: new Date(Date.now() - 10 * day),
      keyExpirationTime: 86_400,
      format: "object",
    });
    const message = await openpgp.encrypt({
      message: await openpgp.createMessage({ binary: Buffer.from("OrderId\n1\n") }),
      encryptionKeys: privateKey.toPublic(),
      date: new Date(Date.now() - 9.5 * day),
      format: "binary",
    });
    const plain = await decrypted(
      Readable.from([Buffer.from(message)]),
      "binary",
      { keyring: keyringOf(privateKey), accountId: "a", required: true },
      1024 ** 2,
    );
    expect(await text(plain)).toBe("OrderId\n1\n");
  });

  it("says a message damaged in its armor is truncated or damaged", async () => {
    const { privateKey } = await openpgp.generateKey({
      type: "ecc",
      curve: "curve25519Legacy",
      userIDs: [{ name: "K" }],
      format: "object",
    });
    const armored = await openpgp.encrypt({
      message: await openpgp.createMessage({ text: "x".repeat(10_000) }),
      encryptionKeys: privateKey.toPublic(),
    });
    const cut = armored.slice(0, armored.length / 2);
    const read = async () =>
      text(
        await decrypted(
          Readable.from([Buffer.from(cut)]),
          "armored",
          { keyring: keyringOf(privateKey), accountId: "a", required: true },
          1024 ** 2,
        ),
      );
    await expect(read()).rejects.toMatchObject({ code: expect.stringMatching(/^PGP_(TRUNCATED|DAMAGED)$/) });
  });
});
