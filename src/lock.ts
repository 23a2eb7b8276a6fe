/**
 * One Ferry per data directory with an embedded PostgreSQL: `<data>/ferry.lock` holds the pid of the Ferry
 * that uses it. A second `ferry serve` on the same directory once printed "ready" and, stopping, took the
 * first one's embedded PostgreSQL down with it; now it refuses to start. A lock left by a Ferry that is gone
 * (killed, crashed) is taken over. (With DATABASE_URL processes may share a data directory: no lock.)
 */
import { mkdir, readFile, unlink, writeFile } from "node:fs/promises";
import path from "node:path";

export class DataDirInUse extends Error {
  override name = "DataDirInUse";
}

/** Whether `pid` is a live process other than this one. */
async function alive(pid: number): Promise<boolean> {
  if (!pid || pid === process.pid) return false;
  try {
    process.kill(pid, 0);
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === "EPERM";
  }
  // A recycled pid: only a Node process can be a Ferry.
  const cmdline = await readFile(`/proc/${pid}/cmdline`, "utf8").catch(() => "node");
  return cmdline.includes("node") || cmdline.includes("ferry");
}

/** Takes the data directory's lock; resolves with its release. Throws DataDirInUse naming the holder. */
export async function lockDataDir(dataDir: string): Promise<() => Promise<void>> {
  await mkdir(dataDir, { recursive: true });
  const file = path.join(dataDir, "ferry.lock");
  for (let attempt = 0; attempt < 3; attempt++) {
    try {
      await writeFile(file, `${process.pid}\n`, { flag: "wx", mode: 0o644 });
      return async () => {
        const holder = Number((await readFile(file, "utf8").catch(() => "")).trim());
        if (holder === process.pid) await unlink(file).catch(() => {});
      };
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== "EEXIST") throw err;
    }
    const holder = Number((await readFile(file, "utf8").catch(() => "")).trim());
    if (await alive(holder)) {
      throw new DataDirInUse(
        `The data directory ${dataDir} is in use by another Ferry (pid ${holder}): stop it first, or give this one its own FERRY_DATA_DIR`,
      );
    }
    await unlink(file).catch(() => {});
  }
  throw new DataDirInUse(`Could not take the lock ${file}: another Ferry is starting on it`);
}
