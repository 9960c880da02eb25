import { z } from "zod";

import { defineCommand } from "@/server/commands";
import { AppError } from "@/server/errors";

import { markNotificationsRead } from "./in-app";

export const markReadInput = z.object({ ids: z.array(z.uuid()).max(200).or(z.literal("all")) });

export const markRead = defineCommand({
  name: "notifications.markRead",
  input: markReadInput,
  async run({ tx, actor, clock }, input) {
    if (actor.type !== "user") throw new AppError("forbidden", "Only a signed-in user has notifications");
    const updated = await markNotificationsRead(tx, clock, actor.userId, input.ids);

    return { result: { updated }, audit: false };
  },
});
