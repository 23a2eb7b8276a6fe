/** Host keys and the FTPS certificate: made once, or brought from the files an earlier Ferry kept on disk. */
import { mkdir, mkdtemp, rm, writeFile } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { generateSshKeyPair } from "../../domain/keys.js";
import type { SharedSecret } from "../../domain/server-secrets.js";
import { loadTlsCertificate } from "../ftp/tls.js";
import { loadHostKeys } from "./host-keys.js";

/** The database's shared secrets, as a map (the first value stored for a name is the one everyone gets). */
function sharedMap(): { shared: SharedSecret; values: Map<string, string> } {
  const values = new Map<string, string>();
  return {
    values,
    shared: async (name, make) => {
      if (!values.has(name)) values.set(name, await make());
      return values.get(name)!;
    },
  };
}

const dirs: string[] = [];
afterAll(() => Promise.all(dirs.map((d) => rm(d, { recursive: true, force: true }))));

describe("server keys shared by every node", () => {
  it("keeps the host key an earlier Ferry had in <data>/ssh, so clients' known_hosts stay valid", async () => {
    const dataDir = await mkdtemp(path.join(os.tmpdir(), "ferry-keys-"));
    dirs.push(dataDir);
    const old = generateSshKeyPair("ed25519").private;
    await mkdir(path.join(dataDir, "ssh"), { recursive: true });
    await writeFile(path.join(dataDir, "ssh", "ssh_host_ed25519_key"), old);
    const { shared, values } = sharedMap();
    const keys = await loadHostKeys(dataDir, [], shared);
    expect(keys).toHaveLength(3);
    expect(keys[0]!.toString()).toBe(old);
    // A second node with nothing on disk gets the same keys from the database.
    const other = await loadHostKeys(path.join(dataDir, "elsewhere"), [], shared);
    expect(other.map((k) => k.toString())).toEqual(keys.map((k) => k.toString()));
    expect([...values.keys()].sort()).toEqual([
      "ssh_host_ecdsa_key",
      "ssh_host_ed25519_key",
      "ssh_host_rsa_key",
    ]);
  });

  it("makes the FTPS certificate once, for every node", async () => {
    const { shared } = sharedMap();
    const a = await loadTlsCertificate("/nonexistent", "files.example.com", {}, shared);
    const b = await loadTlsCertificate("/nonexistent-too", "files.example.com", {}, shared);
    expect(a.cert.toString()).toMatch(/BEGIN CERTIFICATE/);
    expect(b).toEqual(a);
  });
});
