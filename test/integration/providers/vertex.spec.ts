import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { inspect } from 'node:util';
import {
  AllKeysExhaustedError,
  LlmRotate,
  ProviderBadRequestError,
  ProviderHttpError,
  SecretResolutionError,
  type ChatMessage,
  type UsageEvent,
} from '../../../lib';
import type { ProviderSettings } from '../../../lib/core/config/resolved-config';
import { VertexEndpoint } from '../../../lib/core/providers/gemini/vertex.endpoint';
import { GeminiFake, type GeminiBehavior } from '../../fakes/gemini-fake';
import { GoogleOAuthFake, type FakeServiceAccount } from '../../fakes/google-oauth-fake';
import { FakeClock } from '../../support/fake-clock';
import { makeOptions, recordingLogger, type TestKey } from '../../support/options';
import { keyRow, collect } from '../../support/engine';

const MODEL = 'gemini-2.0-flash';
const HI: ChatMessage[] = [{ role: 'user', content: 'hi' }];
const CLOUD_PLATFORM = 'https://www.googleapis.com/auth/cloud-platform';
/** Everything but Date: the token lifetime is judged by google-auth-library against Date.now(). */
const ALL_BUT_DATE = [
  'hrtime', 'nextTick', 'performance', 'queueMicrotask', 'requestAnimationFrame', 'cancelAnimationFrame', 'requestIdleCallback',
  'cancelIdleCallback', 'setImmediate', 'clearImmediate', 'setInterval', 'clearInterval', 'setTimeout', 'clearTimeout',
] as const;

describe('google_vertex provider (Vertex AI and OAuth token endpoint fakes on 127.0.0.1)', () => {
  let oauth: GoogleOAuthFake;
  let fake: GeminiFake;
  let clock: FakeClock;
  let dir: string;
  let sa1: FakeServiceAccount;
  let sa2: FakeServiceAccount;
  const open: LlmRotate[] = [];

  beforeAll(async () => {
    oauth = await GoogleOAuthFake.start();
    fake = await GeminiFake.start({ authorize: (token) => oauth.identityOf(token) });
    dir = mkdtempSync(join(tmpdir(), 'llm-rotate-vertex-'));
    sa1 = oauth.createServiceAccount('rotate-one', 'proj-one');
    sa2 = oauth.createServiceAccount('rotate-two', 'proj-two');
  });
  afterAll(async () => {
    await Promise.all([fake.close(), oauth.close()]);
    rmSync(dir, { recursive: true, force: true });
  });
  beforeEach(() => {
    clock = new FakeClock();
    fake.reset();
    oauth.expiresInSec = 3600;
  });
  afterEach(async () => {
    await Promise.all(open.splice(0).map((lr) => lr.close()));
  });

  let fileSeq = 0;
  /** The key file on disk, resolved through a file:// secretRef as in production. */
  function secretFile(json: string): string {
    const path = join(dir, `sa-${++fileSeq}.json`);
    writeFileSync(path, json, { mode: 0o600 });
    return `file://${path}`;
  }

  function vertexKey(keyId: string, sa: FakeServiceAccount | string, extra: Partial<TestKey> = {}): TestKey {
    const json = typeof sa === 'string' ? sa : sa.json;
    return { keyId, provider: 'google_vertex', models: [MODEL], secretRef: secretFile(json), ...extra };
  }

  const pair = (): TestKey[] => [vertexKey('v1', sa1, { priority: 1 }), vertexKey('v2', sa2)];

  async function engine(ks: TestKey[], extra: Parameters<typeof makeOptions>[2] = {}, logger = recordingLogger().logger): Promise<LlmRotate> {
    const lr = await LlmRotate.create(makeOptions(fake.url, ks, { strategy: 'priority', ...extra }), { clock, logger });
    open.push(lr);
    return lr;
  }



  const iso = (ms: number): string => new Date(ms).toISOString();
  const bearerOf = (i = -1): string | undefined => fake.calls.at(i)?.request.headers.authorization as string | undefined;

  describe('auth and URL', () => {
    it('mints a token with a signed JWT the endpoint verifies, then calls the regional publisher model URL with it', async () => {
      const before = oauth.tokenRequests(sa1.email);
      const lr = await engine([vertexKey('v1', sa1)]);
      const r = await lr.chat(MODEL, [{ role: 'system', content: 'Be brief.' }, ...HI, { role: 'assistant', content: 'Hello!' }, { role: 'user', content: 'again' }], { temperature: 0.1 });
      expect(r).toMatchObject({ content: `Hello from ${MODEL}`, provider: 'google_vertex', keyId: 'v1', model: MODEL, finishReason: 'stop', usage: { inputTokens: 11, outputTokens: 3 } });
      expect(oauth.tokenRequests(sa1.email)).toBe(before + 1);
      const grant = oauth.grants.at(-1);
      expect(grant?.email).toBe(sa1.email);
      expect(grant?.payload).toMatchObject({ iss: sa1.email, scope: CLOUD_PLATFORM });
      const call = fake.calls[0];
      expect(call.request.path).toBe(`/v1/projects/proj-one/locations/us-central1/publishers/google/models/${MODEL}:generateContent`);
      expect(bearerOf()).toBe(`Bearer ${oauth.tokensOf(sa1.email).at(-1)}`);
      expect(call.request.headers['x-goog-api-key']).toBeUndefined();
      expect(call.request.json).toEqual({
        systemInstruction: { parts: [{ text: 'Be brief.' }] },
        contents: [
          { role: 'user', parts: [{ text: 'hi' }] },
          { role: 'model', parts: [{ text: 'Hello!' }] },
          { role: 'user', parts: [{ text: 'again' }] },
        ],
        generationConfig: { temperature: 0.1 },
      });
    });

    it('takes project and location from the provider settings, and a key\'s metadata over those', async () => {
      const models = [`publishers/google/models/${MODEL}`];
      const lr = await engine([vertexKey('v1', sa1, { priority: 1, models, metadata: { project: 'meta-proj', location: 'asia-northeast1' } }), vertexKey('v2', sa2, { models })], {
        providers: { google_vertex: { project: 'settings-proj', location: 'europe-west4' } },
      });
      fake.script(sa1.email, 'unavailable');
      const r = await lr.chat(`publishers/google/models/${MODEL}`, HI);
      expect(r.keyId).toBe('v2');
      expect(fake.calls.map((c) => [c.project, c.location, c.model])).toEqual([
        ['meta-proj', 'asia-northeast1', MODEL],
        ['settings-proj', 'europe-west4', MODEL],
      ]);
    });

    it('builds the default endpoint from the location (global → aiplatform.googleapis.com) and fills {location} in a base URL', async () => {
      const endpoint = new VertexEndpoint();
      const settings = (location: string): ProviderSettings => ({
        provider: 'google_vertex',
        timeoutMs: 5000,
        headers: {},
        location,
        health: { cooldownMs: 60_000, quarantineMs: 300_000, maxConsecutiveFailures: 3, maxBenchMs: 3_600_000 },
      });
      const target = (baseUrl: string, location: string) => ({ provider: 'google_vertex' as const, keyId: 'v1', model: `models/${MODEL}`, secret: sa1.json, baseUrl, settings: settings(location), metadata: {} });
      const path = (loc: string): string => `/v1/projects/proj-one/locations/${loc}/publishers/google/models/${MODEL}:streamGenerateContent?alt=sse`;
      expect((await endpoint.locate(target(endpoint.defaultBaseUrl, 'global'), 'streamGenerateContent?alt=sse')).url).toBe(`https://aiplatform.googleapis.com${path('global')}`);
      expect((await endpoint.locate(target(endpoint.defaultBaseUrl, 'europe-west4'), 'streamGenerateContent?alt=sse')).url).toBe(`https://europe-west4-aiplatform.googleapis.com${path('europe-west4')}`);
      expect((await endpoint.locate(target('https://proxy.internal/vertex/{location}/', 'us-east5'), 'streamGenerateContent?alt=sse')).url).toBe(`https://proxy.internal/vertex/us-east5${path('us-east5')}`);
    });

    it('reuses one cached token across chat, stream and concurrent calls of a service account', async () => {
      const lr = await engine(pair());
      const before = oauth.tokenRequests(sa1.email);
      await lr.chat(MODEL, HI);
      await Promise.all([lr.chat(MODEL, HI), lr.chat(MODEL, HI), collect(lr.stream(MODEL, HI)), lr.chat(MODEL, HI)]);
      await lr.chat(MODEL, HI);
      expect(fake.hits(sa1.email)).toBeGreaterThanOrEqual(4);
      expect(oauth.tokenRequests(sa1.email)).toBe(before + 1);
      const bearers = new Set(fake.callsOf(sa1.email).map((c) => c.token));
      expect(bearers.size).toBe(1);
    });

    it('refreshes the token when it nears expiry (google-auth-library\'s eager window), so an expired token is never sent', async () => {
      jest.useFakeTimers({ doNotFake: [...ALL_BUT_DATE], now: Date.now() });
      try {
        const lr = await engine([vertexKey('v1', sa1)]);
        const before = oauth.tokenRequests(sa1.email);
        await lr.chat(MODEL, HI);
        await lr.chat(MODEL, HI);
        expect(oauth.tokenRequests(sa1.email)).toBe(before + 1);
        const first = fake.calls[0].token as string;
        expect(fake.calls[1].token).toBe(first);
        // 59 minutes later the 60-minute token is inside the library's 5-minute refresh margin.
        jest.setSystemTime(Date.now() + 59 * 60_000);
        await lr.chat(MODEL, HI);
        expect(oauth.tokenRequests(sa1.email)).toBe(before + 2);
        const second = fake.calls[2].token as string;
        expect(second).not.toBe(first);
        jest.setSystemTime(Date.now() + 2 * 60_000);
        expect(oauth.identityOf(first)).toBeUndefined(); // the old token has expired at the fake…
        await lr.chat(MODEL, HI); // …and is not what the next call sends
        expect(fake.calls[3].token).toBe(second);
        expect(oauth.tokenRequests(sa1.email)).toBe(before + 2);
      } finally {
        jest.useRealTimers();
      }
    });

    it('fetches a new token per call when the endpoint issues tokens shorter than the refresh margin', async () => {
      oauth.expiresInSec = 120;
      const lr = await engine([vertexKey('v1', sa1)]);
      const before = oauth.tokenRequests(sa1.email);
      await lr.chat(MODEL, HI);
      await lr.chat(MODEL, HI);
      expect(oauth.tokenRequests(sa1.email)).toBe(before + 2);
      expect(fake.calls[0].token).not.toBe(fake.calls[1].token);
    });
  });

  describe('stream', () => {
    it('streams from :streamGenerateContent?alt=sse with the bearer token; finishReason and usage on the last chunk', async () => {
      const lr = await engine([vertexKey('v1', sa1)]);
      const chunks = await collect(lr.stream(MODEL, HI));
      expect(fake.calls[0].request.path).toBe(`/v1/projects/proj-one/locations/us-central1/publishers/google/models/${MODEL}:streamGenerateContent?alt=sse`);
      expect(bearerOf(0)).toMatch(/^Bearer ya29\.fake-/);
      expect(chunks.map((c) => c.delta).join('')).toBe(`Hello from ${MODEL}`);
      expect(chunks.at(-1)).toMatchObject({ delta: '', finishReason: 'stop', usage: { inputTokens: 11, outputTokens: 3 }, provider: 'google_vertex', keyId: 'v1' });
    });

    it('fails over to the second service account before the first chunk', async () => {
      const lr = await engine(pair());
      fake.script(sa1.email, 'quota');
      const chunks = await collect(lr.stream(MODEL, HI));
      expect(new Set(chunks.map((c) => c.keyId))).toEqual(new Set(['v2']));
      expect(fake.callsOf(sa2.email)[0].project).toBe('proj-two');
      expect((await keyRow(lr, 'v1')).state).toBe('COOLDOWN');
    });
  });

  describe('failover and error classification', () => {
    it('cools a RESOURCE_EXHAUSTED key (default cooldown without RetryInfo, RetryInfo when given) and serves from the other account', async () => {
      const lr = await engine(pair());
      const t0 = clock.now();
      fake.script(sa1.email, 'quota');
      const r = await lr.chat(MODEL, HI);
      expect(r.keyId).toBe('v2');
      expect(r.attempts.map((a) => [a.keyId, a.outcome, a.status])).toEqual([['v1', 'rate_limit', 429], ['v2', 'success', undefined]]);
      expect(await keyRow(lr, 'v1')).toMatchObject({ state: 'COOLDOWN', until: iso(t0 + 60_000) });
      const lr2 = await engine(pair());
      fake.script(sa1.email, 'rate_limit');
      await lr2.chat(MODEL, HI);
      expect(await keyRow(lr2, 'v1')).toMatchObject({ state: 'COOLDOWN', until: iso(t0 + 37_000) });
    });

    const rotating: Array<[GeminiBehavior, 'auth' | 'transient', number]> = [
      ['unauthenticated', 'auth', 401],
      ['permission_denied', 'auth', 403],
      ['server_error', 'transient', 500],
      ['unavailable', 'transient', 503],
      ['deadline', 'transient', 504],
    ];
    it.each(rotating)('%s: classified %s and rotated to the other service account', async (behavior, outcome, status) => {
      const lr = await engine(pair());
      fake.script(sa1.email, behavior);
      const r = await lr.chat(MODEL, HI);
      expect(r.keyId).toBe('v2');
      expect(r.attempts[0]).toMatchObject({ keyId: 'v1', outcome, status });
      expect((await keyRow(lr, 'v1')).state).toBe(outcome === 'auth' ? 'QUARANTINE' : 'ACTIVE');
    });

    it.each(['bad_request', 'not_found'] as const)('%s: thrown to the caller at once, no rotation, no penalty', async (behavior) => {
      const lr = await engine(pair());
      fake.script(sa1.email, behavior);
      const err = await lr.chat(MODEL, HI).catch((e: unknown) => e);
      expect(err).toBeInstanceOf(ProviderBadRequestError);
      expect(err).toMatchObject({ provider: 'google_vertex', kind: 'bad_request' });
      expect(fake.hits(sa2.email)).toBe(0);
      expect(await keyRow(lr, 'v1')).toMatchObject({ state: 'ACTIVE', consecutiveFailures: 0 });
    });

    it('quarantines a service account the token endpoint refuses (invalid_grant) and serves from the other', async () => {
      const lr = await engine(pair());
      oauth.script(sa1.email, 'invalid_grant');
      try {
        const r = await lr.chat(MODEL, HI);
        expect(r.keyId).toBe('v2');
        expect(r.attempts[0]).toMatchObject({ keyId: 'v1', outcome: 'auth', status: 400, errorClass: 'ProviderHttpError' });
        expect((await keyRow(lr, 'v1')).state).toBe('QUARANTINE');
        expect(fake.hits(sa1.email)).toBe(0);
      } finally {
        oauth.script(sa1.email, 'ok');
      }
    });

    it('treats a key file signed with the wrong private key as an auth failure: the endpoint really checks the signature', async () => {
      const forged = oauth.createServiceAccount('forged', 'proj-one');
      const doc = JSON.parse(forged.json) as Record<string, unknown>;
      doc.private_key = sa2.privateKey;
      const lr = await engine([vertexKey('forged', JSON.stringify(doc))]);
      const err = await lr.chat(MODEL, HI).catch((e: unknown) => e);
      expect(err).toBeInstanceOf(AllKeysExhaustedError);
      const cause = (err as { cause?: unknown }).cause;
      expect(cause).toBeInstanceOf(ProviderHttpError);
      expect(cause).toMatchObject({ kind: 'auth', status: 400 });
      expect((cause as Error).message).toContain('invalid_grant: Invalid JWT Signature.');
      expect(oauth.tokenRequests(forged.email)).toBe(0);
    });

    it('counts a failing token endpoint (5xx after one retry) as transient, and its timeout too', async () => {
      const lr = await engine(pair(), { providers: { google_vertex: { timeoutMs: 500 } } });
      oauth.script(sa1.email, 'server_error');
      const third = oauth.createServiceAccount('slow', 'proj-three');
      oauth.script(third.email, 'timeout');
      try {
        const before = oauth.tokenRequests(sa1.email);
        const r = await lr.chat(MODEL, HI);
        expect(r.keyId).toBe('v2');
        expect(r.attempts[0]).toMatchObject({ keyId: 'v1', outcome: 'transient', status: 503 });
        expect(oauth.tokenRequests(sa1.email)).toBe(before + 2);
        expect(await keyRow(lr, 'v1')).toMatchObject({ state: 'ACTIVE', consecutiveFailures: 1 });

        const slow = await engine([vertexKey('slow', third, { priority: 1 }), vertexKey('v2', sa2)], { providers: { google_vertex: { timeoutMs: 500 } } });
        const r2 = await slow.chat(MODEL, HI);
        expect(r2.keyId).toBe('v2');
        expect(r2.attempts[0]).toMatchObject({ keyId: 'slow', outcome: 'transient', errorClass: 'ProviderTimeoutError' });
      } finally {
        oauth.script(sa1.email, 'ok');
      }
    });

    it('falls back from google_ai_studio to google_vertex for the same model id', async () => {
      const ks: TestKey[] = [{ keyId: 'studio', provider: 'google_ai_studio', models: [MODEL], secret: 'studio-key-cccccccccccccccccc' }, vertexKey('v1', sa1)];
      const lr = await engine(ks, { fallbacks: { google_ai_studio: [{ provider: 'google_vertex' }] } });
      fake.script('studio-key-cccccccccccccccccc', 'rate_limit');
      const r = await lr.chat(MODEL, HI);
      expect(r).toMatchObject({ provider: 'google_vertex', keyId: 'v1', model: MODEL, content: `Hello from ${MODEL}` });
      expect(r.attempts.map((a) => [a.provider, a.outcome])).toEqual([['google_ai_studio', 'rate_limit'], ['google_vertex', 'success']]);
    });
  });

  describe('the service-account secret', () => {
    /** The SecretResolutionError of a failed call: thrown as is, or as the cause once every key was tried. */
    function secretErrorOf(e: unknown): SecretResolutionError | undefined {
      if (e instanceof SecretResolutionError) return e;
      const cause = (e as { cause?: unknown } | undefined)?.cause;
      return cause instanceof SecretResolutionError ? cause : undefined;
    }

    it('names the key, never the value, when the secret is not a usable key file, and calls nothing', async () => {
      const fragment = sa1.privateKey.slice(40, 80);
      const cases: Array<[string, string, string]> = [
        ['notjson', `not json but secret-ish ${fragment}`, 'the google_vertex secret is not valid JSON (expected a service-account key file)'],
        ['noemail', JSON.stringify({ type: 'service_account', private_key: sa1.privateKey }), 'the service-account JSON has no client_email'],
        ['user', JSON.stringify({ type: 'authorized_user', refresh_token: `1//${fragment}` }), 'the google_vertex secret has type "authorized_user"; only "service_account" key files are supported'],
      ];
      const tokensBefore = oauth.tokenRequests();
      for (const [keyId, secret, reason] of cases) {
        const lr = await engine([vertexKey(keyId, secret)]);
        const err = await lr.chat(MODEL, HI).catch((e: unknown) => e);
        const secretErr = secretErrorOf(err);
        expect(secretErr?.message).toBe(`Cannot resolve the secret of key "${keyId}": ${reason}`);
        for (const text of [inspect(err, { depth: 6 }), JSON.stringify(err), String((err as Error).message)]) expect(text).not.toContain(fragment);
      }
      expect(oauth.tokenRequests()).toBe(tokensBefore);
      expect(fake.calls).toHaveLength(0);
    });

    it('asks for a project when neither the key file, the key nor the provider settings name one', async () => {
      const doc = JSON.parse(sa1.json) as Record<string, unknown>;
      delete doc.project_id;
      const lr = await engine([vertexKey('noproj', JSON.stringify(doc))]);
      const tokensBefore = oauth.tokenRequests(sa1.email);
      const err = await lr.chat(MODEL, HI).catch((e: unknown) => e);
      expect(secretErrorOf(err)?.message).toContain('registry.providers.google_vertex.project');
      expect(oauth.tokenRequests(sa1.email)).toBe(tokensBefore);
      const ok = await engine([vertexKey('noproj', JSON.stringify(doc))], { providers: { google_vertex: { project: 'from-settings' } } });
      await ok.chat(MODEL, HI);
      expect(fake.calls.at(-1)?.project).toBe('from-settings');
    });

    it('never shows the key file, its private key or an access token in errors, events, logs, the snapshot or the options', async () => {
      const rec = recordingLogger();
      const lr = await engine(pair(), {}, { ...rec.logger, isDebugEnabled: () => true } as typeof rec.logger);
      const events: UsageEvent[] = [];
      lr.onUsage((e) => events.push(e));
      oauth.script(sa1.email, 'invalid_grant');
      fake.script(sa2.email, 'permission_denied');
      let err: unknown;
      try {
        err = await lr.chat(MODEL, HI).catch((e: unknown) => e);
      } finally {
        oauth.script(sa1.email, 'ok');
      }
      expect(err).toBeInstanceOf(AllKeysExhaustedError);
      clock.advance(300_001);
      fake.script(sa2.email, 'ok');
      await lr.chat(MODEL, HI);
      await collect(lr.stream(MODEL, HI));
      const tokens = [...oauth.tokensOf(sa1.email), ...oauth.tokensOf(sa2.email)];
      expect(tokens.length).toBeGreaterThan(0);
      const dumps = [
        (err as Error).message,
        String((err as Error).stack),
        inspect(err, { depth: 6 }),
        JSON.stringify(err),
        JSON.stringify(events),
        rec.lines.join('\n'),
        JSON.stringify(await lr.snapshot()),
        JSON.stringify(lr.options),
        inspect(lr.options, { depth: 8 }),
      ];
      expect(events.length).toBeGreaterThanOrEqual(4);
      const pemBody = (sa: FakeServiceAccount): string => sa.privateKey.split('\n').slice(1, -2).join('\n');
      for (const d of dumps) {
        for (const sa of [sa1, sa2]) {
          expect(d).not.toContain(sa.json);
          expect(d).not.toContain(sa.privateKeyId);
          expect(d).not.toContain(pemBody(sa).slice(0, 64));
          expect(d).not.toContain(JSON.stringify(sa.privateKey).slice(40, 120));
        }
        for (const t of tokens) expect(d).not.toContain(t);
      }
    });
  });

  describe('google-auth-library is an optional peer', () => {
    /** Runs a script in a fresh Node process (so the module cache is real, not Jest's). */
    function runNode(script: string): { status: number | null; out: string } {
      const file = join(dir, `child-${++fileSeq}.ts`);
      writeFileSync(file, script);
      const r = spawnSync(process.execPath, ['-r', '@swc-node/register', file], { cwd: join(__dirname, '../../..'), encoding: 'utf8', timeout: 60_000 });
      return { status: r.status, out: `${r.stdout}${r.stderr}` };
    }
    const root = join(__dirname, '../../..');
    const prelude = `
      import { LlmRotate } from '${root}/lib';
      import { GeminiFake } from '${root}/test/fakes/gemini-fake';
      import { GoogleOAuthFake } from '${root}/test/fakes/google-oauth-fake';
      const loaded = () => Object.keys(require.cache).some((p) => p.includes('/node_modules/google-auth-library/'));
      const quiet = { warn() {}, error() {} };
    `;

    it('is loaded only when a google_vertex key is first used', () => {
      const { status, out } = runNode(`${prelude}
        (async () => {
          const oauth = await GoogleOAuthFake.start();
          const fake = await GeminiFake.start({ authorize: (t) => oauth.identityOf(t) });
          const sa = oauth.createServiceAccount('lazy');
          const lr = await LlmRotate.create({ registry: { keys: [
            { keyId: 's', provider: 'google_ai_studio', secretRef: 'literal://studio-key-dddddddddddddddd', baseUrl: fake.url },
            { keyId: 'v', provider: 'google_vertex', secretRef: 'literal://' + sa.json, baseUrl: fake.url },
          ] }, useKeys: ['s', 'v'] }, { logger: quiet });
          console.log('after-start', loaded());
          await lr.chat('gemini-2.0-flash', [{ role: 'user', content: 'hi' }], { provider: 'google_ai_studio' });
          console.log('after-studio', loaded());
          await lr.chat('gemini-2.0-flash', [{ role: 'user', content: 'hi' }], { provider: 'google_vertex' });
          console.log('after-vertex', loaded());
          await lr.close(); await fake.close(); await oauth.close();
        })().catch((e) => { console.error(e); process.exit(1); });
      `);
      expect(out).toContain('after-start false');
      expect(out).toContain('after-studio false');
      expect(out).toContain('after-vertex true');
      expect(status).toBe(0);
    });

    it('without the package, a vertex call fails with a clear error naming it and the keys are not penalised', () => {
      const { status, out } = runNode(`
        const Module = require('node:module');
        const resolve = Module._resolveFilename;
        Module._resolveFilename = function (request, ...rest) {
          if (request === 'google-auth-library') { const e = new Error("Cannot find module 'google-auth-library'"); e.code = 'MODULE_NOT_FOUND'; throw e; }
          return resolve.call(this, request, ...rest);
        };
        ${prelude}
        (async () => {
          const oauth = await GoogleOAuthFake.start();
          const fake = await GeminiFake.start({ authorize: (t) => oauth.identityOf(t) });
          const sa = oauth.createServiceAccount('absent');
          const lr = await LlmRotate.create({ registry: { keys: [
            { keyId: 'v', provider: 'google_vertex', secretRef: 'literal://' + sa.json, baseUrl: fake.url },
            { keyId: 'w', provider: 'google_vertex', secretRef: 'literal://' + sa.json, baseUrl: fake.url },
          ] }, useKeys: ['v', 'w'] }, { logger: quiet });
          const err = await lr.chat('gemini-2.0-flash', [{ role: 'user', content: 'hi' }]).catch((e) => e);
          console.log('error', err.name, err.message);
          const snap = await lr.snapshot();
          console.log('states', snap.keys.map((k) => k.state + '/' + k.consecutiveFailures).join(','));
          console.log('calls', fake.calls.length, 'tokens', oauth.tokenRequests());
          await lr.close(); await fake.close(); await oauth.close();
        })().catch((e) => { console.error(e); process.exit(1); });
      `);
      expect(out).toContain('error UnsupportedFeatureError google_vertex does not support service-account auth without the optional peer dependency google-auth-library (npm i google-auth-library)');
      expect(out).toContain('states ACTIVE/0,ACTIVE/0');
      expect(out).toContain('calls 0 tokens 0');
      expect(status).toBe(0);
    });
  });
});
