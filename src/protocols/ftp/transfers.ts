/**
 * FTP's file transfers, replacing ftp-srv's STOR/APPE/STOU and RETR (installed by ftp-srv-fixes.ts): an upload
 * is kept only when its data connection ended in order (data-tls.ts tells a TLS close from a cut), and each
 * outcome gets the reply RFC 959 gives it (226, 426 for a cut connection, 550 for what the file system refused).
 */

import type net from "node:net";
import { messageOf } from "../../thrown.js";
import { VfsError } from "../vfs.js";
import { tcpOf, uploadEnd } from "./data-tls.js";

// biome-ignore lint/suspicious/noExplicitAny: ftp-srv's connection objects are untyped CommonJS.
export type FtpConnection = any;

/**
 * The command's data connection, the control connection paused meanwhile; null once 425 was answered. While
 * the data moves, the idle timeout watches the data connection instead of the control connection (silent
 * during a transfer, as RFC 959 has it): a transfer longer than the idle timeout goes on as long as bytes
 * move, and one where nothing moved for that long is cut (vsftpd's data_connection_timeout). transferDone
 * gives the control connection its timeout back.
 */
export async function dataConnection(connection: FtpConnection): Promise<net.Socket | null> {
  try {
    const socket: net.Socket = await connection.connector.waitForConnection();
    connection.commandSocket.pause();
    const idleMs: number = connection.server.options.timeout;
    if (idleMs > 0) {
      controlSocket(connection).setTimeout(0);
      cutWhenIdle(socket, idleMs);
    }
    return socket;
  } catch {
    await connection.reply(425, "No connection established");
    return null;
  }
}

/**
 * Cuts a data connection over which no byte moved either way for `idleMs`, counted on its TCP socket (under
 * TLS a socket's own timeout is not told about writes that wait for the client).
 */
function cutWhenIdle(socket: net.Socket, idleMs: number): void {
  const tcp = tcpOf(socket);
  let moved = tcp.bytesRead + tcp.bytesWritten;
  let since = Date.now();
  const check = setInterval(
    () => {
      const now = tcp.bytesRead + tcp.bytesWritten;
      if (now !== moved) {
        moved = now;
        since = Date.now();
      } else if (Date.now() - since >= idleMs) {
        clearInterval(check);
        const err = new Error(`no data moved for ${Math.round(idleMs / 1000)} s`);
        socket.destroy(err);
        tcp.destroy();
      }
    },
    Math.min(1000, idleMs / 4),
  );
  check.unref();
  socket.once("close", () => clearInterval(check));
  tcp.once("close", () => clearInterval(check));
}

/** After a data command: its data connection closed, the control connection read and timed again. */
export function transferDone(connection: FtpConnection): void {
  connection.connector.end();
  connection.commandSocket.resume();
  const idleMs: number = connection.server.options.timeout;
  const control = controlSocket(connection);
  if (idleMs > 0 && !control.destroyed) control.setTimeout(idleMs);
}

/** The TCP socket of the control connection, which carries its idle timeout (under TLS after AUTH TLS). */
const controlSocket = (connection: FtpConnection): net.Socket =>
  connection.ferryPlainSocket ?? connection.commandSocket;

/** Thrown when the data connection of an upload ended without the client's TLS close, or was reset. */
class TransferAborted extends Error {}

/**
 * STOR and APPE: the file system's upload stream gets the data connection's bytes; it is ended (committed)
 * only when the data connection ended in order, and destroyed (discarded) otherwise. 226 comes after the
 * commit, 426 after a cut connection, 550 for what the file system refused.
 */
export async function store(
  this: FtpConnection,
  args: { log?: unknown; command?: { arg?: string | null; directive?: string } },
) {
  if (!this.fs) return this.reply(550, "File system not instantiated");
  const append = args.command?.directive === "APPE";
  try {
    const socket = await dataConnection(this);
    if (!socket) return;
    const { stream, clientPath } = await this.fs.write(args.command?.arg ?? "", {
      append,
      start: this.restByteCount,
    });
    this.restByteCount = 0;
    const received = new Promise<void>((resolve, reject) => {
      stream.once("finish", resolve);
      stream.once("error", reject);
      const cut = (err?: Error) => {
        socket.unpipe(stream);
        stream.destroy();
        reject(new TransferAborted(err?.message ?? "data connection closed without a TLS close"));
      };
      socket.once("error", cut);
      socket.once("end", () => {
        if (uploadEnd(socket) === "cut") cut();
        else stream.end();
      });
      socket.pipe(stream, { end: false });
    });
    // A failure before the reply below is seen when awaited; keep it from being reported as unhandled.
    received.catch(() => {});
    await this.reply(150);
    socket.resume();
    await received;
    await this.reply(226, clientPath);
  } catch (err) {
    if (err instanceof TransferAborted) {
      await this.reply(426, "Connection closed; transfer aborted, the file was not kept");
    } else if (err instanceof VfsError && err.code === "QUOTA_EXCEEDED") {
      // RFC 959: "552 Requested file action aborted. Exceeded storage allocation."
      await this.reply(552, messageOf(err));
    } else {
      await this.reply(550, messageOf(err));
    }
  } finally {
    transferDone(this);
  }
}

/**
 * RETR: the file system's read stream to the data connection, each chunk written before the next is taken
 * (the stream may lend its buffers). 226 once all is written, 426 when the client closed the data connection
 * first, 550 when the file cannot be opened.
 */
export async function retrieve(this: FtpConnection, args: { command?: { arg?: string | null } }) {
  if (!this.fs) return this.reply(550, "File system not instantiated");
  try {
    const socket = await dataConnection(this);
    if (!socket) return;
    let opened: { stream: NodeJS.ReadableStream & { destroy(): void }; clientPath: string };
    try {
      opened = await this.fs.read(args.command?.arg ?? "", { start: this.restByteCount });
    } catch (err) {
      return await this.reply(550, messageOf(err));
    } finally {
      this.restByteCount = 0;
    }
    const { stream, clientPath } = opened;
    const sent = new Promise<void>((resolve, reject) => {
      const cut = (err?: Error) => {
        stream.destroy();
        reject(new TransferAborted(err?.message ?? "data connection closed"));
      };
      socket.once("error", cut);
      socket.once("close", () => cut());
      stream.on("data", (chunk: Buffer) => {
        stream.pause();
        socket.write(chunk, () => stream.resume());
      });
      stream.once("end", () => {
        socket.off("close", cut);
        resolve();
      });
      stream.once("error", reject);
    });
    sent.catch(() => {});
    await this.reply(150);
    stream.resume();
    socket.resume();
    await sent;
    await this.reply(226, clientPath);
  } catch (err) {
    if (err instanceof TransferAborted) await this.reply(426, "Connection closed; transfer aborted");
    else await this.reply(551, messageOf(err));
  } finally {
    transferDone(this);
  }
}
