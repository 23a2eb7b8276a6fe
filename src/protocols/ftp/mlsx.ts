/**
 * MLST (RFC 3659): one entry's type, size and modification time (MLSD: listing.ts); MDTM reads the time,
 * MFMT sets it.
 */
import { messageOf } from "../../thrown.js";
import type { FtpSession } from "./session.js";

/** A time as RFC 3659 writes it: YYYYMMDDHHMMSS, in UTC. */
const modifyText = (mtime: Date) => mtime.toISOString().replace(/[-:T]/g, "").slice(0, 14);

/** RFC 3659 facts of one entry: type, size, modify (UTC, YYYYMMDDHHMMSS), then a space and the name. */
export function facts(
  stat: { name: string; size: number; mtime: Date; isDirectory(): boolean },
  name: string,
): string {
  const type = stat.isDirectory() ? "dir" : "file";
  return `type=${type};size=${stat.size};modify=${modifyText(stat.mtime)}; ${name}`;
}

/** MLST: one entry's facts, on the control connection. */
export async function mlst(session: FtpSession, arg: string): Promise<void> {
  const path = arg || ".";
  try {
    const stat = await session.fs!.get(path);
    await session.reply(250, `Listing ${path}`, ` ${facts(stat, path)}`, "End");
  } catch (err) {
    await session.reply(550, messageOf(err));
  }
}

const TIME = /^(\d{4})(\d\d)(\d\d)(\d\d)(\d\d)(\d\d)(?:\.\d+)?$/;

/** "YYYYMMDDHHMMSS[.sss]" in UTC as a Date, or null. */
function parseTime(text: string): Date | null {
  const m = TIME.exec(text);
  if (!m) return null;
  const [, y, mo, d, h, mi, s] = m.map(Number);
  const date = new Date(Date.UTC(y!, mo! - 1, d!, h!, mi!, s!));
  return Number.isNaN(date.getTime()) ? null : date;
}

/** MFMT (draft-somers-ftp-mfxx): "MFMT YYYYMMDDHHMMSS path", the time in UTC. */
export async function mfmt(session: FtpSession, arg: string): Promise<void> {
  const space = arg.indexOf(" ");
  const mtime = space > 0 ? parseTime(arg.slice(0, space)) : null;
  if (!mtime) return session.reply(501, "Use MFMT YYYYMMDDHHMMSS <path>");
  const path = arg.slice(space + 1);
  try {
    await session.fs!.setModified(path, mtime);
    await session.reply(213, `Modify=${modifyText(mtime)}; ${path}`);
  } catch (err) {
    await session.reply(550, messageOf(err));
  }
}

/** MDTM (RFC 3659): a file's modification time; "MDTM YYYYMMDDHHMMSS path" sets it, as some clients send. */
export async function mdtm(session: FtpSession, arg: string): Promise<void> {
  const space = arg.indexOf(" ");
  if (space > 0 && parseTime(arg.slice(0, space))) return mfmt(session, arg);
  try {
    const stat = await session.fs!.get(arg);
    if (stat.isDirectory()) return await session.reply(550, `Not a file: ${arg}`);
    await session.reply(213, modifyText(stat.mtime));
  } catch (err) {
    await session.reply(550, messageOf(err));
  }
}
