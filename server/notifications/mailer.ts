import nodemailer, { type Transporter } from "nodemailer";

import { emailMessages } from "@/drizzle/schema";
import type { Clock } from "@/server/clock";
import type { DbOrTx } from "@/server/db/client";

export interface EmailMessage {
  type: string;
  to: string;
  subject: string;
  html: string;
  text: string;
  /** One email per key, ever: a redelivered event or a replay sends nothing new. */
  dedupeKey: string;
  workspaceId?: string | null;
}

export type DeliveryResult = "stored" | "sent" | "duplicate";

export interface Mailer {
  readonly mode: "mailbox" | "smtp";
  deliver(db: DbOrTx, message: EmailMessage): Promise<DeliveryResult>;
}

/**
 * Records every email in email_messages (the dev mailbox when no SMTP server
 * is configured) and, with SMTP_URL, sends it with nodemailer.
 *
 * TODO: SMTP sending happens inside the caller's transaction, so a rollback
 * after a successful send can send the email again on retry; per-channel
 * delivery records with their own retries replace this.
 */
export function createMailer(options: { smtpUrl?: string; from: string; clock: Clock }): Mailer {
  let transporter: Transporter | undefined;
  const mode = options.smtpUrl ? "smtp" : "mailbox";

  return {
    mode,
    async deliver(db, message) {
      const inserted = await db
        .insert(emailMessages)
        .values({
          type: message.type,
          toAddress: message.to.toLowerCase(),
          fromAddress: options.from,
          subject: message.subject,
          html: message.html,
          text: message.text,
          dedupeKey: message.dedupeKey,
          transport: mode,
          status: mode === "smtp" ? "sent" : "stored",
          workspaceId: message.workspaceId ?? null,
          createdAt: options.clock.now(),
          sentAt: mode === "smtp" ? options.clock.now() : null,
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
      });

      return "sent";
    },
  };
}
