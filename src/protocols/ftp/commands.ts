/**
 * The FTP commands Ferry answers: RFC 959's, with AUTH/PBSZ/PROT (RFC 2228, 4217), EPSV/EPRT (RFC 2428),
 * SIZE/MDTM/REST/MLST/MLSD (RFC 3659), FEAT/OPTS (RFC 2389), MFMT, and the X… aliases older clients send.
 * Transfers are in transfers.ts, listings in listing.ts and mlsx.ts. Anything else: 502.
 */
import net from "node:net";
import { messageOf } from "../../thrown.js";
import { VfsError } from "../vfs.js";
import { listing, lsLine } from "./listing.js";
import { mdtm, mfmt, mlst } from "./mlsx.js";
import type { FtpCommand, FtpSession } from "./session.js";
import { retrieve, store } from "./transfers.js";

/** FEAT's answer (RFC 2389): one feature a line, each after a space. */
const FEATURES = [
  "AUTH TLS",
  "PBSZ",
  "PROT",
  "EPSV",
  "SIZE",
  "MDTM",
  "MFMT",
  "REST STREAM",
  "MLST type*;size*;modify*;",
  "TVFS",
  "UTF8",
];

/** A path inside a 257 reply, its quotes doubled (RFC 959 appendix II). */
const quoted = (p: string) => `"${p.replaceAll('"', '""')}"`;

const simple = (code: number, text: string): FtpCommand => ({
  beforeLogin: true,
  handler: (s) => s.reply(code, text),
});

/**
 * Runs a file-system action, answering 550 with the reason the file system gave; anything else (the database
 * down…) goes to the session, which answers without telling internals.
 */
async function fsAction(s: FtpSession, action: () => Promise<void>): Promise<void> {
  try {
    await action();
  } catch (err) {
    if (!(err instanceof VfsError)) throw err;
    await s.reply(550, messageOf(err));
  }
}

async function passive(s: FtpSession, extended: boolean): Promise<void> {
  const port = await s.data.listenPassive(s.protectData);
  if (port === null) return s.reply(425, "No passive port is free right now; try again shortly");
  if (extended) return s.reply(229, `Entering Extended Passive Mode (|||${port}|)`);
  const address = s.options.passiveAddress;
  if (!net.isIPv4(address)) {
    return s.reply(425, "PASV needs an IPv4 address; use EPSV");
  }
  const [high, low] = [Math.floor(port / 256), port % 256];
  return s.reply(227, `Entering Passive Mode (${address.replaceAll(".", ",")},${high},${low})`);
}

/** The address of PORT ("h1,h2,h3,h4,p1,p2") or EPRT ("|1|ip|port|", any delimiter), or null. */
export function activeTarget(directive: string, arg: string): { host: string; port: number } | null {
  let host: string | undefined;
  let port: number | undefined;
  const text = arg.trim();
  if (directive === "PORT") {
    const n = /^(\d{1,3}),(\d{1,3}),(\d{1,3}),(\d{1,3}),(\d{1,3}),(\d{1,3})$/
      .exec(text)
      ?.slice(1)
      .map(Number);
    if (n?.every((x) => x <= 255)) {
      host = n.slice(0, 4).join(".");
      port = n[4]! * 256 + n[5]!;
    }
  } else {
    const parts = text.split(text[0] ?? "|");
    if (
      parts.length === 5 &&
      ((parts[1] === "1" && net.isIPv4(parts[2]!)) || (parts[1] === "2" && net.isIPv6(parts[2]!)))
    ) {
      host = parts[2];
      port = /^\d{1,5}$/.test(parts[3]!) ? Number(parts[3]) : undefined;
    }
  }
  if (!host || !port || port > 65535 || !net.isIP(host)) return null;
  return { host, port };
}

/**
 * PORT/EPRT, when active mode is on: Ferry will connect to the client — to the control connection's own
 * address only, never to another host (the "FTP bounce" of RFC 2577).
 */
async function active(s: FtpSession, arg: string, directive: string): Promise<void> {
  if (!s.options.activeMode) {
    return s.reply(502, "Active mode (PORT/EPRT) is off on this server: use passive mode (PASV/EPSV)");
  }
  const target = activeTarget(directive, arg);
  if (!target) return s.reply(501, `${directive}: cannot read the address`);
  const { host, port } = target;
  if (host.replace(/^::ffff:/, "") !== s.clientIp) {
    return s.reply(504, `${directive}: data connections go to your own address only (${s.clientIp})`);
  }
  s.data.setActive(host, port);
  return s.reply(200, `${directive} command successful`);
}

const pwd: FtpCommand = {
  handler: (s) => s.reply(257, `${quoted(s.fs!.currentDirectory())} is the current folder`),
};
const cwd: FtpCommand = {
  handler: (s, arg) =>
    fsAction(s, async () => s.reply(250, `Folder is now ${await s.fs!.chdir(arg || "/")}`)),
};
const cdup: FtpCommand = {
  handler: (s) => fsAction(s, async () => s.reply(250, `Folder is now ${await s.fs!.chdir("..")}`)),
};
const mkd: FtpCommand = {
  handler: (s, arg) => fsAction(s, async () => s.reply(257, `${quoted(await s.fs!.mkdir(arg))} created`)),
};
const rmd: FtpCommand = {
  handler: (s, arg) =>
    fsAction(s, async () => {
      await s.fs!.removeFolder(arg);
      await s.reply(250, "Folder removed");
    }),
};

export const commands: Record<string, FtpCommand> = {
  USER: {
    beforeLogin: true,
    async handler(s, arg) {
      if (s.loggedIn) return s.reply(503, "Already logged in");
      if (s.options.requireTls && !s.secure) {
        return s.reply(530, "TLS is required: send AUTH TLS before USER (FTPS, e.g. curl --ssl-reqd)");
      }
      if (!arg) return s.reply(501, "USER needs a name");
      s.user = arg;
      return s.reply(331, "Password required");
    },
  },
  PASS: {
    beforeLogin: true,
    handler: (s, arg) => (s.loggedIn ? s.reply(503, "Already logged in") : s.login(arg)),
  },
  AUTH: {
    beforeLogin: true,
    async handler(s, arg) {
      const mechanism = arg.trim().toUpperCase();
      if (mechanism !== "TLS" && mechanism !== "SSL" && mechanism !== "TLS-C") {
        return s.reply(504, `AUTH ${mechanism}: only AUTH TLS is supported`);
      }
      if (s.secure) return s.reply(503, "TLS is already on");
      if (s.loggedIn) return s.reply(503, "Send AUTH TLS before logging in");
      return s.startTls();
    },
  },
  PBSZ: {
    beforeLogin: true,
    async handler(s) {
      if (!s.secure) return s.reply(503, "PBSZ comes after AUTH TLS");
      s.pbszSent = true;
      return s.reply(200, "PBSZ=0");
    },
  },
  PROT: {
    beforeLogin: true,
    async handler(s, arg) {
      if (!s.secure) return s.reply(503, "PROT comes after AUTH TLS");
      const level = arg.trim().toUpperCase();
      if (level === "P" || level === "C") {
        s.protectData = level === "P";
        return s.reply(200, `Protection level set to ${level}`);
      }
      return s.reply(536, `Protection level ${level} is not supported: use P (or C)`);
    },
  },
  CCC: simple(534, "The control connection stays protected"),
  FEAT: {
    beforeLogin: true,
    handler: (s) => s.reply(211, "Features:", ...FEATURES.map((f) => ` ${f}`), "End"),
  },
  OPTS: {
    beforeLogin: true,
    async handler(s, arg) {
      const [name, value] = arg.trim().toUpperCase().split(/\s+/);
      if (name === "UTF8" || name === "UTF-8")
        return s.reply(200, `UTF8 ${value === "OFF" ? "off (names stay UTF-8)" : "on"}`);
      if (name === "MLST") return s.reply(200, "MLST OPTS type;size;modify;");
      return s.reply(501, `OPTS ${name ?? ""}: not an option of this server`.trim());
    },
  },
  SYST: simple(215, "UNIX Type: L8"),
  NOOP: simple(200, "OK"),
  CLNT: simple(200, "Noted"),
  HELP: simple(214, "Commands: see FEAT; files go in /<connection folder>/inbox, results come from outbox"),
  QUIT: { beforeLogin: true, handler: (s) => s.closeWith(221, "Goodbye") },
  STAT: {
    beforeLogin: true,
    async handler(s, arg) {
      if (!arg || !s.fs) {
        const state = s.fs ? `logged in, folder ${s.fs.currentDirectory()}` : "not logged in";
        return s.reply(
          211,
          "Ferry FTP server status:",
          ` ${state}; TLS ${s.secure ? "on" : "off"}`,
          "End of status",
        );
      }
      const fs = s.fs;
      return fsAction(s, async () => {
        const stat = await fs.get(arg);
        const entries = stat.isDirectory() ? ((await fs.listPages(arg).next()).value ?? []) : [stat];
        await s.reply(213, `Status of ${arg}:`, ...entries.map((e) => ` ${lsLine(e)}`), "End of status");
      });
    },
  },
  TYPE: {
    async handler(s, arg) {
      const type = arg.trim().toUpperCase();
      if (/^(A|A N|I|L 8)$/.test(type)) return s.reply(200, `Type set to ${type} (files move byte for byte)`);
      return s.reply(504, `Type ${type} is not supported: use I`);
    },
  },
  MODE: {
    handler: (s, arg) =>
      arg.trim().toUpperCase() === "S" ? s.reply(200, "Mode S") : s.reply(504, "Only stream mode (S)"),
  },
  STRU: {
    handler: (s, arg) =>
      arg.trim().toUpperCase() === "F"
        ? s.reply(200, "Structure F")
        : s.reply(504, "Only file structure (F)"),
  },
  ALLO: simple(202, "No storage allocation needed"),
  ACCT: simple(202, "No account needed"),
  PWD: pwd,
  XPWD: pwd,
  CWD: cwd,
  XCWD: cwd,
  CDUP: cdup,
  XCUP: cdup,
  MKD: mkd,
  XMKD: mkd,
  RMD: rmd,
  XRMD: rmd,
  DELE: {
    handler: (s, arg) =>
      fsAction(s, async () => {
        await s.fs!.delete(arg);
        await s.reply(250, "File deleted");
      }),
  },
  RNFR: {
    handler: (s, arg) =>
      fsAction(s, async () => {
        await s.fs!.get(arg);
        s.renameFrom = arg;
        await s.reply(350, "Ready for RNTO");
      }),
  },
  RNTO: {
    async handler(s, arg) {
      const from = s.renameFrom;
      s.renameFrom = null;
      if (from === null) return s.reply(503, "Send RNFR first");
      return fsAction(s, async () => {
        await s.fs!.rename(from, arg);
        await s.reply(250, "Renamed");
      });
    },
  },
  SIZE: {
    handler: (s, arg) =>
      fsAction(s, async () => {
        const stat = await s.fs!.get(arg);
        if (stat.isDirectory()) return s.reply(550, `Not a file: ${arg}`);
        await s.reply(213, String(stat.size));
      }),
  },
  MDTM: { handler: mdtm },
  MFMT: { handler: mfmt },
  MLST: { handler: mlst },
  SITE: {
    async handler(s, arg) {
      const verb = arg.trim().split(/\s+/)[0]!.toUpperCase();
      // lftp sends SITE CHMOD after each upload: permissions mean nothing here.
      if (verb === "CHMOD") return s.reply(200, "SITE CHMOD ignored: permissions have no meaning here");
      return s.reply(502, `SITE ${verb} is not implemented`.trim());
    },
  },
  REST: {
    async handler(s, arg) {
      if (!/^\d{1,15}$/.test(arg.trim())) return s.reply(501, "REST needs a byte offset");
      s.restOffset = Number(arg.trim());
      return s.reply(350, `Restarting at ${s.restOffset}; send RETR`);
    },
  },
  ABOR: { handler: (s) => s.reply(225, "No transfer to abort") },
  PASV: { handler: (s) => passive(s, false) },
  EPSV: {
    handler: (s, arg) =>
      arg.trim().toUpperCase() === "ALL" ? s.reply(200, "EPSV ALL: only EPSV from now on") : passive(s, true),
  },
  PORT: { handler: active },
  EPRT: { handler: active },
  STOR: { handler: store },
  APPE: { handler: store },
  STOU: { handler: store },
  RETR: { handler: retrieve },
  LIST: { handler: listing },
  NLST: { handler: listing },
  MLSD: { handler: listing },
};
