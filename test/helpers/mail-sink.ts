/** A real SMTP server (smtp-server) standing for a customer's mail system: what Ferry's relay delivers. */
import { simpleParser } from "mailparser";
import { SMTPServer } from "smtp-server";
import { freePort } from "./ports.js";

export interface SunkMail {
  to: string[];
  subject: string;
  text: string;
  attachments: { filename: string; content: Buffer }[];
  /** When it arrived (ms since the epoch). */
  at: number;
}

export interface MailSink {
  /** FERRY_SMTP_RELAY_URL for it. */
  url: string;
  /** Every mail received, in order. */
  mails: SunkMail[];
  close(): Promise<void>;
}

export async function startMailSink(): Promise<MailSink> {
  const mails: SunkMail[] = [];
  const port = await freePort();
  const server = new SMTPServer({
    authOptional: true,
    disabledCommands: ["STARTTLS", "AUTH"],
    logger: false,
    onData(stream, session, callback) {
      simpleParser(stream).then((mail) => {
        mails.push({
          to: session.envelope.rcptTo.map((r) => r.address),
          subject: mail.subject ?? "",
          text: mail.text ?? "",
          attachments: mail.attachments.map((a) => ({ filename: a.filename ?? "", content: a.content })),
          at: Date.now(),
        });
        callback();
      }, callback);
    },
  });
  await new Promise<void>((resolve) => server.listen(port, "127.0.0.1", resolve));
  return {
    url: `smtp://127.0.0.1:${port}`,
    mails,
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}
