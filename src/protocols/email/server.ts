/**
 * The SMTP server (smtp-server): inbound email connections receive files as attachments. Mail for an unknown
 * address, or from a sender the connection does not allow, is refused at RCPT; attachments whose names match
 * the connection's file pattern go through the same durable receive as SFTP/FTP uploads (store, then one
 * commit with the processing job), and the message is acknowledged (250) only after that. STARTTLS with the
 * server's certificate; no AUTH: the address itself is the secret (it carries random characters), optionally
 * narrowed by an allowed-sender list.
 */

import { PassThrough, type Readable } from "node:stream";
import { MailParser } from "mailparser";
import type { Logger } from "pino";
import { SMTPServer, type SMTPServerAddress, type SMTPServerSession } from "smtp-server";
import { isQuotaExceeded, storageFull } from "../../domain/quota.js";
import { matchesPattern, refuseName } from "../../pipeline/names.js";
import { recordUpload } from "../../pipeline/receive.js";
import type { StoredObject } from "../../pipeline/store.js";
import { coerceError } from "../../thrown.js";
import { type Admission, type PreAuth, plainIp } from "../admission.js";
import type { VfsDeps } from "../vfs.js";
import { findMailbox, type Mailbox, senderAllowed } from "./mailboxes.js";
import { type SenderCheck, senderResolver, verifySender } from "./sender-auth.js";

export interface SmtpOptions {
  port: number;
  bind: string;
  domain: string;
  maxMessageBytes: number;
  tls: { cert: Buffer; key: Buffer };
  /** Caps on concurrent sessions per IP address and in all, and their longest life (SMTP_SESSION_MS). */
  admission: Admission;
  /** DNS servers for verifying listed senders (SPF/DKIM/DMARC); the system's when empty. */
  dnsServers: string[];
  /**
   * Addresses of load balancers whose connections start with a PROXY header (version 1: smtp-server reads
   * it) naming the client.
   */
  proxyFrom: string[];
}

/**
 * Longest SMTP session: long enough for a message at the size limit over a slow link, short enough that a
 * client cannot hold a place for ever by sending a byte now and then (the idle timeout is smtp-server's 60 s).
 */
export const SMTP_SESSION_MS = 10 * 60_000;

/** An SMTP error reply: `responseCode` is what the client sees. */
const reply = (code: number, message: string) => Object.assign(new Error(message), { responseCode: code });

/**
 * Recipients of one message. A file goes to one connection per address, so each recipient is a full copy:
 * 20 is plenty for a feed (RFC 5321 §4.5.3.1.8 asks servers to take at least 100, for general mail).
 * Beyond it the client hears 452 and may send the rest in another message.
 */
export const MAX_RECIPIENTS = 20;

/**
 * An accepted recipient carries the connection it reaches. smtp-server keeps these objects in
 * `session.envelope.rcptTo` and starts a new envelope at RSET, HELO/EHLO and after each message, so the
 * mailboxes of a message are read from its own envelope, never from anything that outlives it.
 */
type Recipient = SMTPServerAddress & { ferry?: Mailbox };

/** What Ferry reads of smtp-server's (untyped) connection objects. */
interface SmtpConnection {
  id: string;
  _socket: { destroy(): void };
}

/** The envelope's sender (MAIL FROM), or null for the null sender `<>`. */
const envelopeSender = (session: SMTPServerSession): string | null =>
  session.envelope.mailFrom ? session.envelope.mailFrom.address : null;

/** The distinct connections the current envelope reaches (one per connection, however often addressed). */
export function envelopeMailboxes(session: SMTPServerSession): Mailbox[] {
  const byConnection = new Map<string, Mailbox>();
  for (const rcpt of session.envelope.rcptTo as Recipient[]) {
    if (rcpt.ferry) byConnection.set(rcpt.ferry.connectionId, rcpt.ferry);
  }
  return [...byConnection.values()];
}

export async function startSmtpServer(
  deps: VfsDeps,
  options: SmtpOptions,
  log: Logger,
): Promise<{ port: number; close(): Promise<void> }> {
  const sessions = new Map<string, PreAuth>();
  const resolver = senderResolver(options.dnsServers);
  const verify = (message: Readable, session: SMTPServerSession) =>
    verifySender(
      message,
      {
        sender: envelopeSender(session),
        ip: plainIp(session.remoteAddress),
        helo: session.hostNameAppearsAs ?? "",
      },
      { mta: options.domain, dnsServers: options.dnsServers, resolver },
    );
  const server = new SMTPServer({
    name: options.domain,
    banner: "Ferry: send files as attachments to your connection's address",
    key: options.tls.key,
    cert: options.tls.cert,
    disabledCommands: ["AUTH"],
    authOptional: true,
    size: options.maxMessageBytes,
    maxRecipients: MAX_RECIPIENTS,
    // A reverse DNS lookup per connection would let a slow resolver hold every new session; Ferry has no use
    // for the client's host name.
    disableReverseLookup: true,
    useProxy: options.proxyFrom.length > 0 ? options.proxyFrom : false,
    logger: false,
    onConnect(session, callback) {
      const ip = plainIp(session.remoteAddress);
      const place = options.admission.admit(ip, () => {
        // smtp-server has no API to close one session: its connection is found by id, its socket destroyed.
        for (const connection of (server as unknown as { connections: Set<SmtpConnection> }).connections) {
          if (connection.id === session.id) connection._socket.destroy();
        }
      });
      if ("refused" in place) {
        log.warn({ ip, reason: place.refused }, "SMTP connection refused");
        return callback(reply(421, `Service not available: ${place.refused}`));
      }
      sessions.set(session.id, place);
      callback();
    },
    onClose(session) {
      sessions.get(session.id)?.closed();
      sessions.delete(session.id);
    },
    onRcptTo(address: Recipient, session, callback) {
      (async () => {
        const mailbox = await findMailbox(deps.db, options.domain, address.address);
        if (!mailbox) return reply(550, `No such mailbox: ${address.address}`);
        const sender = envelopeSender(session);
        if (!senderAllowed(mailbox, sender)) {
          return reply(550, `Sender ${sender ?? "<>"} is not allowed to send to ${address.address}`);
        }
        if (await storageFull(deps.db, mailbox.accountId)) {
          // RFC 5321 §4.2.2: "552 Requested mail action aborted: exceeded storage allocation".
          return reply(552, `Mailbox full: ${address.address} has reached its account's storage quota`);
        }
        address.ferry = mailbox;
        return undefined;
      })().then(
        (refused) => callback(refused),
        (err) => {
          log.error({ err }, "mailbox lookup failed");
          callback(reply(451, "Temporary failure, try again later"));
        },
      );
    },
    onData(stream, session, callback) {
      receiveMessage(deps, stream, session, options, log, verify).then(
        (count) => callback(null, `${count} file${count === 1 ? "" : "s"} received`),
        (err: Error & { responseCode?: number; code?: string }) => {
          // A client that went away mid-message is no server error: nothing was kept, nothing to alarm.
          if (err.code === "ECONNECTION")
            log.info({ ip: session.remoteAddress }, "message cut off; nothing kept");
          else if (!err.responseCode) log.error({ err }, "email receive failed");
          callback(err.responseCode ? err : reply(451, "Temporary failure, try again later"));
        },
      );
    },
  });
  server.on("error", (err) => log.warn({ err }, "SMTP session error"));
  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(options.port, options.bind, () => {
      server.off("error", reject);
      resolve();
    });
  });
  const address = server.server.address();
  return {
    port: typeof address === "object" && address ? address.port : options.port,
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}

/** Stores each matching attachment for each addressed connection; returns how many Transfers were made. */
async function receiveMessage(
  deps: VfsDeps,
  stream: Readable & { sizeExceeded?: boolean },
  session: SMTPServerSession,
  options: SmtpOptions,
  log: Logger,
  verify: (message: Readable, session: SMTPServerSession) => Promise<SenderCheck>,
): Promise<number> {
  const mailboxes = envelopeMailboxes(session);
  const parser = new MailParser();
  // Connections that take mail from listed senders only: the whole message also goes to the sender check.
  const checked = mailboxes.some((m) => m.allowedSenders.length > 0) ? new PassThrough() : null;
  const senderCheck = checked
    ? verify(checked, session).catch(
        (err: Error): SenderCheck => ({
          ok: false,
          temporary: true,
          reason: `the sender could not be verified (${err.message}); try again later`,
        }),
      )
    : null;
  // Past the size limit nothing more is written or parsed: the rest of the message is only read (SMTP has no
  // way to refuse it before its end) and the client then hears 552.
  const tooLarge = () => reply(552, `Message too large: the limit is ${options.maxMessageBytes} bytes`);
  const onChunk = () => {
    if (!stream.sizeExceeded) return;
    stream.off("data", onChunk);
    stream.unpipe(parser);
    parser.end();
    if (checked) {
      stream.unpipe(checked);
      checked.end();
    }
    stream.resume();
  };
  const stored: { mailbox: Mailbox; name: string; object: StoredObject }[] = [];
  const skipped: string[] = [];
  const work: Promise<void>[] = [];
  /** Attachments still being read (and stored). */
  const reading = new Set<Readable>();
  let failure: unknown;
  parser.on("data", (data: { type: string; filename?: string; content?: Readable; release?: () => void }) => {
    if (data.type !== "attachment") return;
    const name = data.filename ?? "";
    const targets = mailboxes.filter((m) => matchesPattern(m.filePattern, name) && !refuseName(name));
    if (targets.length === 0) {
      skipped.push(name || "(unnamed)");
      data.content!.resume();
      data.release!();
      return;
    }
    // One stored copy per connection: each Transfer owns its bytes (retention removes them one by one).
    // The attachment is always read to its end and released, or the parser would wait for it forever.
    const content = data.content!;
    reading.add(content);
    work.push(
      storeAttachment(deps, data.content!, targets.length, () => (stream.sizeExceeded ? tooLarge() : null))
        .then(
          (objects) => {
            for (const [i, object] of objects.entries()) stored.push({ mailbox: targets[i]!, name, object });
          },
          (err) => {
            failure ??= err;
            data.content!.resume();
          },
        )
        .finally(() => {
          reading.delete(content);
          data.release!();
        }),
    );
  });
  stream.pipe(parser);
  if (checked) stream.pipe(checked);
  // After the pipe: listeners run in order, so the chunk that crosses the limit reaches the parser first.
  stream.on("data", onChunk);
  try {
    await new Promise<void>((resolve, reject) => {
      parser.once("end", resolve);
      parser.once("error", reject);
      stream.once("error", reject);
    });
  } catch (err) {
    // The client went away mid-message (smtp-server destroys the stream) or the MIME cannot be parsed: the
    // attachments being stored would wait for their ends for ever, their uploads open. End them, and drop
    // whatever was already stored.
    for (const content of reading) content.destroy(coerceError(err));
    checked?.destroy();
    await Promise.allSettled(work);
    await Promise.all(stored.map((s) => deps.store.remove(s.object.key)));
    throw err;
  }
  await Promise.all(work);
  const verified = await senderCheck;
  if (verified && !verified.ok) {
    // Files for connections that take any sender are kept; those that list senders lose theirs.
    const dropped = stored.filter((s) => s.mailbox.allowedSenders.length > 0);
    await Promise.all(dropped.map((s) => deps.store.remove(s.object.key)));
    stored.splice(0, stored.length, ...stored.filter((s) => s.mailbox.allowedSenders.length === 0));
    log.info({ ip: session.remoteAddress, reason: verified.reason }, "sender not verified");
    if (verified.temporary || stored.length === 0) {
      await Promise.all(stored.map((s) => deps.store.remove(s.object.key)));
      // 550 5.7.1 / 451 4.7.1 (RFC 3463: delivery not authorized / temporary security failure).
      throw reply(verified.temporary ? 451 : 550, `Sender not verified: ${verified.reason}`);
    }
  }
  if (failure || stream.sizeExceeded) {
    await Promise.all(stored.map((s) => deps.store.remove(s.object.key)));
    if (stream.sizeExceeded) throw tooLarge();
    throw failure;
  }
  if (stored.length === 0) {
    const patterns = [...new Set(mailboxes.map((m) => m.filePattern))].join(", ");
    throw reply(
      550,
      skipped.length
        ? `No attachment matches ${patterns} (got: ${skipped.join(", ")})`
        : `No attachment: send the file as an attachment matching ${patterns}`,
    );
  }
  const sender = envelopeSender(session);
  let overQuota: Error | undefined;
  for (const s of stored) {
    await recordUpload(
      deps.db,
      deps.queue,
      {
        accountId: s.mailbox.accountId,
        connectionId: s.mailbox.connectionId,
        credentialId: null,
        protocol: "email",
        remoteIp: session.remoteAddress ?? null,
      },
      s.name,
      s.object,
    ).catch(async (err) => {
      if (!isQuotaExceeded(err)) throw err;
      await deps.store.remove(s.object.key);
      overQuota ??= reply(552, err.message);
    });
  }
  // Files of other recipients are kept; the sender's retry is recorded as their duplicate.
  if (overQuota) throw overQuota;
  log.info({ files: stored.length, sender, skipped: skipped.length }, "email received");
  return stored.length;
}

/**
 * Writes an attachment into `copies` new store objects, committed (durable) before the message is accepted.
 * `stop` is asked before each write: an error it returns ends the attachment (e.g. the message grew too large).
 */
async function storeAttachment(
  deps: VfsDeps,
  content: Readable,
  copies: number,
  stop: () => Error | null,
): Promise<StoredObject[]> {
  const uploads = await Promise.all(Array.from({ length: copies }, () => deps.store.create()));
  try {
    let position = 0;
    for await (const chunk of content as AsyncIterable<Buffer>) {
      const stopped = stop();
      if (stopped) throw stopped;
      if (position + chunk.length > deps.maxUploadBytes) throw reply(552, "Attachment too large");
      for (const u of uploads) await u.write(chunk, position);
      position += chunk.length;
    }
    return await Promise.all(uploads.map((u) => u.commit()));
  } catch (err) {
    await Promise.all(uploads.map((u) => u.abort().catch(() => {})));
    throw err;
  }
}
