/**
 * The SSH host keys (ed25519, ECDSA P-256 and RSA 3072): the files FERRY_SSH_HOST_KEYS names, or the ones every
 * node shares through the database (sealed with the master key), made by the first node that needed them — from
 * the keys it already had in <data>/ssh, if any, so clients' known_hosts stay valid — so all nodes behind a load
 * balancer present the same keys.
 */
import { readFile } from "node:fs/promises";
import path from "node:path";
import { generateSshKeyPair } from "../../domain/keys.js";
import type { SharedSecret } from "../../domain/server-secrets.js";

const GENERATED = [
  { file: "ssh_host_ed25519_key", generate: () => generateSshKeyPair("ed25519") },
  { file: "ssh_host_ecdsa_key", generate: () => generateSshKeyPair("ecdsa", { bits: 256 }) },
  { file: "ssh_host_rsa_key", generate: () => generateSshKeyPair("rsa", { bits: 3072 }) },
];

export async function loadHostKeys(
  dataDir: string,
  given: string[],
  shared: SharedSecret,
): Promise<Buffer[]> {
  if (given.length > 0) return Promise.all(given.map((f) => readFile(f)));
  const keys: Buffer[] = [];
  for (const g of GENERATED) {
    const kept = path.join(dataDir, "ssh", g.file);
    const key = await shared(g.file, async () => readFile(kept, "utf8").catch(() => g.generate().private));
    keys.push(Buffer.from(key));
  }
  return keys;
}
