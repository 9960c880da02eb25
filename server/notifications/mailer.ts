import nodemailer, { type Transporter } from "nodemailer";

import { emailMessages } from "@/drizzle/schema";
import type { Clock } from "@/server/clock";
import type { DbOrTx } from "@/server/db/client";

import type { Attachment } from "./definition";

export interface EmailMessage {
  type: string;
  to: string;
  subject: string;
  html: string;
  text: string;
  /** The notification delivery this email is; one email per delivery, ever. */
  deliveryId: string;
  workspaceId: string | null;
  attachments: Attachment[];
}

/**
 * "stored": kept in the dev mailbox; "sent": accepted by the SMTP server; "duplicate": sent before.
 */
export type MailResult = "stored" | "sent" | "duplicate";

export interface Mailer {
  readonly mode: "mailbox" | "smtp";
  send(db: DbOrTx, message: EmailMessage): Promise<MailResult>;
}

/**
 * Records every email in email_messages (the dev mailbox when no SMTP server
 * is configured) and, with SMTP_URL, sends it with nodemailer. The record and
 * the delivery's status commit together; an SMTP failure rolls both back so
 * the delivery is retried. The Message-ID is derived from the delivery, so a
 * receiver can drop the copy a crash between send and commit could cause.
 */
export function createMailer(options: { smtpUrl?: string; from: string; clock: Clock }): Mailer {
  let transporter: Transporter | undefined;
  const mode = options.smtpUrl ? "smtp" : "mailbox";

  return {
    mode,
    async send(db, message) {
      const now = options.clock.now();
      const inserted = await db
        .insert(emailMessages)
        .values({
          type: message.type,
          toAddress: message.to.toLowerCase(),
          fromAddress: options.from,
          subject: message.subject,
          html: message.html,
          text: message.text,
          dedupeKey: `delivery:${message.deliveryId}`,
          deliveryId: message.deliveryId,
          transport: mode,
          status: mode === "smtp" ? "sent" : "stored",
          workspaceId: message.workspaceId,
          attachments: message.attachments.map((file) => ({
            filename: file.filename,
            contentType: file.contentType,
            size: file.content.byteLength,
          })),
          createdAt: now,
          sentAt: mode === "smtp" ? now : null,
        })
        .onConflictDoNothing({ target: emailMessages.dedupeKey })
        .returning({ id: emailMessages.id });
      if (inserted.length === 0) return "duplicate";
      if (mode === "mailbox") return "stored";

      transporter ??= nodemailer.createTransport(options.smtpUrl);
      await transporter.sendMail({
        from: options.from,
        to: message.to,
        subject: message.subject,
        html: message.html,
        text: message.text,
        messageId: `<${message.deliveryId}@tally>`,
        attachments: message.attachments.map((file) => ({
          filename: file.filename,
          contentType: file.contentType,
          content: file.content,
        })),
      });

      return "sent";
    },
  };
}
