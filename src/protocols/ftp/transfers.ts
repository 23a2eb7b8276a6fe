/**
 * FTP's file transfers, STOR/APPE/STOU and RETR: an upload
 * is kept only when its data connection ended in order (data-tls.ts tells a TLS close from a cut), and each
 * outcome gets the reply RFC 959 gives it (226, 426 for a cut connection, 550 for what the file system refused).
 */

import type net from "node:net";
import { messageOf } from "../../thrown.js";
import { VfsError } from "../vfs.js";
import { tcpOf, uploadEnd } from "./data-tls.js";
import type { FtpSession } from "./session.js";

/**
 * The command's data connection; null once 425 was answered. While the data moves, the idle timeout
 * watches the data connection instead of the control connection (silent during a transfer, as RFC 959 has
 * it): a transfer longer than the idle timeout goes on as long as bytes move, and one where nothing moved
 * for that long is cut (vsftpd's data_connection_timeout). session.transferDone() gives the control
 * connection its timeout back.
 */
export async function dataConnection(session: FtpSession): Promise<net.Socket | null> {
  session.transferStarted();
  const socket = await session.data.open(session.protectData);
  if (!socket) {
    await session.reply(425);
    return null;
  }
  const idleMs = session.options.idleMs;
  if (idleMs > 0) cutWhenIdle(socket, idleMs);
  return socket;
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

/** Thrown when the data connection of an upload ended without the client's TLS close, or was reset. */
class TransferAborted extends Error {}

/**
 * STOR and APPE: the file system's upload stream gets the data connection's bytes; it is ended (committed)
 * only when the data connection ended in order, and destroyed (discarded) otherwise. 226 comes after the
 * commit, 426 after a cut connection, 550 for what the file system refused.
 */
export async function store(session: FtpSession, arg: string, directive: string): Promise<void> {
  const fs = session.fs!;
  const start = session.restOffset;
  session.restOffset = 0;
  // STOU: a fresh name (RFC 959: "250"/"150 FILE: name"), then an ordinary STOR.
  const name = directive === "STOU" ? fs.getUniqueName(arg || "file") : arg;
  try {
    const socket = await dataConnection(session);
    if (!socket) return;
    const { stream, clientPath } = await fs.write(name, { append: directive === "APPE", start });
    const received = new Promise<void>((resolve, reject) => {
      stream.once("finish", resolve);
      stream.once("error", reject);
      const cut = (err?: Error) => {
        socket.unpipe(stream);
        stream.destroy();
        reject(new TransferAborted(err?.message ?? "data connection closed without a TLS close"));
      };
      let ended = false;
      socket.once("error", cut);
      socket.once("end", () => {
        ended = true;
        if (uploadEnd(socket) === "cut") cut();
        else stream.end();
      });
      // Closed without an end: destroyed by Ferry (the session ended) or by the network.
      socket.once("close", () => {
        if (!ended) cut(new Error("data connection closed"));
      });
      // Discarded by the session's end (abortOpenUploads) before it finished.
      stream.once("close", () => reject(new TransferAborted("the upload was discarded")));
      socket.pipe(stream, { end: false });
    });
    // A failure before the reply below is seen when awaited; keep it from being reported as unhandled.
    received.catch(() => {});
    await session.reply(150, directive === "STOU" ? `FILE: ${clientPath}` : "Ready to receive");
    socket.resume();
    await received;
    await session.reply(226, clientPath);
  } catch (err) {
    if (err instanceof TransferAborted) {
      await session.reply(426, "Connection closed; transfer aborted, the file was not kept");
    } else if (err instanceof VfsError && err.code === "QUOTA_EXCEEDED") {
      // RFC 959: "552 Requested file action aborted. Exceeded storage allocation."
      await session.reply(552, messageOf(err));
    } else {
      await session.reply(550, messageOf(err));
    }
  } finally {
    session.transferDone();
  }
}

/**
 * RETR: the file system's read stream to the data connection, each chunk written before the next is taken
 * (the stream may lend its buffers). 226 once all is written, 426 when the client closed the data connection
 * first, 550 when the file cannot be opened.
 */
export async function retrieve(session: FtpSession, arg: string): Promise<void> {
  const fs = session.fs!;
  const start = session.restOffset;
  session.restOffset = 0;
  try {
    const socket = await dataConnection(session);
    if (!socket) return;
    let opened: { stream: NodeJS.ReadableStream & { destroy(): void }; clientPath: string };
    try {
      opened = await fs.read(arg, { start });
    } catch (err) {
      return await session.reply(550, messageOf(err));
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
      // The file ends with the data connection's end (under TLS: its close_notify first).
      stream.once("end", () => {
        socket.off("close", cut);
        socket.end(() => resolve());
      });
      stream.once("error", reject);
    });
    sent.catch(() => {});
    await session.reply(150, "Sending");
    stream.resume();
    socket.resume();
    await sent;
    await session.reply(226, clientPath);
  } catch (err) {
    if (err instanceof TransferAborted) await session.reply(426, "Connection closed; transfer aborted");
    else await session.reply(551, messageOf(err));
  } finally {
    session.transferDone();
  }
}
