import { createServer, connect, type Server, type Socket } from 'node:net';

/**
 * A TCP proxy in front of a real redis-server that understands where each command a client sends ends (RESP
 * arrays), so a test can hold commands back: `hold(n)` lets the next `n` commands through and keeps the rest until
 * `release()`. Replies flow untouched. `cut()` resets every connection (a network failure), `refuse()` makes new
 * connections fail until `accept()`. Used to prove what a caller waits for, without timing anything.
 */
export class RedisProxy {
  /** Commands forwarded to Redis so far, by name (lower case), all connections together. */
  readonly forwarded: string[] = [];
  private readonly links = new Set<Link>();
  private allowance = Infinity;
  private refusing = false;

  private constructor(
    private readonly server: Server,
    readonly port: number,
    private readonly targetPort: number,
  ) {}

  static async start(targetPort: number): Promise<RedisProxy> {
    let self: RedisProxy | undefined;
    const server = createServer((client) => self?.accepted(client));
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    self = new RedisProxy(server, (server.address() as { port: number }).port, targetPort);
    return self;
  }

  get url(): string {
    return `redis://127.0.0.1:${this.port}`;
  }

  /** Commands waiting in the proxy (held back). */
  get held(): number {
    let n = 0;
    for (const l of this.links) n += l.parsed.length;
    return n;
  }

  /** From now on, let `n` more commands through, then hold every later one until {@link release}. */
  hold(n = 0): void {
    this.allowance = n;
  }

  /** Lets everything held (and everything after) through. */
  release(): void {
    this.allowance = Infinity;
    for (const l of this.links) this.pump(l);
  }

  /** Resets every open connection (what the clients see when the network fails); held commands are dropped. */
  cut(): void {
    for (const l of this.links) {
      l.client.destroy();
      l.upstream.destroy();
    }
    this.links.clear();
  }

  /** New connections are closed at once until {@link accept}. */
  refuse(): void {
    this.refusing = true;
  }

  accept(): void {
    this.refusing = false;
  }

  async close(): Promise<void> {
    this.cut();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }

  private accepted(client: Socket): void {
    if (this.refusing) {
      client.destroy();
      return;
    }
    const upstream = connect(this.targetPort, '127.0.0.1');
    const link: Link = { client, upstream, buf: Buffer.alloc(0), parsed: [] };
    this.links.add(link);
    const drop = (): void => {
      client.destroy();
      upstream.destroy();
      this.links.delete(link);
    };
    client.on('error', drop);
    upstream.on('error', drop);
    client.on('close', drop);
    upstream.on('close', drop);
    upstream.on('data', (d: Buffer) => client.write(d));
    client.on('data', (d: Buffer) => {
      link.buf = link.buf.length === 0 ? d : Buffer.concat([link.buf, d]);
      for (;;) {
        const end = commandEnd(link.buf, 0);
        if (end < 0) break;
        link.parsed.push(link.buf.subarray(0, end));
        link.buf = link.buf.subarray(end);
      }
      this.pump(link);
    });
  }

  private pump(link: Link): void {
    while (link.parsed.length > 0 && this.allowance > 0) {
      const cmd = link.parsed.shift() as Buffer;
      this.allowance--;
      this.forwarded.push(commandName(cmd));
      link.upstream.write(cmd);
    }
  }
}

interface Link {
  client: Socket;
  upstream: Socket;
  buf: Buffer;
  /** Whole commands received and not yet forwarded. */
  parsed: Buffer[];
}

/** End offset of the RESP array (a command) starting at `at`, or -1 while it is incomplete. */
function commandEnd(b: Buffer, at: number): number {
  if (at >= b.length) return -1;
  if (b[at] !== 0x2a /* '*' */) throw new Error(`redis proxy: not a RESP array at byte ${at}`);
  let eol = b.indexOf('\r\n', at);
  if (eol < 0) return -1;
  const n = Number(b.toString('latin1', at + 1, eol));
  let p = eol + 2;
  for (let i = 0; i < n; i++) {
    if (p >= b.length) return -1;
    eol = b.indexOf('\r\n', p);
    if (eol < 0) return -1;
    const len = Number(b.toString('latin1', p + 1, eol));
    p = eol + 2 + len + 2;
    if (p > b.length) return -1;
  }
  return p;
}

function commandName(cmd: Buffer): string {
  const first = cmd.indexOf('\r\n');
  const lenEnd = cmd.indexOf('\r\n', first + 2);
  const len = Number(cmd.toString('latin1', first + 3, lenEnd));
  return cmd.toString('latin1', lenEnd + 2, lenEnd + 2 + len).toLowerCase();
}
