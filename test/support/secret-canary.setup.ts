/**
 * The secret canary, run around EVERY test of the suite (jest `setupFilesAfterEnv`): every secret value the
 * library resolves is remembered, and every place text leaves the library is watched — usage events, snapshots,
 * usage summaries, health indicator results, the errors chat/stream/acquire/withKey/reload/fetch throw (message,
 * stack, inspect, JSON, cause), stream chunks, and everything logged through Nest's Logger or the console. A test in
 * which a resolved secret (or a 12-character run of one) shows up in any of them fails in `afterEach`, naming where.
 *
 * `AcquireContext.keyValue` is the one documented way a secret leaves (for a direct SDK call) and is not watched.
 */
import { Logger } from '@nestjs/common';
import { inspect } from 'node:util';
import { LlmRotateError } from '../../lib/core/errors';
import { UsageEmitter } from '../../lib/core/events';
import { LlmRotate } from '../../lib/core/llm-rotate';
import { LlmRotateHealthIndicator } from '../../lib/nest/llm-rotate.health';
import { SecretResolver } from '../../lib/core/secrets';

const secrets = new Set<string>();
const leaks: string[] = [];
/** A secret this long or longer is also caught by a run of its characters (an echo cut short). */
const RUN = 12;

function remember(value: unknown): void {
  if (typeof value === 'string' && value.length >= 8) secrets.add(value);
}

/** The pieces of a secret that must never appear: the whole value, and for JSON credentials their private fields. */
function needles(secret: string): string[] {
  const out = [secret];
  if (secret.startsWith('{')) {
    try {
      const doc = JSON.parse(secret) as Record<string, unknown>;
      for (const f of ['private_key', 'secretAccessKey', 'sessionToken']) {
        const v = doc[f];
        if (typeof v === 'string' && v.length >= RUN) out.push(v.replace(/-----[A-Z ]+-----/g, '').trim().slice(20, 20 + RUN * 2));
      }
    } catch {
      /* not JSON */
    }
    return out;
  }
  if (secret.length >= RUN * 2) out.push(secret.slice(Math.floor(secret.length / 2) - RUN / 2, Math.floor(secret.length / 2) + RUN / 2));
  return out;
}

function check(where: string, text: string): void {
  if (text.length === 0 || secrets.size === 0) return;
  for (const s of secrets) {
    for (const n of needles(s)) {
      if (n.length >= 8 && text.includes(n)) {
        leaks.push(`${where}: contains ${n === s ? 'a resolved secret' : 'a run of a resolved secret'} (${s.length} chars, starts ${JSON.stringify(s.slice(0, 3))})`);
        return;
      }
    }
  }
}

function checkValue(where: string, v: unknown): void {
  try {
    check(where, typeof v === 'string' ? v : `${JSON.stringify(v)} ${inspect(v, { depth: 6 })}`);
  } catch {
    check(where, inspect(v, { depth: 6 }));
  }
}

function checkError(where: string, e: unknown): void {
  if (!(e instanceof LlmRotateError)) return;
  const cause = (e as { cause?: unknown }).cause;
  check(where, `${String(e)}\n${e.stack ?? ''}\n${inspect(e, { depth: 6 })}\n${JSON.stringify(e)}\n${cause instanceof Error ? `${cause.message}\n${inspect(cause, { depth: 4 })}` : ''}`);
}

// ── what the library resolves ──
const resolve = SecretResolver.prototype.resolve;
SecretResolver.prototype.resolve = function (this: SecretResolver, keyId: string, ref: string): string | Promise<string> {
  const v = resolve.call(this, keyId, ref);
  if (typeof v === 'string') remember(v);
  else void v.then(remember, () => undefined);
  return v;
};

// ── where text leaves the library ──
const emit = UsageEmitter.prototype.emit;
UsageEmitter.prototype.emit = function (this: UsageEmitter, event) {
  checkValue('a usage event', event);
  return emit.call(this, event);
};

type AsyncMethod = (...args: unknown[]) => Promise<unknown>;
function watchAsync(name: keyof LlmRotate & string, checkResult: boolean): void {
  const proto = LlmRotate.prototype as unknown as Record<string, AsyncMethod>;
  const original = proto[name];
  if (typeof original !== 'function') return;
  // Called as it is (a synchronous throw stays synchronous); its promise is watched.
  proto[name] = function (this: LlmRotate, ...args: unknown[]) {
    return original.apply(this, args).then(
      (r) => {
        if (checkResult) checkValue(`the result of ${name}()`, r);
        return r;
      },
      (e: unknown) => {
        checkError(`an error thrown by ${name}()`, e);
        throw e;
      },
    );
  };
}
watchAsync('chat', true);
watchAsync('acquire', false);
watchAsync('withKey', false);
watchAsync('reload', false);
watchAsync('snapshot', true);

const usageSummary = LlmRotate.prototype.usageSummary;
LlmRotate.prototype.usageSummary = function (this: LlmRotate) {
  const r = usageSummary.call(this);
  checkValue('usageSummary()', r);
  return r;
};

const stream = LlmRotate.prototype.stream;
LlmRotate.prototype.stream = function (this: LlmRotate, ...args: Parameters<LlmRotate['stream']>) {
  const gen = stream.apply(this, args);
  const next = gen.next.bind(gen);
  gen.next = async (...a: [] | [undefined]) => {
    try {
      const r = await next(...a);
      if (!r.done) checkValue('a stream chunk', r.value);
      return r;
    } catch (e) {
      checkError('an error thrown by stream()', e);
      throw e;
    }
  };
  return gen;
};

const isHealthy = LlmRotateHealthIndicator.prototype.isHealthy;
LlmRotateHealthIndicator.prototype.isHealthy = async function (this: LlmRotateHealthIndicator, ...args: Parameters<LlmRotateHealthIndicator['isHealthy']>) {
  const r = await isHealthy.apply(this, args);
  checkValue('the health indicator', r);
  return r;
};

for (const level of ['log', 'error', 'warn', 'debug', 'verbose', 'fatal'] as const) {
  const instance = Logger.prototype[level] as (this: Logger, ...a: unknown[]) => void;
  Logger.prototype[level] = function (this: Logger, ...a: unknown[]) {
    checkValue(`Nest's Logger.${level}`, a);
    return instance.apply(this, a);
  };
}
for (const level of ['log', 'error', 'warn', 'debug', 'info'] as const) {
  const original = console[level];
  console[level] = (...a: unknown[]) => {
    checkValue(`console.${level}`, a.map((x) => (typeof x === 'string' ? x : inspect(x, { depth: 4 }))).join(' '));
    original(...a);
  };
}

// Outside Jest (a worker child process that shares test/support) there is no test to fail: the checks stay inert.
if (typeof afterEach === 'function') {
  afterEach(() => {
    if (leaks.length === 0) return;
    const found = leaks.splice(0);
    throw new Error(`The secret canary found a secret leaving the library:\n  - ${[...new Set(found)].join('\n  - ')}`);
  });
}

/** For the canary's own test: what it saw. */
export const canary = { secrets, leaks, check };
