import { desc, eq } from "drizzle-orm";

import { emailMessages } from "@/drizzle/schema";
import type { Db } from "@/server/db/client";

/** The dev mailbox: emails stored instead of sent, newest first. */
export async function listMailbox(db: Db, options: { to?: string; limit?: number } = {}) {
  return db
    .select({
      id: emailMessages.id,
      type: emailMessages.type,
      to: emailMessages.toAddress,
      subject: emailMessages.subject,
      text: emailMessages.text,
      html: emailMessages.html,
      createdAt: emailMessages.createdAt,
    })
    .from(emailMessages)
    .where(options.to ? eq(emailMessages.toAddress, options.to.toLowerCase()) : undefined)
    .orderBy(desc(emailMessages.createdAt))
    .limit(options.limit ?? 50);
}
