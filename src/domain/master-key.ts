/**
 * The master key that seals the secrets Ferry must read back (secretbox.ts): FERRY_MASTER_KEY, or the file
 * FERRY_MASTER_KEY_FILE names, or one generated at first start into the data directory (mode 0600). Every
 * process sharing a database must hold the same one (server-secrets.ts checks it).
 */
import { randomBytes } from "node:crypto";
import { mkdir, readFile, writeFile } from "node:fs/promises";
import path from "node:path";

/** The master key: from config, or generated once into the data directory (mode 0600). */
export async function loadMasterKey(
  config: {
    masterKey: Buffer | undefined;
    masterKeyFile: string | undefined;
    dataDir: string;
    /** Set: the database is shared, so a generated key must be copied to every process. */
    databaseUrl: string | undefined;
  },
  log: { warn(o: object, m: string): void },
): Promise<Buffer> {
  if (config.masterKey) return config.masterKey;
  if (config.masterKeyFile) {
    const key = Buffer.from((await readFile(config.masterKeyFile, "utf8")).trim(), "base64");
    if (key.length !== 32)
      throw new Error(`FERRY_MASTER_KEY_FILE ${config.masterKeyFile}: must hold 32 bytes, base64-encoded`);
    return key;
  }
  const file = path.join(config.dataDir, "master.key");
  try {
    return Buffer.from((await readFile(file, "utf8")).trim(), "base64");
  } catch {
    await mkdir(config.dataDir, { recursive: true });
    const key = randomBytes(32);
    await writeFile(file, `${key.toString("base64")}\n`, { mode: 0o600, flag: "wx" });
    if (config.databaseUrl) {
      log.warn(
        { file },
        "generated a master key in the data directory; set FERRY_MASTER_KEY on every Ferry process that shares this database",
      );
    }
    return key;
  }
}
