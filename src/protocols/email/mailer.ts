/** Sending email through the configured SMTP relay (nodemailer). */
import nodemailer from "nodemailer";
import type { Mailer, OutgoingMail } from "../../pipeline/mailer.js";

/** A mailer for `relayUrl` (smtp:// or smtps://, user and password in the URL), sending from `from`. */
export function smtpMailer(relayUrl: string, from: string): Mailer {
  const transport = nodemailer.createTransport(relayUrl);
  return {
    async send(mail: OutgoingMail) {
      await transport.sendMail({
        from,
        to: mail.to,
        subject: mail.subject,
        text: mail.text,
        attachments: mail.attachments.map((a) => ({ filename: a.filename, content: a.content })),
      });
    },
  };
}
