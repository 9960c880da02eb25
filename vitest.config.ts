import path from "node:path";

import { defineConfig } from "vitest/config";

export default defineConfig({
  resolve: {
    alias: {
      "@": path.resolve(import.meta.dirname),
      "server-only": path.resolve(import.meta.dirname, "test/support/empty.ts"),
    },
  },
  test: {
    environment: "node",
    include: ["**/*.test.ts"],
    exclude: ["node_modules/**", ".next/**", ".data/**", "e2e/**"],
    globalSetup: ["test/global-setup.ts"],
    testTimeout: 30_000,
    hookTimeout: 60_000,
    server: { deps: { inline: ["next-auth", "@auth/core"] } },
    env: { NODE_ENV: "test", LOG_LEVEL: process.env.LOG_LEVEL ?? "fatal" },
    reporters: process.env.CI_REPORT
      ? ["default", ["junit", { outputFile: process.env.CI_REPORT }]]
      : ["default"],
  },
});
