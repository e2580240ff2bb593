import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo, Socket } from 'node:net';

export interface RecordedRequest {
  method: string;
  path: string;
  headers: IncomingMessage['headers'];
  body: string;
  json: unknown;
}

export type Handler = (req: RecordedRequest, res: ServerResponse) => void | Promise<void>;

/**
 * A real HTTP server on 127.0.0.1 (a free port) for the vendor fakes. It records every request and tracks
 * sockets so `close()` ends hanging responses (timeout scenarios) instead of waiting for them.
 */
export class FakeHttpServer {
  readonly requests: RecordedRequest[] = [];
  /** Responses whose client went away before the server finished writing (a cancelled stream). */
  abortedResponses = 0;
  private readonly sockets = new Set<Socket>();

  private constructor(
    private readonly server: Server,
    readonly url: string,
  ) {
    server.on('connection', (s) => {
      this.sockets.add(s);
      s.on('close', () => this.sockets.delete(s));
    });
  }

  static async start(handler: Handler): Promise<FakeHttpServer> {
    let self: FakeHttpServer | undefined;
    const server = createServer((req, res) => {
      const chunks: Buffer[] = [];
      req.on('data', (c: Buffer) => chunks.push(c));
      req.on('end', () => {
        const body = Buffer.concat(chunks).toString('utf8');
        let json: unknown;
        try {
          json = body ? JSON.parse(body) : undefined;
        } catch {
          json = undefined;
        }
        const rec: RecordedRequest = { method: req.method ?? 'GET', path: req.url ?? '/', headers: req.headers, body, json };
        self?.requests.push(rec);
        res.on('close', () => {
          if (!res.writableFinished && self) self.abortedResponses++;
        });
        Promise.resolve(handler(rec, res)).catch((e: unknown) => {
          if (!res.headersSent) res.writeHead(599);
          res.end(String(e));
        });
      });
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const { port } = server.address() as AddressInfo;
    self = new FakeHttpServer(server, `http://127.0.0.1:${port}`);
    return self;
  }

  /** Requests whose header `name` equals `value` (e.g. which key was used). */
  requestsWith(name: string, value: string): RecordedRequest[] {
    return this.requests.filter((r) => r.headers[name.toLowerCase()] === value);
  }

  async close(): Promise<void> {
    for (const s of this.sockets) s.destroy();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }
}

export function sendJson(res: ServerResponse, status: number, body: unknown, headers: Record<string, string> = {}): void {
  const text = JSON.stringify(body);
  res.writeHead(status, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(text), ...headers });
  res.end(text);
}

/** Writes SSE events with a small pause between them so clients see a real stream. */
export async function sendSse(
  res: ServerResponse,
  events: ReadonlyArray<{ event?: string; data: string }>,
  opts: { headers?: Record<string, string>; gapMs?: number; endAfter?: number } = {},
): Promise<void> {
  res.writeHead(200, { 'content-type': 'text/event-stream', 'cache-control': 'no-cache', connection: 'keep-alive', ...opts.headers });
  let n = 0;
  for (const e of events) {
    if (opts.endAfter !== undefined && n >= opts.endAfter) {
      res.destroy();
      return;
    }
    if (res.destroyed) return;
    res.write(`${e.event ? `event: ${e.event}\n` : ''}data: ${e.data}\n\n`);
    n++;
    if (opts.gapMs) await new Promise((r) => setTimeout(r, opts.gapMs));
  }
  res.end();
}
