/**
 * LIST, NLST and MLSD (RFC 959, RFC 3659): a folder's entries are read from the database a page at a time
 * and written to the data connection as they come, waiting while the client reads slowly, so a folder of any
 * size is listed in full in constant memory.
 */

import type net from "node:net";
import { messageOf } from "../../thrown.js";
import type { FtpStat } from "./filesystem.js";
import { facts } from "./mlsx.js";
import type { FtpSession } from "./session.js";
import { dataConnection } from "./transfers.js";

const MONTHS = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"];
const HALF_YEAR_MS = 182 * 24 * 3600 * 1000;

/**
 * The `ls -l` line of LIST (clients parse it): the time of day for the last half year,
 * the year for older entries (times in UTC).
 */
export function lsLine(e: FtpStat, now = Date.now()): string {
  const m = e.mtime;
  const day = `${MONTHS[m.getUTCMonth()]} ${String(m.getUTCDate()).padStart(2, "0")}`;
  const when =
    now - m.getTime() < HALF_YEAR_MS
      ? `${day} ${String(m.getUTCHours()).padStart(2, "0")}:${String(m.getUTCMinutes()).padStart(2, "0")}`
      : `${day}  ${m.getUTCFullYear()}`;
  const perms = e.isDirectory() ? "drwxr-xr-x" : "-rw-r--r--";
  return `${perms} 1 1 1 ${String(e.size).padStart(12)} ${when.padStart(12)} ${e.name}`;
}

type Format = "LIST" | "NLST" | "MLSD";
const line: Record<Format, (e: FtpStat) => string> = {
  LIST: (e) => lsLine(e),
  NLST: (e) => e.name,
  MLSD: (e) => facts(e, e.name),
};

/**
 * Writes to the data connection, waiting while the client has not read what was sent (a client that reads
 * nothing for the idle timeout has its data connection cut: dataConnection).
 */
function send(socket: net.Socket, text: string): Promise<void> {
  if (socket.destroyed) return Promise.reject(new Error("the data connection closed"));
  if (socket.write(text)) return Promise.resolve();
  return new Promise((resolve, reject) => {
    const done = (err?: Error) => {
      socket.off("drain", done);
      socket.off("close", closed);
      socket.off("error", done);
      if (err) reject(err);
      else resolve();
    };
    const closed = () => done(new Error("the data connection closed"));
    socket.on("drain", done);
    socket.on("close", closed);
    socket.on("error", done);
  });
}

/** ls options ("LIST -la dir": lftp's `ls -la`) are not a path: dropped. */
const withoutOptions = (arg: string | null | undefined) =>
  (arg ?? "").replace(/^(\s*-[A-Za-z]+)+\s*/, "") || ".";

/** LIST, NLST and MLSD. */
export async function listing(session: FtpSession, arg: string, directive: string): Promise<void> {
  const format = directive as Format;
  const path = format === "MLSD" ? arg || "." : withoutOptions(arg);
  const fs = session.fs!;
  try {
    const socket = await dataConnection(session);
    if (!socket) return;
    // The first page is read before "150": a path that is no folder, or a database that cannot answer,
    // gets its reply on the control connection.
    let pages: AsyncIterator<FtpStat[]> | null = null;
    let first: FtpStat[];
    try {
      const stat: FtpStat = await fs.get(path);
      if (stat.isDirectory()) {
        pages = fs.listPages(path) as AsyncIterator<FtpStat[]>;
        first = (await pages.next()).value ?? [];
      } else if (format === "MLSD") {
        return await session.reply(501, `Not a folder: ${path} (use MLST for a file)`);
      } else first = [stat];
    } catch (err) {
      return await session.reply(550, messageOf(err));
    }
    await session.reply(150, "Sending the listing");
    try {
      for (let page = first; ; ) {
        if (page.length > 0) {
          await send(socket, page.map((e) => `${line[format](e)}\r\n`).join(""));
        }
        const next = pages ? await pages.next() : { done: true as const };
        if (next.done) break;
        page = next.value;
      }
    } catch (err) {
      await pages?.return?.(undefined).catch(() => {});
      if (socket.destroyed) throw err; // the client went: 426 below
      socket.destroy();
      return await session.reply(451, `Listing aborted: ${messageOf(err)}`);
    }
    await new Promise<void>((resolve, reject) => {
      socket.once("error", reject);
      socket.end(() => resolve());
    });
    return await session.reply(226, "Listing sent");
  } catch (err) {
    return await session.reply(426, `Connection closed; listing aborted (${messageOf(err)})`);
  } finally {
    session.transferDone();
  }
}
