import { existsSync, readdirSync, readFileSync, rmSync } from "node:fs";
import path from "node:path";

/**
 * Each run gets a fresh data directory (see playwright.config.ts). This
 * removes those of earlier runs whose PostgreSQL is no longer running, so
 * repeated local runs do not pile up databases; the current run's is kept.
 */
export default function globalSetup(): void {
  const current = path.resolve(process.env.TALLY_E2E_DATA_DIR ?? "");
  const root = path.resolve(".data");
  if (!existsSync(root)) return;

  for (const name of readdirSync(root)) {
    const dir = path.join(root, name);
    if (!name.startsWith("e2e-") || dir === current || serverAlive(dir)) continue;
    rmSync(dir, { recursive: true, force: true });
  }
}

function serverAlive(dir: string): boolean {
  const pidFile = path.join(dir, "pg", "postmaster.pid");
  if (!existsSync(pidFile)) return false;
  const pid = Number(readFileSync(pidFile, "utf8").split("\n")[0]);
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === "EPERM";
  }
}
