import { timestamp } from "drizzle-orm/pg-core";

/** Every time column is timestamptz, read into a Date. */
export const timestamptz = (name: string) => timestamp(name, { withTimezone: true, mode: "date" });

export const createdAt = () => timestamptz("created_at").notNull().defaultNow();
