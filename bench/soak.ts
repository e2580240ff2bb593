/**
 * `npm run soak [-- --seconds 60 --connections 32 --redis]`: the sample app under load against an upstream that
 * injects 429s, 5xx, resets and slow answers (and, with --redis, a Redis store whose server is killed and restarted
 * mid-run). It checks what a production app needs and exits 1 when one fails:
 * - every request is answered: 200, or a typed library error (a JSON body with `type`, a stream's `error` event);
 *   never an untyped 500, a hang or a dropped connection;
 * - leases in use are back to 0 once the load stops;
 * - the heap is flat (after a forced GC, it grew less than the threshold between the first and the last third).
 */
import 'reflect-metadata';
import type { INestApplication } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import autocannon from 'autocannon';
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer as createHttpServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { createServer, type AddressInfo } from 'node:net';
import { cpus, tmpdir } from 'node:os';
import { join } from 'node:path';
import { LlmRotateService } from '../lib';

interface Args {
  seconds: number;
  connections: number;
  redis: boolean;
  heapLimitMb: number;
}

function args(): Args {
  const a = process.argv.slice(2);
  const num = (name: string, d: number): number => {
    const i = a.indexOf(`--${name}`);
    return i >= 0 ? Number(a[i + 1]) : d;
  };
  return { seconds: num('seconds', 30), connections: num('connections', 32), redis: a.includes('--redis'), heapLimitMb: num('heap-limit-mb', 16) };
}

// ───────────────────────── a faulty upstream (OpenAI wire format) ─────────────────────────

/** Per request: 84% ok (5–40 ms), 2% 429 (retry-after 1 s), 4% 500, 6% slow (300–900 ms), 2% reset, 2% a stream cut short. */
function faultyUpstream(): Promise<{ url: string; server: Server; counts: Record<string, number> }> {
  const counts: Record<string, number> = {};
  const server = createHttpServer((req: IncomingMessage, res: ServerResponse) => {
    let body = '';
    req.on('data', (c: Buffer) => (body += c.toString()));
    req.on('end', () => {
      const stream = body.includes('"stream":true');
      const r = Math.random();
      const kind = r < 0.84 ? 'ok' : r < 0.86 ? '429' : r < 0.9 ? '500' : r < 0.96 ? 'slow' : r < 0.98 ? 'reset' : 'cut';
      counts[kind] = (counts[kind] ?? 0) + 1;
      const answer = (): void => {
        if (kind === '429') return json(res, 429, { error: { message: 'Rate limit reached', type: 'requests', code: 'rate_limit_exceeded' } }, { 'retry-after': '1' });
        if (kind === '500') return json(res, 500, { error: { message: 'The server had an error', type: 'server_error' } });
        if (kind === 'reset') return void res.socket?.destroy();
        if (!stream) {
          return json(res, 200, {
            id: 'chatcmpl-soak',
            object: 'chat.completion',
            model: 'gpt-4o-mini',
            choices: [{ index: 0, message: { role: 'assistant', content: 'soak answer' }, finish_reason: 'stop' }],
            usage: { prompt_tokens: 12, completion_tokens: 2, total_tokens: 14 },
          });
        }
        res.writeHead(200, { 'content-type': 'text/event-stream' });
        const chunk = (o: unknown): boolean => res.write(`data: ${JSON.stringify(o)}\n\n`);
        chunk({ choices: [{ index: 0, delta: { content: 'soak ' }, finish_reason: null }] });
        if (kind === 'cut') return void res.socket?.destroy();
        chunk({ choices: [{ index: 0, delta: { content: 'answer' }, finish_reason: 'stop' }] });
        chunk({ choices: [], usage: { prompt_tokens: 12, completion_tokens: 2 } });
        res.end('data: [DONE]\n\n');
      };
      setTimeout(answer, kind === 'slow' ? 300 + Math.random() * 600 : 5 + Math.random() * 35);
    });
  });
  return new Promise((resolve) => server.listen(0, '127.0.0.1', () => resolve({ url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, server, counts })));
}

function json(res: ServerResponse, status: number, body: unknown, headers: Record<string, string> = {}): void {
  res.writeHead(status, { 'content-type': 'application/json', ...headers });
  res.end(JSON.stringify(body));
}

// ───────────────────────── a Redis server that can be killed and restarted on its port ─────────────────────────

class RedisProcess {
  private proc: ChildProcess | undefined;
  constructor(readonly port: number) {}
  get url(): string {
    return `redis://127.0.0.1:${this.port}`;
  }
  start(): Promise<void> {
    this.proc = spawn('redis-server', ['--port', String(this.port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no'], { stdio: 'ignore' });
    const p = this.proc;
    process.once('exit', () => p.kill('SIGKILL'));
    return new Promise((r) => setTimeout(r, 300));
  }
  kill(): void {
    this.proc?.kill('SIGKILL');
    this.proc = undefined;
  }
}

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = createServer();
    s.once('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const port = (s.address() as AddressInfo).port;
      s.close(() => resolve(port));
    });
  });
}

// ───────────────────────── the run ─────────────────────────

const LIBRARY_ERRORS = /^(NoAvailableKeyError|AllKeysExhaustedError|ProviderHttpError|ProviderBadRequestError|ProviderTimeoutError|ProviderTransportError|StreamInterruptedError|CallCancelledError|ClosedError|InvalidRequestError|UnknownModelError)$/;

interface Tally {
  ok: number;
  typed: Record<string, number>;
  untyped: string[];
  streams: { complete: number; typedError: number; broken: number };
}

function judge(t: Tally, status: number, body: string, stream: boolean): void {
  if (status === 200 && !stream) {
    if (body.includes('"content"')) t.ok++;
    else t.untyped.push(`200 without an answer: ${body.slice(0, 120)}`);
    return;
  }
  if (status === 200 && stream) {
    const m = /event: error\ndata: (.*)\n/.exec(body);
    if (m !== null) {
      const type = (JSON.parse(m[1]) as { type?: string }).type ?? '';
      if (LIBRARY_ERRORS.test(type)) {
        t.streams.typedError++;
        t.typed[type] = (t.typed[type] ?? 0) + 1;
      } else t.untyped.push(`stream error event without a library type: ${m[1].slice(0, 120)}`);
    } else if (body.includes('"finishReason"')) t.streams.complete++;
    else t.streams.broken++;
    return;
  }
  try {
    const type = (JSON.parse(body) as { type?: string }).type ?? '';
    if (LIBRARY_ERRORS.test(type)) t.typed[type] = (t.typed[type] ?? 0) + 1;
    else t.untyped.push(`${status}: ${body.slice(0, 120)}`);
  } catch {
    t.untyped.push(`${status} (not JSON): ${body.slice(0, 120)}`);
  }
}

function heapMb(): number {
  (globalThis as { gc?: () => void }).gc?.();
  return process.memoryUsage().heapUsed / 1048576;
}

async function leasesInUse(app: INestApplication): Promise<number> {
  const snap = await app.get(LlmRotateService).snapshot();
  return snap.keys.reduce((n, k) => n + k.leasesInUse, 0);
}

async function main(): Promise<void> {
  const a = args();
  if ((globalThis as { gc?: unknown }).gc === undefined) throw new Error('run with node --expose-gc (npm run soak does)');
  const upstream = await faultyUpstream();
  const redis = a.redis ? new RedisProcess(await freePort()) : undefined;
  await redis?.start();
  const dir = mkdtempSync(join(tmpdir(), 'llmrotate-soak-'));
  const registry = {
    registry: {
      keys: Array.from({ length: 12 }, (_, i) => ({ keyId: `soak-${i + 1}`, provider: 'openai', secretRef: `literal://sk-soak-${i + 1}`, models: ['gpt-4o-mini'], baseUrl: `${upstream.url}/v1` })),
      providers: { openai: { timeoutMs: 2000, cooldownSeconds: 1, quarantineSeconds: 2, maxConsecutiveFailures: 5 } },
      stateStore: redis !== undefined ? { backend: 'redis', redisUrl: redis.url, commandTimeoutMs: 250 } : { backend: 'memory' },
    },
    useKeys: Array.from({ length: 12 }, (_, i) => `soak-${i + 1}`),
  };
  const file = join(dir, 'registry.json');
  writeFileSync(file, JSON.stringify(registry));
  process.env.LLM_ROTATE_CONFIG = file;
  process.env.LLM_MODEL = 'gpt-4o-mini';
  const { AppModule } = await import('../sample/app.module');
  const app = await NestFactory.create(AppModule, { logger: ['error'] });
  await app.listen(0, '127.0.0.1');
  const base = `http://127.0.0.1:${(app.getHttpServer().address() as AddressInfo).port}`;

  const tally: Tally = { ok: 0, typed: {}, untyped: [], streams: { complete: 0, typedError: 0, broken: 0 } };
  const chatBody = JSON.stringify({ messages: [{ role: 'user', content: 'soak' }] });
  const streamBody = JSON.stringify({ stream: true, messages: [{ role: 'user', content: 'soak' }] });
  const requests = [
    { method: 'POST' as const, path: '/chat', headers: { 'content-type': 'application/json' }, body: chatBody, onResponse: (s: number, b: string) => judge(tally, s, b, false) },
    { method: 'POST' as const, path: '/chat', headers: { 'content-type': 'application/json' }, body: chatBody, onResponse: (s: number, b: string) => judge(tally, s, b, false) },
    { method: 'POST' as const, path: '/chat', headers: { 'content-type': 'application/json' }, body: streamBody, onResponse: (s: number, b: string) => judge(tally, s, b, true) },
  ];

  // Warm up, then the heap baseline.
  await autocannon({ url: base, connections: a.connections, duration: 3, requests });
  Object.assign(tally, { ok: 0, typed: {}, untyped: [], streams: { complete: 0, typedError: 0, broken: 0 } });
  const heapStart = heapMb();
  const heapSamples: number[] = [];
  const sampler = setInterval(() => heapSamples.push(process.memoryUsage().heapUsed / 1048576), 1000);
  if (redis !== undefined) {
    setTimeout(() => redis.kill(), (a.seconds * 1000) / 3);
    setTimeout(() => void redis.start(), (a.seconds * 1000) / 3 + 3000);
  }
  const result = await autocannon({ url: base, connections: a.connections, duration: a.seconds, requests, timeout: 30 });
  clearInterval(sampler);

  let leases = await leasesInUse(app);
  for (let i = 0; i < 50 && leases !== 0; i++) {
    await new Promise((r) => setTimeout(r, 100));
    leases = await leasesInUse(app);
  }
  const heapEnd = heapMb();
  const store = app.get(LlmRotateService).storeHealth();
  await app.close();
  await new Promise<void>((r) => upstream.server.close(() => r()));
  upstream.server.closeAllConnections?.();
  redis?.kill();
  rmSync(dir, { recursive: true, force: true });

  const answered = tally.ok + tally.streams.complete + Object.values(tally.typed).reduce((n, v) => n + v, 0);
  const growth = heapEnd - heapStart;
  const failures: string[] = [];
  if (tally.untyped.length > 0) failures.push(`${tally.untyped.length} untyped answers, e.g. ${tally.untyped.slice(0, 3).join(' | ')}`);
  if (tally.streams.broken > 0) failures.push(`${tally.streams.broken} streams ended without a last chunk or an error event`);
  if (result.errors > 0 || result.timeouts > 0) failures.push(`${result.errors} connection errors, ${result.timeouts} timeouts`);
  if (leases !== 0) failures.push(`${leases} leases still in use after the load`);
  if (growth > a.heapLimitMb) failures.push(`the heap grew ${growth.toFixed(1)} MB (limit ${a.heapLimitMb} MB)`);

  const out = console.log;
  out(`Soak: ${a.seconds} s, ${a.connections} connections, ${a.redis ? 'Redis store (killed at 1/3, restarted 3 s later)' : 'memory store'}; ${cpus().length} × ${cpus()[0]?.model.trim()}, Node ${process.version}`);
  out(`upstream answers: ${JSON.stringify(upstream.counts)}`);
  out('');
  out('| requests | req/s | p50 ms | p99 ms | 200 chat | streams complete | typed errors | untyped | conn. errors / timeouts | leases after | heap start → end MB |');
  out('|---|---|---|---|---|---|---|---|---|---|---|');
  out(
    `| ${result.requests.total} | ${result.requests.average.toFixed(0)} | ${result.latency.p50} | ${result.latency.p99} | ${tally.ok} | ${tally.streams.complete} | ${Object.entries(tally.typed).map(([k, v]) => `${k} ${v}`).join(', ') || 0} | ${tally.untyped.length} | ${result.errors} / ${result.timeouts} | ${leases} | ${heapStart.toFixed(1)} → ${heapEnd.toFixed(1)} |`,
  );
  out('');
  out(`answered (200 or a typed error): ${answered} of ${result.requests.total}; heap samples during the run: ${heapSamples.map((h) => h.toFixed(0)).join(' ')} MB; store at the end: ${store.status}`);
  if (failures.length > 0) {
    out(`\nFAILED:\n- ${failures.join('\n- ')}`);
    process.exitCode = 1;
  } else out('\nOK: every request answered or given a typed error, leases back to 0, heap flat.');
}

main().catch((e: unknown) => {
  console.error(e);
  process.exitCode = 1;
});
