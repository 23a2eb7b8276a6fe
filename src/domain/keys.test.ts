import { generateKeyPairSync } from "node:crypto";
import { readFileSync } from "node:fs";
import ssh2 from "ssh2";
import { describe, expect, it } from "vitest";
import { generateSshKeyPair, parsePublicKey } from "./keys.js";

const dir = new URL("../../test/fixtures/keys/", import.meta.url);
const fixture = (name: string) => readFileSync(new URL(name, dir), "utf8");
/** What `ssh-keygen -l` printed for each fixture: file, bits, fingerprint. */
const expected = fixture("fingerprints.txt")
  .trim()
  .split("\n")
  .map((l) => l.split(" ") as [string, string, string]);

function parsed(text: string) {
  const r = parsePublicKey(text);
  if (!r.ok) throw new Error(r.message);
  return r.key;
}

function refused(text: string): string {
  const r = parsePublicKey(text);
  if (r.ok) throw new Error(`accepted ${r.key.type}`);
  return r.message;
}

describe("parsePublicKey", () => {
  const accepted = expected.filter(([file]) => !/^(dsa|rsa1024)\./.test(file));

  it.each(accepted)("reads %s with the fingerprint ssh-keygen shows", (file, bits, fingerprint) => {
    const key = parsed(fixture(file));
    expect(key.fingerprint).toBe(fingerprint);
    expect(key.bits).toBe(Number(bits));
  });

  it("keeps the canonical OpenSSH form and the comment of a one-line key", () => {
    const text = fixture("ed25519.pub").trim();
    const key = parsed(text);
    expect(`${key.openssh} ${key.comment}`).toBe(text);
    expect(key.type).toBe("ssh-ed25519");
  });

  it("gives the same key whether pasted as OpenSSH, PKCS#8, PKCS#1 or RFC 4716", () => {
    const forms = ["rsa2048.pub", "rsa2048.pkcs8.pem", "rsa2048.pkcs1.pem", "rsa2048.rfc4716"].map(
      (f) => parsed(fixture(f)).openssh,
    );
    expect(new Set(forms).size).toBe(1);
  });

  it("refuses RSA keys under 2048 bits, naming the size", () => {
    expect(refused(fixture("rsa1024.pub"))).toMatch(/1024 bits; at least 2048/);
  });

  it("refuses DSA keys", () => {
    expect(refused(fixture("dsa.pub"))).toMatch(/DSA key/);
  });

  it("refuses a private key, telling the user not to share it", () => {
    const { privateKey } = generateKeyPairSync("ed25519");
    const pem = privateKey.export({ format: "pem", type: "pkcs8" }).toString();
    expect(refused(pem)).toMatch(/private key/);
    expect(
      refused("-----BEGIN OPENSSH PRIVATE KEY-----\nb3BlbnNzaC1rZXktdjE=\n-----END OPENSSH PRIVATE KEY-----"),
    ).toMatch(/private key/);
  });

  it("refuses a line whose declared type differs from its data", () => {
    const data = fixture("ed25519.pub").split(" ")[1];
    expect(refused(`ssh-rsa ${data}`)).toMatch(/says "ssh-rsa" but its data holds a ssh-ed25519 key/);
  });

  it("refuses truncated key data", () => {
    const [type, data] = fixture("rsa2048.pub").split(" ");
    expect(refused(`${type} ${data!.slice(0, 100)}`)).toMatch(/truncated|could not be read/);
  });

  it("refuses an EC point that is not on its curve", () => {
    const [type, data] = fixture("ecdsa256.pub").split(" ");
    const blob = Buffer.from(data!, "base64");
    blob[blob.length - 1]! ^= 0x01; // flip a bit of Y
    expect(refused(`${type} ${blob.toString("base64")}`)).toMatch(/could not be read|invalid/i);
  });

  it("refuses empty input, garbage, bad base64 and unknown types", () => {
    expect(refused("   ")).toMatch(/empty/);
    expect(refused("hello")).toMatch(/not in OpenSSH form/);
    expect(refused("ssh-ed25519 not*base64")).toMatch(/base64/);
    expect(refused("ssh-foo AAAAB3NzaC1mb28=")).toMatch(/"ssh-foo" is not accepted/);
    expect(refused("-----BEGIN PUBLIC KEY-----\nAAAA\n-----END PUBLIC KEY-----")).toMatch(
      /could not be read/,
    );
  });
});

describe("generateSshKeyPair", () => {
  it("makes only key pairs that read back, where ssh2's own generator fails about 1 in 256", () => {
    // 2,000 ed25519 pairs: with the bare generator at least one is malformed with probability > 99.9%.
    for (let i = 0; i < 2000; i++) {
      const pair = generateSshKeyPair("ed25519");
      expect(ssh2.utils.parseKey(pair.private)).not.toBeInstanceOf(Error);
      const parsed = parsePublicKey(pair.public);
      expect(parsed.ok).toBe(true);
    }
  });
});
