import { defineConfig } from "drizzle-kit";

// `npm run db:generate` needs no database. `db:migrate` and `db:studio` go
// through scripts/with-database.ts, which sets DATABASE_URL to the embedded
// server when none is configured.
export default defineConfig({
  dialect: "postgresql",
  schema: "./drizzle/schema/index.ts",
  out: "./drizzle/migrations",
  dbCredentials: { url: process.env.DATABASE_URL ?? "postgres://localhost/tally" },
  strict: true,
  verbose: true,
});
