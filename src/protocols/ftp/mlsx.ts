/** MLST (RFC 3659): one entry's type, size and modification time (MLSD: listing.ts); MFMT sets the time. */
import { messageOf } from "../../thrown.js";
import type { FtpConnection } from "./transfers.js";

/** RFC 3659 facts of one entry: type, size, modify (UTC, YYYYMMDDHHMMSS), then a space and the name. */
export function facts(
  stat: { name: string; size: number; mtime: Date; isDirectory(): boolean },
  name: string,
): string {
  const modify = stat.mtime.toISOString().replace(/[-:T]/g, "").slice(0, 14);
  const type = stat.isDirectory() ? "dir" : "file";
  return `type=${type};size=${stat.size};modify=${modify}; ${name}`;
}

/** MLST (one entry, on the control connection) and MFMT. */
export function mlsxCommands() {
  const FEAT = "MLST type*;size*;modify*;";
  return {
    MLST: {
      directive: "MLST",
      async handler(this: FtpConnection, args: { command?: { arg?: string | null } }) {
        const path = args.command?.arg || ".";
        try {
          const stat = await this.fs.get(path);
          return await this.reply(
            250,
            `Listing ${path}`,
            { message: ` ${facts(stat, path)}`, raw: true },
            "End",
          );
        } catch (err) {
          return await this.reply(550, messageOf(err));
        }
      },
      syntax: "{{cmd}} [<path>]",
      description: "Facts of one file or folder (RFC 3659)",
      flags: { feat: FEAT },
    },
    // MFMT (draft-somers-ftp-mfxx): "MFMT YYYYMMDDHHMMSS path", the time in UTC.
    MFMT: {
      directive: "MFMT",
      async handler(this: FtpConnection, args: { command?: { arg?: string | null } }) {
        const m = /^(\d{4})(\d\d)(\d\d)(\d\d)(\d\d)(\d\d)(?:\.\d+)? (.+)$/.exec(args.command?.arg ?? "");
        if (!m) return this.reply(501, "Use MFMT YYYYMMDDHHMMSS <path>");
        const [, y, mo, d, h, mi, s, path] = m;
        const mtime = new Date(Date.UTC(+y!, +mo! - 1, +d!, +h!, +mi!, +s!));
        try {
          await this.fs.setModified(path, mtime);
          return await this.reply(213, `Modify=${args.command!.arg!.split(" ")[0]}; ${path}`);
        } catch (err) {
          return await this.reply(550, messageOf(err));
        }
      },
      syntax: "{{cmd}} YYYYMMDDHHMMSS <path>",
      description: "Set a file's modification time",
      flags: { feat: "MFMT" },
    },
  };
}
