/**
 * The SSH host keys: generated once (ed25519, ECDSA P-256 and RSA 3072) into <data>/ssh and kept, or read from the files
 * FERRY_SSH_HOST_KEYS names, so clients' known_hosts stay valid across restarts and across Ferry processes.
 */
import { existsSync } from "node:fs";
import { mkdir, readFile, writeFile } from "node:fs/promises";
import path from "node:path";
import { generateSshKeyPair } from "../../domain/keys.js";

const GENERATED = [
  { file: "ssh_host_ed25519_key", generate: () => generateSshKeyPair("ed25519") },
  { file: "ssh_host_ecdsa_key", generate: () => generateSshKeyPair("ecdsa", { bits: 256 }) },
  { file: "ssh_host_rsa_key", generate: () => generateSshKeyPair("rsa", { bits: 3072 }) },
];

export async function loadHostKeys(dataDir: string, given: string[] = []): Promise<Buffer[]> {
  if (given.length > 0) return Promise.all(given.map((f) => readFile(f)));
  const dir = path.join(dataDir, "ssh");
  await mkdir(dir, { recursive: true, mode: 0o700 });
  const keys: Buffer[] = [];
  for (const g of GENERATED) {
    const file = path.join(dir, g.file);
    if (!existsSync(file)) {
      const pair = g.generate();
      // "wx": if another process sharing the data directory wrote it first, keep theirs.
      await writeFile(file, pair.private, { mode: 0o600, flag: "wx" }).catch((err) => {
        if ((err as NodeJS.ErrnoException).code !== "EEXIST") throw err;
      });
      await writeFile(`${file}.pub`, `${pair.public}\n`, { flag: "wx" }).catch(() => {});
    }
    keys.push(await readFile(file));
  }
  return keys;
}
