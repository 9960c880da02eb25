import net from "node:net";

/**
 * A small HTTP/1.1 load generator for the benchmarks: each connection is a
 * keep-alive socket that sends one request, reads the whole response
 * (Content-Length bodies, which is what the metering API sends) and sends
 * the next, until the time is up. Written on raw sockets so the client costs
 * little CPU on a machine it shares with the server and the database.
 */

export interface LoadOptions {
  host: string;
  port: number;
  connections: number;
  durationMs: number;
  /** The request to send next on `connection`: method, path, headers, body. */
  next(connection: number, sequence: number): HttpRequest;
  /** Called with every response, e.g. to count what a batch consumed. */
  onResponse?(response: HttpResponse, connection: number): void;
}

export interface HttpRequest {
  method: "GET" | "POST";
  path: string;
  headers: Record<string, string>;
  body?: string;
}

export interface HttpResponse {
  status: number;
  body: Buffer;
}

export interface LoadResult {
  requests: number;
  elapsedMs: number;
  statuses: Map<number, number>;
  /** Per request, in microseconds, sorted. */
  latenciesUs: Float64Array;
}

export function percentile(sorted: Float64Array, p: number): number {
  if (sorted.length === 0) return Number.NaN;
  const index = Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1));

  return sorted[index]!;
}

function encode(request: HttpRequest, host: string): Buffer {
  const body = request.body ?? "";
  const lines = [`${request.method} ${request.path} HTTP/1.1`, `Host: ${host}`];
  for (const [name, value] of Object.entries(request.headers)) lines.push(`${name}: ${value}`);
  if (request.method === "POST") lines.push(`Content-Length: ${Buffer.byteLength(body)}`);

  return Buffer.from(`${lines.join("\r\n")}\r\n\r\n${body}`);
}

const HEADER_END = Buffer.from("\r\n\r\n");

/** One keep-alive connection that answers requests one at a time. */
class Connection {
  private readonly socket: net.Socket;
  private buffer: Buffer = Buffer.alloc(0);
  private waiting: { resolve(response: HttpResponse): void; reject(error: Error): void } | null =
    null;

  constructor(host: string, port: number) {
    this.socket = net.connect({ host, port });
    this.socket.setNoDelay(true);
    this.socket.on("data", (chunk: Buffer) => {
      this.buffer = this.buffer.length === 0 ? chunk : Buffer.concat([this.buffer, chunk]);
      this.parse();
    });
    const fail = (error: Error) => {
      this.waiting?.reject(error);
      this.waiting = null;
    };
    this.socket.on("error", fail);
    this.socket.on("close", () => fail(new Error("The server closed the connection")));
  }

  ready(): Promise<void> {
    return new Promise((resolve, reject) => {
      this.socket.once("connect", resolve);
      this.socket.once("error", reject);
    });
  }

  send(request: Buffer): Promise<HttpResponse> {
    return new Promise((resolve, reject) => {
      this.waiting = { resolve, reject };
      this.socket.write(request);
    });
  }

  close(): void {
    this.socket.destroy();
  }

  private parse() {
    if (!this.waiting) return;
    const end = this.buffer.indexOf(HEADER_END);
    if (end === -1) return;
    const head = this.buffer.subarray(0, end).toString("latin1");
    const status = Number(head.slice(9, 12));
    const length = Number(/\r\ncontent-length:\s*(\d+)/i.exec(head)?.[1] ?? "0");
    const total = end + HEADER_END.length + length;
    if (this.buffer.length < total) return;
    const body = this.buffer.subarray(end + HEADER_END.length, total);
    this.buffer = this.buffer.subarray(total);
    const waiting = this.waiting;
    this.waiting = null;
    waiting.resolve({ status, body });
  }
}

export async function runLoad(options: LoadOptions): Promise<LoadResult> {
  const hostHeader = `${options.host}:${options.port}`;
  const connections = Array.from(
    { length: options.connections },
    () => new Connection(options.host, options.port),
  );
  await Promise.all(connections.map((connection) => connection.ready()));

  const latencies: number[] = [];
  const statuses = new Map<number, number>();
  const started = performance.now();
  const deadline = started + options.durationMs;
  await Promise.all(
    connections.map(async (connection, index) => {
      for (let sequence = 0; performance.now() < deadline; sequence++) {
        const request = encode(options.next(index, sequence), hostHeader);
        const sent = performance.now();
        const response = await connection.send(request);
        latencies.push((performance.now() - sent) * 1000);
        statuses.set(response.status, (statuses.get(response.status) ?? 0) + 1);
        options.onResponse?.(response, index);
      }
    }),
  );
  const elapsedMs = performance.now() - started;
  for (const connection of connections) connection.close();

  return {
    requests: latencies.length,
    elapsedMs,
    statuses,
    latenciesUs: Float64Array.from(latencies).sort(),
  };
}
