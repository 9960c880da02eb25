import path from "node:path";

import { defineConfig, devices } from "@playwright/test";

/**
 * The browser journeys, against a production build (`npm run build` first)
 * served as `npm start` serves it (server/serve.ts) on port 3100 (E2E_PORT) in the embedded default: its own
 * PostgreSQL under a fresh data directory per run, the in-process driver and
 * the dev mailbox. localhost, not 127.0.0.1, throughout: auth cookies belong
 * to the host name.
 */
const PORT = Number(process.env.E2E_PORT ?? 3100);
/** Points the journeys at a server you already run (a dev server while writing tests). */
const external = process.env.E2E_BASE_URL;
const baseURL = external ?? `http://localhost:${PORT}`;

// Set once in the runner process; workers inherit it, so every process agrees on the directory.
process.env.TALLY_E2E_DATA_DIR ??= path.join(".data", `e2e-${Date.now()}`);

export default defineConfig({
  testDir: "e2e",
  fullyParallel: false,
  workers: 1,
  forbidOnly: Boolean(process.env.CI),
  retries: 0,
  timeout: 60_000,
  expect: { timeout: 15_000 },
  globalSetup: "./e2e/global-setup.ts",
  reporter: [
    ["list"],
    // CI names the file through PLAYWRIGHT_JSON_OUTPUT_NAME; an outputFile here would override it.
    [
      "json",
      process.env.PLAYWRIGHT_JSON_OUTPUT_NAME ? {} : { outputFile: "test-results/e2e-report.json" },
    ],
  ],
  use: {
    baseURL,
    viewport: { width: 1280, height: 900 },
    trace: "retain-on-failure",
    screenshot: "only-on-failure",
    launchOptions: {
      executablePath: process.env.CHROMIUM_PATH ?? "/usr/bin/chromium",
      args: [
        "--no-sandbox",
        "--disable-gpu",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
        "--disable-quic",
        "--no-first-run",
      ],
    },
  },
  projects: [
    {
      name: "chromium",
      use: { ...devices["Desktop Chrome"], viewport: { width: 1280, height: 900 } },
    },
  ],
  webServer: external
    ? undefined
    : {
        // npm start's server: the metering API on node:http in front of Next, as in production.
        // Loopback only: the journeys' server has demo accounts and an open dev mailbox.
        command: `node --import tsx server/serve.ts start --port ${PORT} --hostname 127.0.0.1`,
        url: `${baseURL}/sign-in`,
        reuseExistingServer: false,
        timeout: 180_000,
        stdout: "ignore",
        stderr: "pipe",
        // SIGTERM lets the app stop its embedded PostgreSQL instead of leaving it running.
        gracefulShutdown: { signal: "SIGTERM", timeout: 15_000 },
        env: {
          ...stringEnv(process.env),
          PORT: String(PORT),
          APP_URL: baseURL,
          NEXT_TELEMETRY_DISABLED: "1",
          TALLY_DATA_DIR: process.env.TALLY_E2E_DATA_DIR,
          // The journeys need the embedded default (empty counts as unset): the dev mailbox, the
          // in-process driver and a database of their own.
          DATABASE_URL: "",
          SMTP_URL: "",
          // A production build keeps the mailbox to admins; the journeys read it as users do
          // locally.
          TALLY_DEV_MAILBOX: "open",
          // The credits journeys sign in as the README's demo customer, which a production build
          // seeds only when asked.
          TALLY_SEED_DEMO: "1",
          // The webhook journey's receiver is on 127.0.0.1, which production refuses by default.
          TALLY_WEBHOOK_TARGETS: "any",
          // The billing journey moves the platform clock, which a production build allows only
          // when asked.
          TALLY_TIME_TRAVEL: "1",
          INNGEST_DEV: "",
          INNGEST_EVENT_KEY: "",
        },
      },
});

function stringEnv(env: NodeJS.ProcessEnv): Record<string, string> {
  return Object.fromEntries(
    Object.entries(env).filter((entry): entry is [string, string] => entry[1] !== undefined),
  );
}
