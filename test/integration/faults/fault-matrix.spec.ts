import { inspect } from 'node:util';
import {
  AllKeysExhaustedError,
  LlmRotate,
  LlmRotateError,
  NoAvailableKeyError,
  ProviderHttpError,
  ProviderTimeoutError,
  ProviderTransportError,
  StreamInterruptedError,
  type Attempt,
  type ChatChunk,
  type ChatMessage,
  type ChatResult,
  type KeyState,
  type ProviderName,
  type UsageEvent,
} from '../../../lib';
import { PROVIDER_DEFAULTS } from '../../../lib/core/health/provider-defaults';
import type { Fault } from '../../fakes/faults';
import { FakeClock } from '../../support/fake-clock';
import { makeOptions, recordingLogger } from '../../support/options';
import { FaultLab, type ProviderCase } from './lab';

/**
 * The standing fault matrix: every misbehaviour of an upstream we know of, against all seven providers' wire formats,
 * for chat and stream. Key `a` misbehaves, key `b` is healthy. Whatever happens, the caller gets a correct answer
 * (from `b`) or one of the library's typed errors, key `a` is classified right, nothing hangs, no secret leaks.
 */

const HI: ChatMessage[] = [{ role: 'user', content: 'hi' }];
/**
 * Small deadlines and caps keep the matrix fast: a hang costs one deadline (the seven wire formats run at once). The
 * deadline still leaves the healthy key ample time on a loaded machine (fakes and client share one process).
 */
const DEADLINE_MS = 600;
const CAPS = { maxEventBytes: 64 * 1024, maxResponseBytes: 256 * 1024 };
const MB = 1024 * 1024;

type Mode = 'chat' | 'stream';
type Cause = typeof ProviderTimeoutError | typeof ProviderTransportError | typeof ProviderHttpError;

/** What the caller and the snapshot must show. */
type Expect =
  /** `b` answers; `a`'s attempt failed with `cause`, counted as `outcome`, leaving `a` in `state` (until `untilMs` from now). */
  | { failover: 'transient' | 'rate_limit' | 'auth'; cause: Cause; state: KeyState; untilMs?: (pc: ProviderCase) => number }
  /** The first text was yielded, then a typed StreamInterruptedError (its cause a `cause`), `a` counted a transient failure. */
  | { interrupted: Cause }
  /** Either `a` answers the whole text (the odd event was harmless) or the stream is interrupted as above. */
  | { harmlessOrInterrupted: true }
  /** Both keys misbehave: AllKeysExhaustedError whose attempts are each `outcome`, messages bounded; repeated, the keys are benched. */
  | { exhausted: 'transient' | 'auth'; cause: Cause };

interface Row {
  name: string;
  fault: (pc: ProviderCase, clock: FakeClock) => Fault;
  chat?: Expect;
  stream?: Expect;
}

const transient = (cause: Cause): Expect => ({ failover: 'transient', cause, state: 'ACTIVE' });
const odd = (payload: string, afterFirst: boolean) => () => ({ fault: 'odd_event' as const, payload, afterFirst });

const ROWS: Row[] = [
  { name: 'hang before headers', fault: () => ({ fault: 'hang_before_headers' }), chat: transient(ProviderTimeoutError), stream: transient(ProviderTimeoutError) },
  { name: 'hang mid-stream', fault: () => ({ fault: 'hang_mid_stream' }), chat: transient(ProviderTimeoutError), stream: { interrupted: ProviderTimeoutError } },
  { name: 'truncated stream (clean end, no terminator)', fault: () => ({ fault: 'truncated' }), chat: transient(ProviderTransportError), stream: { interrupted: ProviderTransportError } },
  { name: 'malformed event before the first chunk', fault: odd('{"choices": [{"delta": {"content": "tru', false), chat: transient(ProviderTransportError), stream: transient(ProviderTransportError) },
  { name: 'malformed event after the first chunk', fault: odd('{"choices": [{"delta": {"content": "tru', true), stream: { interrupted: ProviderTransportError } },
  { name: 'data: null', fault: odd('null', true), chat: transient(ProviderTransportError), stream: { interrupted: ProviderTransportError } },
  { name: 'data: an array', fault: odd('[1, {"a": null}]', true), chat: transient(ProviderTransportError), stream: { interrupted: ProviderTransportError } },
  { name: 'data: a number', fault: odd('42', true), chat: transient(ProviderTransportError), stream: { interrupted: ProviderTransportError } },
  { name: 'data: a string', fault: odd('"Hello"', true), chat: transient(ProviderTransportError), stream: { interrupted: ProviderTransportError } },
  {
    name: 'data: nested nulls where objects belong',
    fault: odd('{"type": "content_block_delta", "choices": [null], "candidates": [null], "delta": null, "usage": null, "error": null, "message": null}', true),
    chat: transient(ProviderTransportError),
    stream: { harmlessOrInterrupted: true },
  },
  {
    name: 'data: wrong types inside',
    fault: odd('{"type": "content_block_delta", "choices": [{"delta": {"content": 42}, "finish_reason": 7}], "candidates": [{"content": {"parts": "x"}}], "delta": {"type": "text_delta", "text": 42}, "usage": {"prompt_tokens": "9"}}', true),
    chat: transient(ProviderTransportError),
    stream: { harmlessOrInterrupted: true },
  },
  { name: 'HTML page with status 200', fault: () => ({ fault: 'html_200' }), chat: transient(ProviderTransportError), stream: transient(ProviderTransportError) },
  { name: 'empty 200', fault: () => ({ fault: 'empty_200' }), chat: transient(ProviderTransportError), stream: transient(ProviderTransportError) },
  { name: 'JSON 200 answering a stream request', fault: () => ({ fault: 'json_200' }), stream: transient(ProviderTransportError) },
  { name: 'connection reset before headers', fault: () => ({ fault: 'reset', afterFirst: false }), chat: transient(ProviderTransportError), stream: transient(ProviderTransportError) },
  { name: 'connection reset mid-stream', fault: () => ({ fault: 'reset', afterFirst: true }), chat: transient(ProviderTransportError), stream: { interrupted: ProviderTransportError } },
  { name: '5xx storm', fault: () => ({ fault: 'status', status: 503, message: 'The service is temporarily unavailable.' }), chat: { exhausted: 'transient', cause: ProviderHttpError }, stream: { exhausted: 'transient', cause: ProviderHttpError } },
  {
    name: '429 without retry-after',
    fault: () => ({ fault: 'status', status: 429, message: 'Too many requests.' }),
    chat: { failover: 'rate_limit', cause: ProviderHttpError, state: 'COOLDOWN', untilMs: (pc) => PROVIDER_DEFAULTS[pc.provider].cooldownSeconds * 1000 },
    stream: { failover: 'rate_limit', cause: ProviderHttpError, state: 'COOLDOWN', untilMs: (pc) => PROVIDER_DEFAULTS[pc.provider].cooldownSeconds * 1000 },
  },
  {
    name: '429 with an HTTP-date retry-after',
    fault: (_pc, clock) => ({ fault: 'status', status: 429, message: 'Too many requests.', headers: { 'retry-after': new Date(clock.now() + 120_000).toUTCString() } }),
    chat: { failover: 'rate_limit', cause: ProviderHttpError, state: 'COOLDOWN', untilMs: () => 120_000 },
    stream: { failover: 'rate_limit', cause: ProviderHttpError, state: 'COOLDOWN', untilMs: () => 120_000 },
  },
  {
    // Every bench is capped at maxCooldownSeconds (3600 s by default): the key is back within the hour, not in 2058.
    name: '429 with an absurd retry-after (1e9 s)',
    fault: () => ({ fault: 'status', status: 429, message: 'Too many requests.', headers: { 'retry-after': '1000000000' } }),
    chat: { failover: 'rate_limit', cause: ProviderHttpError, state: 'COOLDOWN', untilMs: () => 3_600_000 },
    stream: { failover: 'rate_limit', cause: ProviderHttpError, state: 'COOLDOWN', untilMs: () => 3_600_000 },
  },
  { name: 'huge body (200)', fault: () => ({ fault: 'huge_body', bytes: MB }), chat: transient(ProviderTransportError), stream: transient(ProviderTransportError) },
  {
    name: 'huge error body (10 MB JSON message echoing the key)',
    fault: (pc) => ({ fault: 'huge_error', status: 503, bytes: 10 * MB, echo: pc.echo }),
    chat: { exhausted: 'transient', cause: ProviderHttpError },
    stream: { exhausted: 'transient', cause: ProviderHttpError },
  },
  {
    name: 'plain-text 401 echoing the key across offset 500',
    fault: (pc) => ({ fault: 'text_error', status: 401, echo: pc.echo }),
    chat: { exhausted: 'auth', cause: ProviderHttpError },
    stream: { exhausted: 'auth', cause: ProviderHttpError },
  },
  { name: 'slow drip', fault: () => ({ fault: 'slow_drip', everyMs: 25 }), chat: transient(ProviderTimeoutError), stream: transient(ProviderTimeoutError) },
  { name: 'keep-alive only', fault: () => ({ fault: 'keep_alive', everyMs: 25 }), chat: transient(ProviderTimeoutError), stream: transient(ProviderTimeoutError) },
];

describe('fault matrix: seven wire formats × chat and stream × misbehaving upstreams', () => {
  let lab: FaultLab;
  let cases: ProviderCase[];
  const clock = new FakeClock();
  /** One engine per provider, shared by the rows (its keys are reset before each row), with what it handed out. */
  const engines = new Map<ProviderName, Bench>();

  interface Bench {
    lr: LlmRotate;
    log: ReturnType<typeof recordingLogger>;
    events: UsageEvent[];
  }

  beforeAll(async () => {
    lab = await FaultLab.start();
    cases = lab.cases();
    // Warm up: build the engines and take every path once (module loading, JIT, Vertex's first token) before any row's
    // deadlines run, so a cold start is never mistaken for a slow upstream.
    for (const pc of cases) {
      const { lr } = await bench(pc);
      await lr.chat(pc.model, HI);
      for await (const c of lr.stream(pc.model, HI)) void c;
    }
  });
  afterAll(async () => {
    await Promise.all([...engines.values()].map((b) => b.lr.close()));
    await lab.close();
  });
  beforeEach(() => lab.reset());

  async function bench(pc: ProviderCase): Promise<Bench> {
    let b = engines.get(pc.provider);
    if (b === undefined) {
      const log = recordingLogger();
      const lr = await LlmRotate.create(
        makeOptions('http://unused.invalid', [...pc.keys], {
          strategy: 'priority',
          providers: { [pc.provider]: { timeoutMs: DEADLINE_MS, firstTokenTimeoutMs: DEADLINE_MS, ...CAPS, ...pc.settings } },
        }),
        { clock, logger: log.logger },
      );
      const events: UsageEvent[] = [];
      lr.onUsage((e) => events.push(e));
      b = { lr, log, events };
      engines.set(pc.provider, b);
    }
    await b.lr.resetKey('a');
    await b.lr.resetKey('b');
    b.log.lines.length = 0;
    b.events.length = 0;
    return b;
  }

  interface Outcome {
    result?: ChatResult;
    chunks: ChatChunk[];
    error?: unknown;
  }

  async function call(e: LlmRotate, pc: ProviderCase, mode: Mode): Promise<Outcome> {
    const chunks: ChatChunk[] = [];
    try {
      if (mode === 'chat') return { result: await e.chat(pc.model, HI), chunks };
      for await (const c of e.stream(pc.model, HI)) chunks.push(c);
      return { chunks };
    } catch (error) {
      return { chunks, error };
    }
  }

  /** Everything the library handed out in this row, as text. */
  async function everything(b: Bench, o: Outcome): Promise<string> {
    const parts: string[] = [JSON.stringify(await b.lr.snapshot()), JSON.stringify(b.events), ...b.log.lines];
    if (o.result !== undefined) parts.push(JSON.stringify(o.result));
    for (let err = o.error; err instanceof Error; err = (err as { cause?: unknown }).cause) {
      parts.push(err.message, String(err.stack), inspect(err, { depth: 5 }), JSON.stringify(err));
    }
    return parts.join('\n');
  }

  function expectNoSecret(text: string, pc: ProviderCase): void {
    for (const s of pc.secrets) {
      // No run of 16 characters of a secret survives (a prefix cut at a truncation point is as bad as the whole).
      for (let i = 0; i + 16 <= s.length; i += 4) expect(text.includes(s.slice(i, i + 16))).toBe(false);
    }
  }

  const row = async (e: LlmRotate, id: string) => {
    const r = (await e.snapshot()).keys.find((k) => k.keyId === id);
    if (r === undefined) throw new Error(`no row ${id}`);
    return r;
  };

  /** One row against one wire format. */
  async function check(pc: ProviderCase, mode: Mode, r: Row, expected: Expect): Promise<void> {
    const fault = r.fault(pc, clock);
    const b = await bench(pc);
    const e = b.lr;
    pc.script('a', fault);
    if ('exhausted' in expected) pc.script('b', fault);
    const hitsB = pc.hits('b');
    const o = await call(e, pc, mode);

    // Only the library's typed errors ever reach the caller.
    if (o.error !== undefined) expect(o.error).toBeInstanceOf(LlmRotateError);
    const text = o.chunks.map((c) => c.delta).join('');

    if ('failover' in expected) {
      expect(o.error).toBeUndefined();
      if (mode === 'chat') {
        expect(o.result).toMatchObject({ keyId: 'b', provider: pc.provider, finishReason: 'stop' });
        expect(o.result?.content).toMatch(pc.reply);
        const a = o.result?.attempts[0] as Attempt;
        expect(a).toMatchObject({ keyId: 'a', outcome: expected.failover, errorClass: expected.cause.name });
        expect((a.message ?? '').length).toBeLessThanOrEqual(600);
      } else {
        expect(o.chunks.every((c) => c.keyId === 'b')).toBe(true);
        expect(text).toMatch(pc.reply);
        expect(o.chunks.at(-1)?.finishReason).toBe('stop');
        expect(b.events.find((ev) => ev.keyId === 'a')).toMatchObject({ outcome: expected.failover, errorClass: expected.cause.name });
      }
      expect(pc.hits('b') - hitsB).toBe(1);
      const a = await row(e, 'a');
      expect(a.state).toBe(expected.state);
      if (expected.failover === 'transient') expect(a.consecutiveFailures).toBe(1);
      if (expected.untilMs !== undefined) expect(Date.parse(a.until as string) - clock.now()).toBe(expected.untilMs(pc));
    } else if ('interrupted' in expected || 'harmlessOrInterrupted' in expected) {
      expect(pc.hits('b') - hitsB).toBe(0);
      if (o.error === undefined && 'harmlessOrInterrupted' in expected) {
        expect(text).toBe('Hello world');
        expect(o.chunks.every((c) => c.keyId === 'a')).toBe(true);
        expect(o.chunks.at(-1)?.finishReason).toBe('stop');
      } else {
        expect(o.error).toBeInstanceOf(StreamInterruptedError);
        const err = o.error as StreamInterruptedError;
        expect(err).toMatchObject({ provider: pc.provider, keyId: 'a', kind: 'transient' });
        if ('interrupted' in expected) expect((err as { cause?: unknown }).cause).toBeInstanceOf(expected.interrupted);
        expect(text).toBe('Hello ');
        expect((await row(e, 'a')).consecutiveFailures).toBe(1);
      }
    } else {
      expect(o.error).toBeInstanceOf(AllKeysExhaustedError);
      const err = o.error as AllKeysExhaustedError;
      expect(err.attempts.map((x) => [x.keyId, x.outcome, x.errorClass])).toEqual([
        ['a', expected.exhausted, expected.cause.name],
        ['b', expected.exhausted, expected.cause.name],
      ]);
      // A message is bounded (scrubbed first, then cut), whatever size the upstream's was.
      for (const x of err.attempts) expect((x.message ?? '').length).toBeLessThanOrEqual(600);
      expect(err.message.length).toBeLessThan(2000);
      expect(((err as { cause?: Error }).cause?.message ?? '').length).toBeLessThanOrEqual(600);
      if (expected.exhausted === 'auth') {
        expect((await row(e, 'a')).state).toBe('QUARANTINE');
      } else {
        // A storm: two more rounds quarantine both keys; then no request reaches the upstream at all.
        for (let i = 0; i < 2; i++) expect((await call(e, pc, mode)).error).toBeInstanceOf(AllKeysExhaustedError);
        expect((await row(e, 'a')).state).toBe('QUARANTINE');
        expect((await row(e, 'b')).state).toBe('QUARANTINE');
        const before = pc.hits('a') + pc.hits('b');
        expect((await call(e, pc, mode)).error).toBeInstanceOf(NoAvailableKeyError);
        expect(pc.hits('a') + pc.hits('b')).toBe(before);
      }
    }
    // Nothing holds a lease once the call is over.
    expect((await e.snapshot()).keys.every((k) => k.leasesInUse === 0)).toBe(true);
    expectNoSecret(await everything(b, o), pc);
  }

  // Each row runs against the seven wire formats at once (their fakes, keys and engines are separate), so a row
  // costs one deadline, not seven; a failure names every wire format that failed and why.
  for (const mode of ['chat', 'stream'] as const) {
    for (const r of ROWS) {
      const expected = r[mode];
      if (expected === undefined) continue;
      it(`${mode}: ${r.name}`, async () => {
        const settled = await Promise.allSettled(cases.map((pc) => check(pc, mode, r, expected)));
        const failed = settled.flatMap((x, i) => (x.status === 'rejected' ? [`[${cases[i].provider}] ${x.reason instanceof Error ? x.reason.message : String(x.reason)}`] : []));
        if (failed.length > 0) throw new Error(`${failed.length} of ${cases.length} wire formats failed "${mode}: ${r.name}":\n\n${failed.join('\n\n')}`);
        expect(cases.map((pc) => pc.provider)).toEqual(['openai', 'openrouter', 'azure_openai', 'anthropic', 'google_ai_studio', 'google_vertex', 'bedrock']);
      }, 20_000);
    }
  }
});
