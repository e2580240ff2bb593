import { Logger, type INestApplication } from '@nestjs/common';
import { Test } from '@nestjs/testing';
import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { request as httpRequest, type IncomingMessage } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import type { Response as AgentResponse } from 'superagent';
import request from 'supertest';
import { LlmRotateService, type ChatChunk, type ChatResult, type UsageEvent } from '../../lib';
import { AppModule } from '../../sample/app.module';
import { DEMO_KEYS, DemoUpstream, type DemoUpstreamEvent } from '../../sample/demo/demo-upstream';
import { DemoUpstreamService } from '../../sample/demo/demo-upstream.service';
import { OpenAiFake } from '../fakes/openai-fake';
import { sampleChildEnv, setSampleEnv } from '../support/env';
import { parseSse } from '../support/sse-events';
import { eventSourceGet } from './event-stream-client';

const ROOT = resolve(__dirname, '../..');
const HI = { messages: [{ role: 'user', content: 'hi there' }] };
const SECRET_TRACES = [DEMO_KEYS.limited.value, DEMO_KEYS.ok.value, 'env://', DEMO_KEYS.limited.env, DEMO_KEYS.ok.env, 'secretRef'];

/** Reads a whole response body as text (event streams included); superagent hands the Node response to parsers. */
function text(res: AgentResponse, cb: (err: Error | null, body: string) => void): void {
  const raw = res as unknown as IncomingMessage;
  let s = '';
  raw.setEncoding('utf8');
  raw.on('data', (c: string) => (s += c));
  raw.on('end', () => cb(null, s));
}

function expectNoSecret(body: string): void {
  for (const s of SECRET_TRACES) expect(body).not.toContain(s);
}

async function startSampleApp(): Promise<INestApplication> {
  const moduleRef = await Test.createTestingModule({ imports: [AppModule] }).compile();
  const app = moduleRef.createNestApplication();
  await app.init();
  return app;
}

/** Listens on a free port of 127.0.0.1 (once; later calls reuse it) and returns the base URL. */
async function listening(app: INestApplication): Promise<string> {
  if (!app.getHttpServer().listening) await app.listen(0, '127.0.0.1');
  return urlOf(app);
}

function urlOf(app: INestApplication): string {
  const { port } = app.getHttpServer().address() as AddressInfo;
  return `http://127.0.0.1:${port}`;
}

function chunksOf(body: string): ChatChunk[] {
  const events = parseSse(body);
  for (const e of events) expect(e.event).toBeUndefined();
  return events.map((e) => JSON.parse(e.data) as ChatChunk);
}

function waitFor<T>(what: string, p: Promise<T>, ms = 15_000): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  return Promise.race([
    p.finally(() => clearTimeout(timer)),
    new Promise<T>((_, reject) => {
      timer = setTimeout(() => reject(new Error(`timed out waiting for ${what}`)), ms);
    }),
  ]);
}

async function eventually(check: () => Promise<boolean>, what: string, ms = 10_000): Promise<void> {
  const end = Date.now() + ms;
  while (!(await check())) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

beforeAll(() => Logger.overrideLogger(false));

describe('sample app in demo mode (no provider key in the environment)', () => {
  let restoreEnv: () => void;
  let app: INestApplication;
  let upstreamEvents: DemoUpstreamEvent[];

  beforeAll(async () => {
    restoreEnv = setSampleEnv();
    app = await startSampleApp();
    const upstream = app.get(DemoUpstreamService).running;
    expect(upstream).toBeDefined();
    upstreamEvents = [];
    upstream?.onEvent((e) => upstreamEvents.push(e));
  });
  afterAll(async () => {
    await app?.close();
    restoreEnv();
  });

  it('POST /chat rotates past the rate-limited key to the working one', async () => {
    const res = await request(app.getHttpServer()).post('/chat').send(HI).expect(200).expect('content-type', /application\/json/);
    const result = res.body as ChatResult;
    expect(result.keyId).toBe(DEMO_KEYS.ok.keyId);
    expect(result.provider).toBe('openai');
    expect(result.model).toBe('gpt-4o-mini');
    expect(result.content).toContain('You said: "hi there"');
    expect(result.attempts.map((a) => [a.keyId, a.outcome, a.status])).toEqual([
      [DEMO_KEYS.limited.keyId, 'rate_limit', 429],
      [DEMO_KEYS.ok.keyId, 'success', undefined],
    ]);
    expect(result.usage.outputTokens).toBeGreaterThan(0);
    expectNoSecret(res.text);
    // The cooled key is skipped by the next call: the upstream sees only the working key.
    upstreamEvents.length = 0;
    const again = await request(app.getHttpServer()).post('/chat').send(HI).expect(200);
    expect((again.body as ChatResult).attempts.map((a) => a.keyId)).toEqual([DEMO_KEYS.ok.keyId]);
    expect(upstreamEvents.map((e) => e.type === 'answered' && e.key)).toEqual(['ok']);
  });

  it('GET /health is up, shows the limited key in COOLDOWN, and names no secret', async () => {
    await request(app.getHttpServer()).post('/chat').send(HI).expect(200);
    const res = await request(app.getHttpServer()).get('/health').expect(200);
    expect(res.body.status).toBe('ok');
    const llm = res.body.details.llm;
    expect(llm.status).toBe('up');
    expect(llm.providers.openai).toEqual({ keys: 2, available: 1 });
    expect(llm.store).toMatchObject({ backend: 'memory', status: 'up' });
    expect(llm.keys[DEMO_KEYS.limited.keyId]).toMatchObject({ provider: 'openai', state: 'COOLDOWN', available: false });
    // retry-after: 30 sets the cooldown's end about 30 s ahead.
    const until = Date.parse(llm.keys[DEMO_KEYS.limited.keyId].until as string) - Date.now();
    expect(until).toBeGreaterThan(20_000);
    expect(until).toBeLessThanOrEqual(31_000);
    expect(llm.keys[DEMO_KEYS.ok.keyId]).toMatchObject({ state: 'ACTIVE', available: true, consecutiveFailures: 0, leasesInUse: 0 });
    expectNoSecret(res.text);
  });

  it.each([
    ['the body says stream: true', { ...HI, stream: true }, undefined],
    ['the request accepts text/event-stream', HI, 'text/event-stream'],
  ])('POST /chat streams SSE when %s', async (_, body, accept) => {
    let req = request(app.getHttpServer()).post('/chat').send(body);
    if (accept !== undefined) req = req.set('Accept', accept);
    const res = await req.buffer(true).parse(text).expect(200).expect('content-type', /text\/event-stream/);
    const raw = res.body as string;
    expect(raw.startsWith('data: {')).toBe(true);
    const chunks = chunksOf(raw);
    expect(chunks.length).toBeGreaterThan(3);
    for (const c of chunks) expect(c).toMatchObject({ provider: 'openai', model: 'gpt-4o-mini', keyId: DEMO_KEYS.ok.keyId });
    const last = chunks[chunks.length - 1];
    expect(last.finishReason).toBe('stop');
    expect(last.usage?.inputTokens).toBeGreaterThan(0);
    expect(last.usage?.outputTokens).toBeGreaterThan(0);
    for (const c of chunks.slice(0, -1)) expect(c.finishReason).toBeUndefined();
    expect(chunks.map((c) => c.delta).join('')).toContain('You said: "hi there"');
    expectNoSecret(raw);
  });

  it('GET /chat/stream?prompt= serves an EventSource: 200, text/event-stream, one event per chunk, the last with finishReason', async () => {
    const res = await eventSourceGet(`${await listening(app)}/chat/stream?prompt=${encodeURIComponent('hi there')}&system=be+brief&model=gpt-4.1-nano&maxTokens=200&temperature=0.5`);
    expect(res.status).toBe(200);
    expect(res.headers['content-type']).toMatch(/^text\/event-stream/);
    expect(res.events.length).toBeGreaterThan(3);
    for (const e of res.events) expect(e.type).toBe('message');
    const chunks = res.events.map((e) => JSON.parse(e.data) as ChatChunk);
    for (const c of chunks) expect(c).toMatchObject({ provider: 'openai', model: 'gpt-4.1-nano', keyId: DEMO_KEYS.ok.keyId });
    expect(chunks.at(-1)?.finishReason).toBe('stop');
    expect(chunks.map((c) => c.delta).join('')).toContain('You said: "hi there"');
    expect(upstreamEvents.at(-1)).toMatchObject({ type: 'answered', key: 'ok', stream: true, model: 'gpt-4.1-nano' });
    expectNoSecret(res.body);
  });

  it.each([
    ['no prompt', '', /^prompt /],
    ['a temperature that is not a number', '?prompt=hi&temperature=hot', /^temperature must not be greater than 2|^temperature must be a number/],
    ['a parameter it does not know', '?prompt=hi&stream=1', /^property stream should not exist/],
  ])('GET /chat/stream with %s answers 400 JSON naming the parameter (EventSource sees an error)', async (_, query, message) => {
    const res = await request(app.getHttpServer()).get(`/chat/stream${query}`).set('Accept', 'text/event-stream').expect(400);
    expect(res.headers['content-type']).toMatch(/application\/json/);
    expect((res.body.message as string[]).some((m) => message.test(m))).toBe(true);
  });

  it('uses the model the body names', async () => {
    const res = await request(app.getHttpServer()).post('/chat').send({ ...HI, model: 'gpt-4.1-nano' }).expect(200);
    expect((res.body as ChatResult).model).toBe('gpt-4.1-nano');
    expect(upstreamEvents.at(-1)).toMatchObject({ type: 'answered', key: 'ok', model: 'gpt-4.1-nano' });
  });

  it.each([
    ['a role the API does not know', { messages: [{ role: 'robot', content: 'hi' }] }, /^messages\.0\.role must be one of/],
    ['no messages', {}, /^messages /],
    ['an empty message list', { messages: [] }, /^messages should not be empty/],
    ['content that is not text', { messages: [{ role: 'user', content: 42 }] }, /^messages\.0\.content must be a string/],
    ['a field it does not know', { ...HI, temprature: 0.2 }, /^property temprature should not exist/],
    ['a temperature out of range', { ...HI, temperature: 7 }, /^temperature must not be greater than 2/],
  ])('answers 400 naming the field for %s', async (_, body, message) => {
    const res = await request(app.getHttpServer()).post('/chat').send(body).expect(400);
    expect(res.body.error).toBe('Bad Request');
    expect((res.body.message as string[]).some((m) => message.test(m))).toBe(true);
  });

  it("answers the provider's 400 (the caller's fault) as 400 with its message, also when asked to stream", async () => {
    const res = await request(app.getHttpServer()).post('/chat').send({ ...HI, maxTokens: 100_000 }).expect(400);
    expect(res.body).toMatchObject({ statusCode: 400, error: 'Bad Request', type: 'ProviderBadRequestError' });
    expect(res.body.message).toMatch(/max_tokens is too large: 100000/);
    expectNoSecret(res.text);
    const sse = await request(app.getHttpServer()).post('/chat').set('Accept', 'text/event-stream').send({ ...HI, maxTokens: 100_000 }).expect(400);
    expect(sse.headers['content-type']).toMatch(/application\/json/);
    expect(sse.body.message).toMatch(/max_tokens is too large/);
    // The caller's fault does not hurt the key.
    const snap = await app.get(LlmRotateService).snapshot();
    expect(snap.keys.find((k) => k.keyId === DEMO_KEYS.ok.keyId)).toMatchObject({ state: 'ACTIVE', consecutiveFailures: 0 });
  });
});

describe('sample app when every key is unavailable (registry file from LLM_ROTATE_CONFIG)', () => {
  let restoreEnv: () => void;
  let app: INestApplication;
  let upstream: DemoUpstream;
  let dir: string;
  const answered: DemoUpstreamEvent[] = [];

  beforeAll(async () => {
    upstream = await DemoUpstream.start();
    upstream.onEvent((e) => answered.push(e));
    dir = mkdtempSync(join(tmpdir(), 'llm-rotate-sample-'));
    const file = join(dir, 'registry.json');
    // The Python library's snake_case form; both keys hold the demo's always-429 key.
    writeFileSync(
      file,
      JSON.stringify({
        registry: {
          keys: ['limited-a', 'limited-b'].map((key_id) => ({ key_id, provider: 'openai', secret_ref: `env://${DEMO_KEYS.limited.env}`, base_url: upstream.baseUrl })),
        },
        use_keys: ['limited-a', 'limited-b'],
      }),
    );
    restoreEnv = setSampleEnv({ LLM_ROTATE_CONFIG: file, LLM_MODEL: 'gpt-4.1-mini', [DEMO_KEYS.limited.env]: DEMO_KEYS.limited.value });
    app = await startSampleApp();
  });
  afterAll(async () => {
    await app?.close();
    await upstream?.close();
    restoreEnv();
    rmSync(dir, { recursive: true, force: true });
  });

  it('starts no demo upstream of its own', () => {
    expect(app.get(DemoUpstreamService).running).toBeUndefined();
  });

  it('POST /chat answers 503 with Retry-After and no key id (the library filter), then GET /health is down (503)', async () => {
    const res = await request(app.getHttpServer()).post('/chat').send(HI).expect(503);
    expect(Number(res.headers['retry-after'])).toBeGreaterThanOrEqual(29);
    expect(Number(res.headers['retry-after'])).toBeLessThanOrEqual(30);
    expect(res.body).toMatchObject({ statusCode: 503, error: 'Service Unavailable', type: 'AllKeysExhaustedError' });
    expect(Object.keys(res.body).sort()).toEqual(['error', 'message', 'retryAfterMs', 'statusCode', 'type']);
    expect(res.body.retryAfterMs).toBeGreaterThan(28_000);
    expect(res.body.retryAfterMs).toBeLessThanOrEqual(30_000);
    expect(res.body.message).toMatch(/^Every key tried for openai\/gpt-4\.1-mini failed \(rate_limit 429 ×2\); retry in (29|30) s$/);
    expect(res.text).not.toMatch(/limited-a|limited-b/);
    expectNoSecret(res.text);

    const health = await request(app.getHttpServer()).get('/health').expect(503);
    expect(health.body.status).toBe('error');
    const llm = health.body.error.llm;
    expect(llm.status).toBe('down');
    expect(llm.message).toMatch(/openai/);
    expect(llm.providers.openai).toEqual({ keys: 2, available: 0 });
    expect(llm.keys['limited-a'].state).toBe('COOLDOWN');
    expect(llm.keys['limited-b'].state).toBe('COOLDOWN');
    expectNoSecret(health.text);
  });

  it('a later POST /chat (streaming too) gets 503 before any event, without calling the upstream', async () => {
    await request(app.getHttpServer()).post('/chat').send(HI); // cools both keys, if the test above did not run
    const before = answered.length;
    const res = await request(app.getHttpServer()).post('/chat').set('Accept', 'text/event-stream').send({ ...HI, stream: true }).expect(503);
    expect(res.headers['content-type']).toMatch(/application\/json/);
    expect(Number(res.headers['retry-after'])).toBeGreaterThanOrEqual(1);
    expect(Number(res.headers['retry-after'])).toBeLessThanOrEqual(30);
    expect(res.body).toMatchObject({ statusCode: 503, type: 'NoAvailableKeyError' });
    expect(res.body.message).toMatch(/^No API key is available for this request now; retry in \d+ s$/);
    expect(answered.length).toBe(before);
  });

  it('GET /chat/stream (EventSource) answers 200 and one error event with type, message and retryAfterMs, then ends', async () => {
    await request(app.getHttpServer()).post('/chat').send(HI); // cools both keys, if the tests above did not run
    const res = await eventSourceGet(`${await listening(app)}/chat/stream?prompt=hi`);
    expect(res.status).toBe(200);
    expect(res.headers['content-type']).toMatch(/^text\/event-stream/);
    expect(res.events.map((e) => e.type)).toEqual(['error']);
    const data = JSON.parse(res.events[0].data) as Record<string, unknown>;
    expect(Object.keys(data).sort()).toEqual(['message', 'retryAfterMs', 'type']);
    expect(data.type).toBe('NoAvailableKeyError');
    expect(data.retryAfterMs).toBeGreaterThan(0);
    expect(res.body).not.toMatch(/Internal server error|limited-a|limited-b/);
    expectNoSecret(res.body);
  });
});

describe('sample app: a client leaving mid-stream cancels the upstream', () => {
  let restoreEnv: () => void;
  let app: INestApplication;

  beforeAll(async () => {
    // Slow stream: the client leaves long before it ends.
    restoreEnv = setSampleEnv({ DEMO_STREAM_DELAY_MS: '100' });
    app = await startSampleApp();
    await app.listen(0, '127.0.0.1');
  });
  afterAll(async () => {
    await app?.close();
    restoreEnv();
  });

  it('closes the upstream connection and releases the key without blaming it', async () => {
    const upstream = app.get(DemoUpstreamService).running as DemoUpstream;
    const llm = app.get(LlmRotateService);
    const usage: UsageEvent[] = [];
    const sub = llm.usage$.subscribe((e) => usage.push(e));
    const cancelled = new Promise<DemoUpstreamEvent>((done) => upstream.onEvent((e) => e.type === 'stream-cancelled' && done(e)));
    const { port } = app.getHttpServer().address() as AddressInfo;

    const firstEvent = await waitFor(
      'the first SSE event',
      new Promise<string>((done, fail) => {
        const req = httpRequest({ host: '127.0.0.1', port, path: '/chat', method: 'POST', headers: { 'content-type': 'application/json', accept: 'text/event-stream' } }, (res) => {
          res.setEncoding('utf8');
          res.on('data', (c: string) => {
            if (!c.includes('data: ')) return;
            req.destroy(); // the client goes away
            done(c);
          });
        });
        req.on('error', (e) => fail(e));
        req.end(JSON.stringify(HI));
      }),
    );
    expect(JSON.parse(parseSse(firstEvent)[0].data)).toMatchObject({ keyId: DEMO_KEYS.ok.keyId });

    const ev = await waitFor('the upstream to see its stream closed', cancelled);
    expect(ev).toMatchObject({ type: 'stream-cancelled', key: 'ok' });
    if (ev.type === 'stream-cancelled') expect(ev.chunksSent).toBeLessThan(10); // ~28 events in all

    await eventually(async () => usage.some((e) => e.source === 'stream' && e.keyId === DEMO_KEYS.ok.keyId && e.outcome === 'cancelled'), 'the cancelled usage event');
    await eventually(async () => (await llm.snapshot()).keys.find((k) => k.keyId === DEMO_KEYS.ok.keyId)?.leasesInUse === 0, 'the lease to be released');
    const ok = (await llm.snapshot()).keys.find((k) => k.keyId === DEMO_KEYS.ok.keyId);
    expect(ok).toMatchObject({ state: 'ACTIVE', consecutiveFailures: 0, available: true });
    sub.unsubscribe();
  });
});

describe('sample app with keys in the environment', () => {
  let restoreEnv: () => void;
  let app: INestApplication;
  let fake: OpenAiFake;

  beforeAll(async () => {
    // "Real" keys, pointed at a local fake of OpenAI through OPENAI_BASE_URL (as the openai SDK reads it).
    fake = await OpenAiFake.start();
    fake.script('sk-env-first-0000', 'auth');
    restoreEnv = setSampleEnv({
      OPENAI_API_KEY: 'sk-env-first-0000',
      OPENAI_API_KEY_2: 'sk-env-second-0000',
      OPENAI_BASE_URL: fake.baseUrl,
      LLM_STRATEGY: 'round_robin',
      LLM_MODEL: 'gpt-4.1-mini',
    });
    app = await startSampleApp();
  });
  afterAll(async () => {
    await app?.close();
    await fake?.close();
    restoreEnv();
  });

  it('uses them (env:// refs) instead of the demo, with LLM_STRATEGY and LLM_MODEL', async () => {
    expect(app.get(DemoUpstreamService).running).toBeUndefined();
    const res = await request(app.getHttpServer()).post('/chat').send(HI).expect(200);
    const result = res.body as ChatResult;
    expect(result.attempts.map((a) => [a.keyId, a.outcome])).toEqual([
      ['openai-1', 'auth'],
      ['openai-2', 'success'],
    ]);
    expect(result.model).toBe('gpt-4.1-mini');
    expect(fake.hits('sk-env-first-0000')).toBe(1);
    expect(fake.hits('sk-env-second-0000')).toBe(1);
    expect(res.text).not.toContain('sk-env-');

    const health = await request(app.getHttpServer()).get('/health').expect(200);
    expect(health.body.details.llm.strategy).toBe('round_robin');
    expect(health.body.details.llm.keys['openai-1'].state).toBe('QUARANTINE');
    expect(health.body.details.llm.keys['openai-2'].state).toBe('ACTIVE');
    expect(health.text).not.toContain('sk-env-');
    expect(health.text).not.toContain('OPENAI_API_KEY');
  });
});

describe('sample app with a key of every supported provider in the environment', () => {
  let restoreEnv: () => void;
  let app: INestApplication;

  beforeAll(async () => {
    restoreEnv = setSampleEnv({
      OPENAI_API_KEY: 'sk-env-openai-0000',
      OPENAI_API_KEY_2: 'sk-env-openai-0001',
      ANTHROPIC_API_KEY: 'sk-ant-env-0000',
      GEMINI_API_KEY: 'gemini-env-0000',
      OPENROUTER_API_KEY: 'sk-or-env-0000',
      AZURE_OPENAI_API_KEY: 'azure-env-0000',
      AZURE_OPENAI_ENDPOINT: 'https://example-resource.openai.azure.com',
      AWS_BEARER_TOKEN_BEDROCK: 'bedrock-env-0000',
      AWS_REGION: 'eu-central-1',
      GOOGLE_APPLICATION_CREDENTIALS: '/run/secrets/vertex-sa.json',
      GOOGLE_CLOUD_LOCATION: 'europe-west4',
    });
    app = await startSampleApp();
  });
  afterAll(async () => {
    await app?.close();
    restoreEnv();
  });

  it('makes one key per variable, and /health lists them by id only (and tells the truth before the first call)', async () => {
    // The Vertex key file does not exist on this machine: found at start-up, so /health is down for google_vertex.
    const res = await request(app.getHttpServer()).get('/health').expect(503);
    const keys = res.body.error.llm.keys as Record<string, { provider: string; state: string; available: boolean }>;
    expect(Object.fromEntries(Object.entries(keys).map(([id, k]) => [id, k.provider]))).toEqual({
      'openai-1': 'openai',
      'openai-2': 'openai',
      'anthropic-1': 'anthropic',
      'gemini-1': 'google_ai_studio',
      'openrouter-1': 'openrouter',
      'azure-1': 'azure_openai',
      'bedrock-1': 'bedrock',
      'vertex-1': 'google_vertex',
    });
    for (const k of Object.values(keys)) expect(k.state).toBe('ACTIVE');
    for (const [id, k] of Object.entries(keys)) expect([id, k.available]).toEqual([id, id !== 'vertex-1']);
    expect(res.body.error.llm.message).toBe('No available key for google_vertex (need 1 each)');
    const vertex = (await app.get(LlmRotateService).snapshot()).keys.find((k) => k.keyId === 'vertex-1');
    expect(vertex?.reason).toMatch(/^its secret cannot be resolved: cannot read .*ENOENT/);
    expect(res.text).not.toMatch(/-env-|_API_KEY/);
    expect(app.get(DemoUpstreamService).running).toBeUndefined();
  });
});

describe('npm start: the compiled sample as a process', () => {
  jest.setTimeout(180_000);
  const main = join(ROOT, 'dist-sample/sample/main.js');
  const children = new Set<ChildProcess>();
  const emptyDir = mkdtempSync(join(tmpdir(), 'llm-rotate-sample-cwd-'));

  beforeAll(async () => {
    // What `npm start`'s prestart does.
    const out = await new Promise<{ code: number; output: string }>((done) => {
      execFile(process.execPath, [join(ROOT, 'node_modules/typescript/bin/tsc'), '-p', 'tsconfig.sample.json'], { cwd: ROOT, timeout: 170_000 }, (err, stdout, stderr) =>
        done({ code: err === null ? 0 : typeof err.code === 'number' ? err.code : 1, output: `${stdout}${stderr}` }),
      );
    });
    expect(out.output).toBe('');
    expect(out.code).toBe(0);
  }, 180_000);
  afterAll(() => {
    for (const c of children) if (c.exitCode === null && c.signalCode === null) c.kill('SIGKILL');
    rmSync(emptyDir, { recursive: true, force: true });
  });

  interface Started {
    child: ChildProcess;
    output: () => string;
    exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  }

  function start(env: Record<string, string>): Started {
    // Run from an empty directory: a developer's `.env` in the project must not turn the demo into real calls.
    const child = spawn(process.execPath, [main], { cwd: emptyDir, env: sampleChildEnv({ NO_COLOR: '1', ...env }), stdio: ['ignore', 'pipe', 'pipe'] });
    children.add(child);
    let output = '';
    child.stdout?.on('data', (c: Buffer) => (output += c.toString('utf8')));
    child.stderr?.on('data', (c: Buffer) => (output += c.toString('utf8')));
    const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((done) => child.once('exit', (code, signal) => done({ code, signal })));
    return { child, output: () => output, exited };
  }

  async function listeningUrl(s: Started): Promise<string> {
    await eventually(async () => /Listening on http:\/\/localhost:\d+/.test(s.output()) || s.child.exitCode !== null, 'the sample to listen', 60_000);
    const m = /Listening on (http:\/\/localhost:\d+)/.exec(s.output());
    if (m === null) throw new Error(`the sample did not start:\n${s.output()}`);
    return m[1].replace('localhost', '127.0.0.1');
  }

  it.each(['SIGTERM', 'SIGINT'] as const)('serves the demo on PORT, then exits 0 on %s after closing the demo upstream', async (signal) => {
    const s = start({ PORT: '0' });
    const url = await listeningUrl(s);
    expect(s.output()).toMatch(/Demo mode: no provider key in the environment/);

    const chat = await fetch(`${url}/chat`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(HI) });
    expect(chat.status).toBe(200);
    const result = (await chat.json()) as ChatResult;
    expect(result.attempts.map((a) => a.outcome)).toEqual(['rate_limit', 'success']);
    expect(result.keyId).toBe(DEMO_KEYS.ok.keyId);

    const health = await fetch(`${url}/health`);
    expect(health.status).toBe(200);
    const body = await health.text();
    expect(JSON.parse(body).details.llm.keys[DEMO_KEYS.limited.keyId].state).toBe('COOLDOWN');
    expectNoSecret(body);

    s.child.kill(signal);
    const exit = await waitFor('the sample to exit', s.exited, 10_000);
    expect(exit).toEqual({ code: 0, signal: null });
    expect(s.output()).toMatch(/Demo upstream closed/);
    expectNoSecret(s.output());
  });

  /** A POST whose headers go out now and whose body goes out on `finish()`: it reaches the handler only then. */
  function slowPost(url: string, body: unknown): { finish: () => void; answer: Promise<{ status: number; text: string }> } {
    const text = JSON.stringify(body);
    let finish: () => void = () => undefined;
    const answer = new Promise<{ status: number; text: string }>((done, fail) => {
      const req = httpRequest(`${url}/chat`, { method: 'POST', agent: false, headers: { 'content-type': 'application/json', 'content-length': Buffer.byteLength(text) } }, (res) => {
        let got = '';
        res.setEncoding('utf8');
        res.on('data', (c: string) => (got += c));
        res.on('end', () => done({ status: res.statusCode ?? 0, text: got }));
        res.on('error', fail);
      });
      req.on('error', fail);
      req.flushHeaders();
      finish = () => req.end(text);
    });
    return { finish: () => finish(), answer };
  }

  async function leasesOf(url: string, keyId: string): Promise<number> {
    const health = (await (await fetch(`${url}/health`)).json()) as { details: { llm: { keys: Record<string, { leasesInUse: number }> } } };
    return health.details.llm.keys[keyId].leasesInUse;
  }

  it('SIGTERM with requests in flight: each is answered in full (200), one that reaches chat() only after the signal too, then exit 0', async () => {
    // The demo upstream thinks 2 s before each answer, so the requests below are in flight when the signal comes.
    const s = start({ PORT: '0', DEMO_RESPONSE_DELAY_MS: '2000', DEMO_STREAM_DELAY_MS: '10' });
    const url = await listeningUrl(s);
    // Cools the rate-limited key, so each call below holds one lease of demo-key-ok while the upstream thinks.
    expect((await fetch(`${url}/chat`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(HI) })).status).toBe(200);

    const chat = fetch(`${url}/chat`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ messages: [{ role: 'user', content: 'in flight A' }] }) }).then(async (r) => ({ status: r.status, result: (await r.json()) as ChatResult }));
    const getStream = eventSourceGet(`${url}/chat/stream?prompt=${encodeURIComponent('in flight B')}`);
    const postStream = fetch(`${url}/chat`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ stream: true, messages: [{ role: 'user', content: 'in flight C' }] }) }).then(async (r) => ({ status: r.status, text: await r.text() }));
    await eventually(async () => (await leasesOf(url, DEMO_KEYS.ok.keyId)) === 3, 'three calls waiting on the upstream', 20_000);
    // D: its headers are in, its body is not (a slow client, a buffering proxy): it reaches chat() after the signal.
    const late = slowPost(url, { messages: [{ role: 'user', content: 'late D' }] });
    await new Promise((r) => setTimeout(r, 200));

    s.child.kill('SIGTERM');
    const [a, b, c] = await waitFor('the calls in flight', Promise.all([chat, getStream, postStream]), 30_000);
    // Only now, after the others were answered (an engine closed at that point would refuse it), D's body goes out.
    late.finish();
    const d = await waitFor('the late request', late.answer, 30_000);
    const exit = await waitFor('the sample to exit', s.exited, 30_000);

    expect(a.status).toBe(200);
    expect(a.result.content).toContain('You said: "in flight A"');
    expect(a.result.finishReason).toBe('stop');
    expect(b.status).toBe(200);
    const bChunks = b.events.map((e) => JSON.parse(e.data) as ChatChunk);
    expect(b.events.every((e) => e.type === 'message')).toBe(true);
    expect(bChunks.map((x) => x.delta).join('')).toContain('You said: "in flight B"');
    expect(bChunks.at(-1)?.finishReason).toBe('stop');
    expect(c.status).toBe(200);
    const cChunks = chunksOf(c.text);
    expect(cChunks.map((x) => x.delta).join('')).toContain('You said: "in flight C"');
    expect(cChunks.at(-1)?.finishReason).toBe('stop');
    expect(d.status).toBe(200);
    expect((JSON.parse(d.text) as ChatResult).content).toContain('You said: "late D"');

    expect(exit).toEqual({ code: 0, signal: null });
    expect(s.output()).not.toMatch(/ClosedError|shutting down|still in flight/);
    expect(s.output()).toMatch(/Demo upstream closed/);
    // The server is gone: a new connection is refused (a load balancer sends it elsewhere), not accepted and dropped.
    await expect(fetch(`${url}/health`)).rejects.toThrow();
  });

  it('logs each usage event once: the sample\'s line by default, the engine\'s own with LLM_LOG_USAGE=log', async () => {
    for (const [env, own, engine] of [
      [{}, 2, 0],
      [{ LLM_LOG_USAGE: 'log' }, 0, 2],
    ] as const) {
      const s = start({ PORT: '0', ...env });
      const url = await listeningUrl(s);
      const res = await fetch(`${url}/chat`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(HI) });
      expect(((await res.json()) as ChatResult).attempts).toHaveLength(2);
      s.child.kill('SIGTERM');
      await waitFor('the sample to exit', s.exited, 30_000);
      const out = s.output();
      expect(out.match(/\[LlmUsage\] chat openai\/gpt-4o-mini key=demo-key-(limited|ok)/g) ?? []).toHaveLength(own);
      expect(out.match(/\[LlmRotate\] usage \{/g) ?? []).toHaveLength(engine);
      expect(out.match(/"keyId":"demo-key-ok"/g) ?? []).toHaveLength(engine === 0 ? 0 : 1);
      expectNoSecret(out);
    }
  });

  it('refuses a bad configuration at start-up: exit code 1, the problem named by path', async () => {
    const s = start({ PORT: '0', LLM_STRATEGY: 'fastest' });
    const exit = await waitFor('the sample to exit', s.exited, 60_000);
    expect(exit).toEqual({ code: 1, signal: null });
    expect(s.output()).toMatch(/strategy: /);
    expect(s.output()).not.toMatch(/Listening on/);
  });
});
