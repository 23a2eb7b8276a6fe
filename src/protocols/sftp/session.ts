/** One SFTP v3 subsystem (draft-ietf-secsh-filexfer-02) served from the virtual file system. */
import type { Logger } from "pino";
import ssh2, { type Attributes, type FileEntry, type SFTPWrapper } from "ssh2";
import type { ObjectReader } from "../../pipeline/store.js";
import {
  NO_RESUME,
  normalisePath,
  type VfsEntry,
  VfsError,
  type VirtualFs,
  type WriteHandle,
} from "../vfs.js";

const { OPEN_MODE, STATUS_CODE } = ssh2.utils.sftp;

const S_IFDIR = 0o040000;
const S_IFREG = 0o100000;
/** Entries per READDIR answer: keeps each packet well under the 32 KiB SFTP packet limit. */
const READDIR_BATCH = 100;
/**
 * Open handles (files and directories) per SFTP session: OpenSSH's sftp-server allows 512 (its NFILES-based
 * handle table). Each open upload holds a file descriptor, and one session once opened 20,000 of them, taking
 * every descriptor of the process from all other clients.
 */
export const MAX_HANDLES_PER_SESSION = 512;
/**
 * Largest READ answered, as OpenSSH's sftp-server (SFTP_MAX_READ_LENGTH: its 256 KiB message limit less
 * 1 KiB, so the reply fits a client's largest packet); clients ask again for the rest. Without it a READ of
 * any length was allocated in full.
 */
export const MAX_READ_BYTES = 256 * 1024 - 1024;
const MONTHS = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"];

type Handle =
  | { kind: "write"; path: string; file: WriteHandle; size: number; mtime?: Date }
  | { kind: "read"; path: string; file: ObjectReader }
  | {
      kind: "dir";
      path: string;
      /** The folder's entries, a page at a time from the database (VirtualFs.listPages). */
      pages: AsyncIterator<VfsEntry[]>;
      /** Entries of the page read and not yet sent. */
      entries: FileEntry[];
      /** The READDIR being answered: each waits for the one before (they take entries in turn). */
      turn: Promise<unknown>;
    };

function attrs(e: VfsEntry): Attributes {
  const time = Math.floor(e.mtime.getTime() / 1000);
  const mode = e.type === "dir" ? S_IFDIR | 0o755 : S_IFREG | 0o644;
  return { mode, uid: 0, gid: 0, size: e.size, atime: time, mtime: time };
}

/** The `ls -l` line clients show (OpenSSH's sftp prints it for `ls -l`). */
function longname(e: VfsEntry): string {
  const d = e.mtime;
  const date = `${MONTHS[d.getUTCMonth()]} ${String(d.getUTCDate()).padStart(2)} ${String(d.getUTCHours()).padStart(2, "0")}:${String(d.getUTCMinutes()).padStart(2, "0")}`;
  const perms = e.type === "dir" ? "drwxr-xr-x" : "-rw-r--r--";
  return `${perms}    1 ferry    ferry    ${String(e.size).padStart(12)} ${date} ${e.name}`;
}

function entry(e: VfsEntry): FileEntry {
  return { filename: e.name, longname: longname(e), attrs: attrs(e) as FileEntry["attrs"] };
}

/** ssh2's SFTP server stream has no exit(); its channel and protocol objects do what is needed. */
function sendExitStatus(sftp: SFTPWrapper, status: number): void {
  const s = sftp as unknown as {
    _protocol?: { exitStatus(channel: number, status: number): void };
    outgoing?: { id: number; state: string };
  };
  if (s._protocol && s.outgoing && (s.outgoing.state === "open" || s.outgoing.state === "eof")) {
    s._protocol.exitStatus(s.outgoing.id, status);
  }
}

/** Handles a login may hold across all its sessions (a LoginGuard's count). */
export interface HandleBudget {
  take(): boolean;
  release(): void;
}

/**
 * Serves one SFTP channel. Every request is answered; errors become the matching SFTP status with a message
 * the client can show. Uploads still open when the channel ends are aborted: they never become Transfers.
 */
export function serveSftp(
  sftp: SFTPWrapper,
  vfs: VirtualFs,
  log: Logger,
  onActivity: () => void,
  budget: HandleBudget,
): void {
  const handles = new Map<number, Handle>();
  let nextHandle = 1;
  /** Handles open or being opened (an OPEN waits for the database before its handle exists). */
  let held = 0;

  /** Takes a handle slot for an OPEN/OPENDIR, or refuses it when this session or its login holds the most. */
  const reserve = (reqid: number): boolean => {
    const why =
      held >= MAX_HANDLES_PER_SESSION
        ? `Too many open files in this session (at most ${MAX_HANDLES_PER_SESSION}); close some first`
        : !budget.take()
          ? "Too many open files for this login across its sessions; close some first"
          : null;
    if (why) sftp.status(reqid, STATUS_CODE.FAILURE, why);
    else held++;
    return why === null;
  };
  const unreserve = () => {
    held--;
    budget.release();
  };
  const forget = (id: number) => {
    if (handles.delete(id)) unreserve();
  };

  let closed = false;
  /** Lets go of a handle's file: an open upload is aborted (it never becomes a Transfer). */
  const drop = (h: Handle) => {
    if (h.kind === "write") void h.file.abort().catch(() => {});
    else if (h.kind === "read") void h.file.close().catch(() => {});
    else void h.pages.return?.().catch(() => {});
  };

  const newHandle = (h: Handle): Buffer => {
    const id = nextHandle++;
    // An OPEN that finishes after the channel closed: nobody will close this handle.
    if (closed) {
      drop(h);
      unreserve();
    } else handles.set(id, h);
    const buf = Buffer.alloc(4);
    buf.writeUInt32BE(id);
    return buf;
  };
  const handleOf = (buf: Buffer): [number, Handle | undefined] => {
    const id = buf.length === 4 ? buf.readUInt32BE(0) : -1;
    return [id, handles.get(id)];
  };

  const fail = (reqid: number, err: unknown, op: string) => {
    if (err instanceof VfsError) {
      const code =
        err.code === "NO_SUCH_FILE"
          ? STATUS_CODE.NO_SUCH_FILE
          : err.code === "PERMISSION_DENIED"
            ? STATUS_CODE.PERMISSION_DENIED
            : err.code === "UNSUPPORTED"
              ? STATUS_CODE.OP_UNSUPPORTED
              : STATUS_CODE.FAILURE;
      sftp.status(reqid, code, err.message);
      return;
    }
    log.error({ err, op }, "sftp request failed");
    sftp.status(reqid, STATUS_CODE.FAILURE, "Internal error; the operation was not completed");
  };

  /** Runs a request handler; any error becomes a status. */
  const on = <A extends unknown[]>(event: string, handler: (reqid: number, ...args: A) => Promise<void>) => {
    sftp.on(
      event as "OPEN",
      ((reqid: number, ...args: A) => {
        onActivity();
        handler(reqid, ...args).catch((err) => fail(reqid, err, event));
      }) as never,
    );
  };

  on("OPEN", async (reqid, filename: string, flags: number) => {
    const path = normalisePath(filename);
    if (flags & OPEN_MODE.APPEND) {
      sftp.status(reqid, STATUS_CODE.OP_UNSUPPORTED, NO_RESUME);
      return;
    }
    if (!reserve(reqid)) return;
    try {
      if (flags & OPEN_MODE.WRITE) {
        const file = await vfs.openWrite(path, { inPlace: !(flags & OPEN_MODE.TRUNC) });
        sftp.handle(reqid, newHandle({ kind: "write", path, file, size: 0 }));
        return;
      }
      const file = await vfs.openRead(path);
      sftp.handle(reqid, newHandle({ kind: "read", path, file }));
    } catch (err) {
      unreserve();
      throw err;
    }
  });

  on("WRITE", async (reqid, handle: Buffer, offset: number, data: Buffer) => {
    const [, h] = handleOf(handle);
    if (h?.kind !== "write")
      return void sftp.status(reqid, STATUS_CODE.FAILURE, "Not a file open for writing");
    h.size = Math.max(h.size, offset + data.length);
    await h.file.write(data, offset);
    sftp.status(reqid, STATUS_CODE.OK);
  });

  on("READ", async (reqid, handle: Buffer, offset: number, length: number) => {
    const [, h] = handleOf(handle);
    if (h?.kind !== "read")
      return void sftp.status(reqid, STATUS_CODE.FAILURE, "Not a file open for reading");
    // sftp.data copies the bytes into its packet at once: they can be lent (no buffer per block).
    const send = (data: Buffer) => {
      if (data.length === 0) sftp.status(reqid, STATUS_CODE.EOF);
      else sftp.data(reqid, data);
    };
    const capped = Math.min(length, MAX_READ_BYTES);
    if (h.file.readWith) await h.file.readWith(offset, capped, send);
    else send(await h.file.read(offset, capped));
  });

  on("CLOSE", async (reqid, handle: Buffer) => {
    const [id, h] = handleOf(handle);
    if (!h) return void sftp.status(reqid, STATUS_CODE.FAILURE, "Unknown handle");
    forget(id);
    if (h.kind === "write") {
      // The durability point: the client hears OK only once the file is stored and recorded.
      const result = await h.file.close();
      if (h.mtime) await vfs.setModified(h.path, h.mtime);
      log.info({ path: h.path, ...result }, "upload received");
    } else if (h.kind === "read") {
      await h.file.close();
    } else await h.pages.return?.();
    sftp.status(reqid, STATUS_CODE.OK);
  });

  const statOf = async (reqid: number, path: string) => {
    sftp.attrs(reqid, attrs(await vfs.stat(path)));
  };
  on("STAT", (reqid, path: string) => statOf(reqid, path));
  on("LSTAT", (reqid, path: string) => statOf(reqid, path));
  on("FSTAT", async (reqid, handle: Buffer) => {
    const [, h] = handleOf(handle);
    if (!h) return void sftp.status(reqid, STATUS_CODE.FAILURE, "Unknown handle");
    if (h.kind === "write") {
      sftp.attrs(reqid, attrs({ name: "", type: "file", size: h.size, mtime: new Date() }));
    } else if (h.kind === "read") {
      sftp.attrs(reqid, attrs({ name: "", type: "file", size: h.file.size, mtime: new Date() }));
    } else await statOf(reqid, h.path);
  });
  // Modes mean nothing here; a modification time given to an upload is kept and listed (rclone compares it
  // to decide what to upload again; sftp -p and scp -p set it). FSETSTAT on an open upload applies at CLOSE.
  const mtimeOf = (a: Attributes | undefined) =>
    typeof a?.mtime === "number" && a.mtime > 0 ? new Date(a.mtime * 1000) : undefined;
  on("SETSTAT", async (reqid, path: string, a: Attributes) => {
    await vfs.stat(path);
    const mtime = mtimeOf(a);
    if (mtime) await vfs.setModified(path, mtime);
    sftp.status(reqid, STATUS_CODE.OK);
  });
  on("FSETSTAT", async (reqid, handle: Buffer, a: Attributes) => {
    const [, h] = handleOf(handle);
    if (h?.kind === "write") h.mtime = mtimeOf(a) ?? h.mtime;
    sftp.status(reqid, h ? STATUS_CODE.OK : STATUS_CODE.FAILURE);
  });

  // A folder is read from the database a page at a time as READDIRs come (each answers READDIR_BATCH
  // entries): any number of files, nothing left out, in constant memory.
  on("OPENDIR", async (reqid, dirPath: string) => {
    const path = normalisePath(dirPath);
    if (!reserve(reqid)) return;
    try {
      // Pages of one READDIR answer: an open folder holds at most that many entries (handles are capped, and
      // a client holding many open folders holds little).
      const pages = vfs.listPages(path, READDIR_BATCH);
      const first = await pages.next(); // a path that is no folder fails here, at OPENDIR
      const self = await vfs.stat(path);
      const entries = [{ ...self, name: "." }, { ...self, name: ".." }, ...(first.value ?? [])].map(entry);
      sftp.handle(reqid, newHandle({ kind: "dir", path, pages, entries, turn: Promise.resolve() }));
    } catch (err) {
      unreserve();
      throw err;
    }
  });
  on("READDIR", async (reqid, handle: Buffer) => {
    const [, h] = handleOf(handle);
    if (h?.kind !== "dir") return void sftp.status(reqid, STATUS_CODE.FAILURE, "Not a directory handle");
    const answer = h.turn.then(async () => {
      if (h.entries.length === 0) {
        const next = await h.pages.next();
        if (!next.done) h.entries = next.value.map(entry);
      }
      if (h.entries.length === 0) return void sftp.status(reqid, STATUS_CODE.EOF);
      sftp.name(reqid, h.entries.splice(0, READDIR_BATCH));
    });
    h.turn = answer.catch(() => {});
    await answer;
  });

  on("REALPATH", async (reqid, path: string) => {
    const p = normalisePath(path);
    sftp.name(reqid, [{ filename: p, longname: p, attrs: {} as FileEntry["attrs"] }]);
  });
  on("REMOVE", async (reqid, path: string) => {
    await vfs.remove(path);
    sftp.status(reqid, STATUS_CODE.OK);
  });
  on("RENAME", async (reqid, from: string, to: string) => {
    const result = await vfs.rename(from, to);
    if (result) log.info({ from, to, ...result }, "upload received by rename");
    sftp.status(reqid, STATUS_CODE.OK);
  });
  // OpenSSH's extensions: posix-rename (a rename that replaces the target, which RENAME here does anyway:
  // rclone and paramiko send it); fsync (durability is the CLOSE here: nothing to do). Others are refused
  // with their name (ssh2 answered them with an empty message).
  on("EXTENDED", async (reqid, name: string, data: Buffer | undefined) => {
    if (name === "posix-rename@openssh.com") {
      const [from, to] = sshStrings(data, 2);
      if (from === undefined || to === undefined)
        return void sftp.status(reqid, STATUS_CODE.BAD_MESSAGE, "posix-rename needs two paths");
      const result = await vfs.rename(from, to);
      if (result) log.info({ from, to, ...result }, "upload received by rename");
      return void sftp.status(reqid, STATUS_CODE.OK);
    }
    if (name === "fsync@openssh.com") return void sftp.status(reqid, STATUS_CODE.OK);
    sftp.status(reqid, STATUS_CODE.OP_UNSUPPORTED, `The extension ${name} is not supported here`);
  });
  on("MKDIR", async (_reqid, path: string) => vfs.mkdir(path));
  on("RMDIR", async (_reqid, path: string) => vfs.rmdir(path));
  on(
    "READLINK",
    async (reqid) => void sftp.status(reqid, STATUS_CODE.NO_SUCH_FILE, "There are no links here"),
  );
  on(
    "SYMLINK",
    async (reqid) => void sftp.status(reqid, STATUS_CODE.PERMISSION_DENIED, "Links cannot be made here"),
  );

  // The client sent EOF (it quit): answer as sshd does when sftp-server exits — exit-status 0, then close
  // (RFC 4254 §6.10, §5.3). Without exit-status, OpenSSH reports "Exit status -1" and scp fails.
  sftp.on("end", () => {
    sendExitStatus(sftp, 0);
    sftp.end();
  });

  // A channel that ends with uploads open (client killed, network lost) leaves nothing behind.
  sftp.on("close", () => {
    closed = true;
    for (const [id, h] of handles) {
      drop(h);
      forget(id);
    }
  });
}

/** The first `count` SSH strings (uint32 length, then UTF-8 bytes) of an extension's data. */
function sshStrings(data: Buffer | undefined, count: number): (string | undefined)[] {
  const out: (string | undefined)[] = [];
  let at = 0;
  for (let i = 0; i < count; i++) {
    if (!data || at + 4 > data.length) return [...out, undefined];
    const length = data.readUInt32BE(at);
    if (at + 4 + length > data.length) return [...out, undefined];
    out.push(data.toString("utf8", at + 4, at + 4 + length));
    at += 4 + length;
  }
  return out;
}
