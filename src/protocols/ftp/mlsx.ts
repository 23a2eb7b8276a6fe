/** MLST and MLSD (RFC 3659): machine-readable listings with type, size and modification time; MFMT sets it. */
import { dataConnection, type FtpConnection } from "./transfers.js";

/** RFC 3659 facts of one entry: type, size, modify (UTC, YYYYMMDDHHMMSS), then a space and the name. */
function facts(
  stat: { name: string; size: number; mtime: Date; isDirectory(): boolean },
  name: string,
): string {
  const modify = stat.mtime.toISOString().replace(/[-:T]/g, "").slice(0, 14);
  const type = stat.isDirectory() ? "dir" : "file";
  return `type=${type};size=${stat.size};modify=${modify}; ${name}`;
}

/** MLST (one entry, on the control connection) and MLSD (a folder's entries, on the data connection). */
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
          return await this.reply(550, (err as Error).message);
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
          return await this.reply(550, (err as Error).message);
        }
      },
      syntax: "{{cmd}} YYYYMMDDHHMMSS <path>",
      description: "Set a file's modification time",
      flags: { feat: "MFMT" },
    },
    MLSD: {
      directive: "MLSD",
      async handler(this: FtpConnection, args: { command?: { arg?: string | null } }) {
        const path = args.command?.arg || ".";
        try {
          const socket = await dataConnection(this);
          if (!socket) return;
          let lines: string[];
          try {
            const stat = await this.fs.get(path);
            if (!stat.isDirectory())
              return await this.reply(501, `Not a folder: ${path} (use MLST for a file)`);
            lines = (await this.fs.list(path)).map(
              (e: { name: string; size: number; mtime: Date; isDirectory(): boolean }) =>
                `${facts(e, e.name)}\r\n`,
            );
          } catch (err) {
            return await this.reply(550, (err as Error).message);
          }
          await this.reply(150);
          await new Promise<void>((resolve, reject) => {
            socket.once("error", reject);
            socket.end(lines.join(""), () => resolve());
          });
          return await this.reply(226, "Listing sent");
        } catch (err) {
          return await this.reply(426, `Connection closed; listing aborted (${(err as Error).message})`);
        } finally {
          this.connector.end();
          this.commandSocket.resume();
        }
      },
      syntax: "{{cmd}} [<path>]",
      description: "Entries of a folder with their facts (RFC 3659)",
      flags: { feat: FEAT },
    },
  };
}
