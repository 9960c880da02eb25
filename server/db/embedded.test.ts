import { spawn } from "node:child_process";
import { readFileSync, rmSync } from "node:fs";
import path from "node:path";

import postgres from "postgres";
import { afterAll, describe, expect, it } from "vitest";

import { uniqueSuffix } from "@/test/support/runtime";

import { parentPid, startEmbeddedPostgres, type EmbeddedServer } from "./embedded";

const dataDir = path.resolve(".data", `embedded-test-${uniqueSuffix()}`);
const started: EmbeddedServer[] = [];

afterAll(async () => {
  for (const server of started.reverse()) await server.stop();
  rmSync(dataDir, { recursive: true, force: true });
});

describe("the embedded PostgreSQL server", () => {
  it("starts a real server and keeps its data across restarts", async () => {
    const first = await startEmbeddedPostgres({ dataDir, persistent: true });
    started.push(first);
    const sql = postgres(first.url, { max: 1, onnotice: () => undefined });
    await sql`CREATE TABLE kept (value text)`;
    await sql`INSERT INTO kept VALUES ('still here')`;
    const [version] = await sql<{ server_version_num: string }[]>`SHOW server_version_num`;
    await sql.end();
    expect(Number(version?.server_version_num)).toBeGreaterThanOrEqual(150000);
    await first.stop();

    const second = await startEmbeddedPostgres({ dataDir, persistent: true });
    started.push(second);
    const again = postgres(second.url, { max: 1, onnotice: () => undefined });
    expect(await again`SELECT value FROM kept`).toEqual([{ value: "still here" }]);
    await again.end();
  });

  it("reuses a server still running on the same data directory instead of failing", async () => {
    const running = started.at(-1)!;
    const reused = await startEmbeddedPostgres({ dataDir, persistent: true });

    expect(reused).toMatchObject({ owned: false, port: running.port, url: running.url });
    await reused.stop(); // not ours: must not stop it
    const sql = postgres(running.url, { max: 1, onnotice: () => undefined });
    expect(await sql`SELECT 1 AS ok`).toEqual([{ ok: 1 }]);
    await sql.end();
  });
});

describe("a server orphaned by a killed process", () => {
  const orphanDir = path.resolve(".data", `embedded-orphan-${uniqueSuffix()}`);
  afterAll(() => rmSync(orphanDir, { recursive: true, force: true }));

  it("is reused by the next start and stopped when that one stops", async () => {
    const child = spawn("npx", ["tsx", "test/support/orphan-child.ts", orphanDir], {
      stdio: ["ignore", "pipe", "inherit"],
    });
    const port = await new Promise<number>((resolve, reject) => {
      child.stdout.on("data", (chunk: Buffer) => resolve(Number(chunk.toString().trim())));
      child.on("exit", (code) => reject(new Error(`child exited with ${code}`)));
    });
    const pid = Number(
      readFileSync(path.join(orphanDir, "pg", "postmaster.pid"), "utf8").split("\n")[0],
    );
    // kill -9 the whole npx → tsx → node chain, as a terminal's kill would, leaving postgres
    // behind.
    spawn("pkill", ["-9", "-f", `orphan-child.ts ${orphanDir}`]);
    await expect
      .poll(() => (child.exitCode ?? child.signalCode) !== null, { timeout: 10_000 })
      .toBe(true);
    // The kill reaches npx first; postgres is orphaned once its own parent, the innermost node,
    // has died too, which a loaded machine can take a moment over.
    await expect.poll(() => parentPid(pid), { timeout: 10_000 }).toBe(1);

    const adopted = await startEmbeddedPostgres({ dataDir: orphanDir, persistent: true });
    expect(adopted).toMatchObject({ owned: true, port });
    await adopted.stop();
    expect(() => process.kill(pid, 0)).toThrow();
  }, 60_000);
});

describe("an adopted server whose new owner exits without waiting", () => {
  const exitDir = path.resolve(".data", `embedded-exit-${uniqueSuffix()}`);
  afterAll(() => rmSync(exitDir, { recursive: true, force: true }));

  function startChild() {
    const child = spawn("node", ["--import", "tsx", "test/support/orphan-child.ts", exitDir], {
      stdio: ["ignore", "pipe", "inherit"],
    });
    const ready = new Promise<void>((resolve, reject) => {
      child.stdout.on("data", () => resolve());
      child.on("exit", (code) => reject(new Error(`child exited with ${code}`)));
    });

    return { child, ready };
  }

  it("is stopped by the exit itself, as when Next exits on SIGTERM", async () => {
    const first = startChild();
    await first.ready;
    const pid = Number(
      readFileSync(path.join(exitDir, "pg", "postmaster.pid"), "utf8").split("\n")[0],
    );
    first.child.kill("SIGKILL");
    await expect.poll(() => first.child.signalCode, { timeout: 10_000 }).toBe("SIGKILL");

    const second = startChild();
    await second.ready; // adopted the orphan
    second.child.kill("SIGTERM");

    await expect
      .poll(
        () => {
          try {
            process.kill(pid, 0);
            return "running";
          } catch {
            return "stopped";
          }
        },
        { timeout: 15_000 },
      )
      .toBe("stopped");
  }, 60_000);
});
