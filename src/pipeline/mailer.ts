/** The mailer port: sending a message with attachments. protocols/email/mailer.ts implements it (nodemailer). */
import type { Readable } from "node:stream";

export interface OutgoingMail {
  to: string[];
  subject: string;
  text: string;
  attachments: { filename: string; content: Readable }[];
}

export interface Mailer {
  /** Sends, or throws with the relay's reason (the job retries). */
  send(mail: OutgoingMail): Promise<void>;
}

/** No relay configured: every send fails with a message that says what to set. */
export const noMailer: Mailer = {
  send: async () => {
    throw new Error("No SMTP relay is configured: set FERRY_SMTP_RELAY_URL to send email");
  },
};
