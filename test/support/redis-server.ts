import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Redis from 'ioredis';

/** Every redis-server this process started and that is still running: killed when the process exits, whatever happened. */
const running = new Set<ChildProcess>();
process.once('exit', () => {
  for (const p of running) p.kill('SIGKILL');
});

/** A free TCP port on 127.0.0.1 (never the machine's 6379). */
export async function freePort(): Promise<number> {
  for (;;) {
    const port = await new Promise<number>((resolve, reject) => {
      const s = createServer();
      s.once('error', reject);
      s.listen(0, '127.0.0.1', () => {
        const p = (s.address() as { port: number }).port;
        s.close(() => resolve(p));
      });
    });
    if (port !== 6379) return port;
  }
}

export interface RedisServerOptions {
  /** Start on this port (e.g. one reserved earlier to test "down at start-up"). */
  port?: number;
  /** Extra redis-server arguments (e.g. ['--cluster-enabled', 'yes'], ['--requirepass', 'x']). */
  args?: string[];
}

/**
 * A real `redis-server` of our own on a free port, no persistence, for one suite. `kill()` / `start()` /
 * `restart()` drive fault tests; `close()` always ends it.
 */
export class RedisServer {
  private proc: ChildProcess | undefined;
  private readonly dir: string;

  private constructor(
    readonly port: number,
    private readonly args: string[],
  ) {
    this.dir = mkdtempSync(join(tmpdir(), 'llmrotate-redis-'));
  }

  /** A server object on a reserved port, not running yet. */
  static async reserve(options: RedisServerOptions = {}): Promise<RedisServer> {
    return new RedisServer(options.port ?? (await freePort()), options.args ?? []);
  }

  static async start(options: RedisServerOptions = {}): Promise<RedisServer> {
    const s = await RedisServer.reserve(options);
    await s.start();
    return s;
  }

  get url(): string {
    return `redis://127.0.0.1:${this.port}`;
  }

  get running(): boolean {
    return this.proc !== undefined;
  }

  async start(): Promise<void> {
    if (this.proc !== undefined) return;
    const proc = spawn(
      'redis-server',
      ['--port', String(this.port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no', '--dir', this.dir, '--protected-mode', 'no', ...this.args],
      // redis-server logs to stdout; an unread stderr pipe would outlive the process and keep Jest waiting.
      { stdio: ['ignore', 'pipe', 'ignore'] },
    );
    this.proc = proc;
    running.add(proc);
    try {
      await new Promise<void>((resolve, reject) => {
        let out = '';
        const timer = setTimeout(() => reject(new Error(`redis-server on ${this.port} did not start: ${out}`)), 10_000);
        proc.stdout?.on('data', (d: Buffer) => {
          out += d.toString();
          if (out.includes('Ready to accept connections')) {
            clearTimeout(timer);
            resolve();
          }
        });
        proc.once('exit', (code) => {
          clearTimeout(timer);
          reject(new Error(`redis-server on ${this.port} exited (${code}): ${out}`));
        });
      });
    } catch (e) {
      // Never left running behind a failed start.
      proc.kill('SIGKILL');
      running.delete(proc);
      this.proc = undefined;
      throw e;
    }
    proc.stdout?.resume();
    proc.removeAllListeners('exit');
    proc.once('exit', () => {
      running.delete(proc);
      proc.stdout?.destroy();
      if (this.proc === proc) this.proc = undefined;
    });
  }

  /** SIGKILL: the abrupt death of Redis (nothing flushed, connections reset). */
  async kill(): Promise<void> {
    const p = this.proc;
    if (p === undefined) return;
    this.proc = undefined;
    await new Promise<void>((resolve) => {
      p.once('exit', () => resolve());
      p.kill('SIGKILL');
    });
  }

  async restart(): Promise<void> {
    await this.kill();
    await this.start();
  }

  /** A fresh client for assertions (the caller quits it). */
  client(): Redis {
    return new Redis(this.url, { lazyConnect: false, maxRetriesPerRequest: 1 });
  }

  /** Runs one command on a short-lived connection. */
  async command(...args: Array<string | number>): Promise<unknown> {
    const c = this.client();
    try {
      return await c.call(String(args[0]), ...args.slice(1).map(String));
    } finally {
      c.disconnect();
    }
  }

  async close(): Promise<void> {
    await this.kill();
    rmSync(this.dir, { recursive: true, force: true });
  }
}

/** Client connections whose name starts with `prefix` (`CLIENT LIST`). */
export async function clientsNamed(server: RedisServer, prefix: string): Promise<string[]> {
  const list = (await server.command('CLIENT', 'LIST')) as string;
  return list.split('\n').filter((l) => new RegExp(`\\bname=${prefix.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}`).test(l));
}

/** All keys of the server (SCAN). */
export async function allKeys(server: RedisServer): Promise<string[]> {
  const c = server.client();
  try {
    const out: string[] = [];
    let cursor = '0';
    do {
      const [next, keys] = await c.scan(cursor, 'COUNT', 1000);
      cursor = next;
      out.push(...keys);
    } while (cursor !== '0');
    return out;
  } finally {
    c.disconnect();
  }
}

/**
 * The commands clients sent while `fn` ran, as MONITOR saw them: one entry per round trip (commands run inside a
 * Lua script show as `lua` and are not counted). Returns the command names in order.
 */
export async function roundTrips(server: RedisServer, fn: () => Promise<unknown>): Promise<string[]> {
  const markerClient = server.client();
  await markerClient.ping(); // connected (and its ready check done) before watching
  const base = server.client();
  const monitor = await base.monitor(); // a second connection in monitor mode
  base.disconnect();
  const marker = `llmrotate-marker-${Math.random().toString(36).slice(2)}`;
  const seen: string[] = [];
  let done: () => void = () => undefined;
  const ended = new Promise<void>((resolve) => (done = resolve));
  monitor.on('monitor', (_time: string, args: string[], source: string) => {
    if (args[0]?.toLowerCase() === 'echo' && args[1] === marker) return done();
    if (source !== 'lua') seen.push(args[0].toLowerCase());
  });
  try {
    await fn();
    await markerClient.echo(marker);
    await ended;
  } finally {
    monitor.disconnect();
    markerClient.disconnect();
  }
  return seen;
}

/** Total commands the server processed, per command name (INFO commandstats; counts commands inside scripts too). */
export async function commandStats(c: Redis): Promise<Record<string, number>> {
  const info = await c.info('commandstats');
  const out: Record<string, number> = {};
  for (const m of info.matchAll(/^cmdstat_([^:]+):calls=(\d+)/gm)) out[m[1]] = Number(m[2]);
  return out;
}
