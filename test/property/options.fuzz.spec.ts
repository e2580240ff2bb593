import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { inspect } from 'node:util';
import fc from 'fast-check';
import { ConfigurationError, PROVIDERS, loadOptionsFile, validateOptions, type LlmRotateOptions } from '../../lib';
import { ResolvedConfig } from '../../lib/core/config/resolved-config';

/**
 * Property-based fuzzing of the options (issue 8): whatever the input — arbitrary values, or a valid configuration
 * mutated — validation gives either a valid instance (which validates again and resolves) or a ConfigurationError
 * whose every problem names a field; never another exception, and never a secret (canary secretRefs) in a message,
 * a JSON dump or `util.inspect(…, { showHidden: true })`. Runs are bounded (a hang fails the test's timeout).
 */

const CANARY = 'CANARY-7d1e94c2';
const SEED = Number(process.env.FUZZ_SEED ?? Date.now() % 2 ** 31);

type Outcome = { ok: true; options: LlmRotateOptions } | { ok: false; error: ConfigurationError };

function outcome(input: unknown): Outcome {
  try {
    return { ok: true, options: validateOptions(input) };
  } catch (e) {
    if (!(e instanceof ConfigurationError)) throw new Error(`not a ConfigurationError: ${e instanceof Error ? `${e.name}: ${e.message}` : String(e)}`);
    return { ok: false, error: e };
  }
}

/** The contract of one run. */
function holds(input: unknown): void {
  const o = outcome(input);
  if (o.ok) {
    // A valid instance: it validates again (reload with `llm.options`), resolves, and prints no secret.
    const again = validateOptions(o.options);
    expect(again.useKeys).toEqual(o.options.useKeys);
    expect(again.registry.keys.map((k) => k.secretRef)).toEqual(o.options.registry.keys.map((k) => k.secretRef));
    expect(() => new ResolvedConfig(again)).not.toThrow();
    expect(JSON.stringify(o.options)).not.toContain(CANARY);
    expect(inspect(o.options, { showHidden: true, depth: null })).not.toContain(CANARY);
    return;
  }
  const { error } = o;
  expect(error.problems.length).toBeGreaterThan(0);
  for (const p of error.problems) {
    // `<path>: <problem>`: a field is named before the first ': ' and a problem follows.
    expect(p.indexOf(': ')).toBeGreaterThan(0);
    expect(p.length).toBeGreaterThan(p.indexOf(': ') + 2);
  }
  expect(`${error.message}\n${error.stack ?? ''}`).not.toContain(CANARY);
}

// ─────────────────────────── a valid configuration, then mutations of it ───────────────────────────

const id = fc.stringMatching(/^[a-z][a-z0-9-]{0,8}$/);
const model = fc.constantFrom('gpt-4o-mini', 'gpt-4o', 'claude-haiku-4-5', 'gemini-2.0-flash', 'anthropic/claude-3.5-haiku');
const provider = fc.constantFrom(...PROVIDERS);
const secretRef = fc.nat({ max: 1e6 }).map((n) => `literal://${CANARY}-${n}`);

const keyArb = fc.record(
  {
    keyId: id,
    provider,
    secretRef,
    models: fc.array(model, { maxLength: 3 }),
    priority: fc.integer({ min: -1_000_000, max: 1_000_000 }),
    weight: fc.double({ min: 0, max: 1_000_000, noNaN: true }),
    maxConcurrent: fc.integer({ min: 1, max: 100 }),
    rateLimitRpm: fc.integer({ min: 1, max: 10_000 }),
    enabled: fc.boolean(),
    tags: fc.array(id, { maxLength: 2 }),
    baseUrl: fc.constantFrom('http://127.0.0.1:8080/v1', 'https://api.example.com'),
    metadata: fc.dictionary(id, fc.jsonValue({ maxDepth: 2 }), { maxKeys: 3 }),
  },
  { requiredKeys: ['keyId', 'provider', 'secretRef'] },
);

const validConfig = fc
  .uniqueArray(keyArb, { minLength: 1, maxLength: 5, selector: (k) => k.keyId })
  .chain((keys) =>
    fc.record(
      {
        registry: fc.record(
          {
            keys: fc.constant(keys),
            providers: fc.dictionary(
              provider,
              fc.record({ cooldownSeconds: fc.integer({ min: 0, max: 3600 }), maxConsecutiveFailures: fc.integer({ min: 1, max: 10 }), timeoutMs: fc.integer({ min: 1, max: 600_000 }) }, { requiredKeys: [] }),
              { maxKeys: 3 },
            ),
            stateStore: fc.constantFrom({ backend: 'memory' }, { backend: 'redis', redisUrl: 'redis://127.0.0.1:6379', redisNamespace: 'fz' }),
            fallbacks: fc.dictionary(model, fc.array(model, { maxLength: 2 }), { maxKeys: 2 }),
          },
          { requiredKeys: ['keys'] },
        ),
        useKeys: fc.shuffledSubarray(keys.map((k) => k.keyId), { minLength: 1 }),
        strategy: fc.constantFrom('health_aware', 'round_robin', 'priority', 'weighted'),
        leaseTtlMs: fc.integer({ min: 1, max: 2 ** 31 - 1 }),
      },
      { requiredKeys: ['registry', 'useKeys'] },
    ),
  );

type Mutation = { at: number; op: 'delete' | 'replace' | 'rename' | 'unknown' | 'duplicate'; value: unknown; name: string };

const mutation: fc.Arbitrary<Mutation> = fc.record({
  at: fc.nat(),
  op: fc.constantFrom('delete', 'replace', 'rename', 'unknown', 'duplicate'),
  // Replacement values never carry the canary: only secretRef fields do.
  value: fc.oneof(
    fc.jsonValue({ maxDepth: 3 }),
    fc.constantFrom(-1, 0, 1e307, -1e307, 2 ** 31, 1e20, NaN, Infinity, -Infinity, '', ' ', 'http://u:p@h', 'X Bad', 'a\r\nb', 'aws_bedrock', '__proto__', null),
  ),
  name: fc.oneof(
    fc.constantFrom('key_id', 'keyId', 'secret_ref', 'use_keys', 'auth_method', 'auth_config', 'fallback_chains', 'defaults', 'headers', 'X Bad', '__proto__', 'constructor', 'toString'),
    fc.string({ maxLength: 8 }),
  ),
});

/** Every [container, key] of a value, depth first (the places a mutation may hit). */
function places(v: unknown, out: Array<[Record<string, unknown> | unknown[], string | number]> = []): typeof out {
  if (Array.isArray(v)) v.forEach((x, i) => (out.push([v, i]), places(x, out)));
  else if (typeof v === 'object' && v !== null) for (const k of Object.keys(v)) out.push([v as Record<string, unknown>, k]), places((v as Record<string, unknown>)[k], out);
  return out;
}

function snakeOrCamel(k: string): string {
  return k.includes('_') ? k.replace(/_([a-z])/g, (_, c: string) => c.toUpperCase()) : k.replace(/[A-Z]/g, (c) => `_${c.toLowerCase()}`);
}

function mutate(config: unknown, ms: readonly Mutation[]): unknown {
  const root = structuredClone(config);
  for (const m of ms) {
    const all = places(root);
    if (all.length === 0) break;
    const [container, key] = all[m.at % all.length];
    const set = (obj: Record<string, unknown> | unknown[], k: string | number, v: unknown): void => {
      Object.defineProperty(obj, k, { value: v, enumerable: true, writable: true, configurable: true });
    };
    if (Array.isArray(container)) {
      const i = key as number;
      if (m.op === 'delete') container.splice(i, 1);
      else if (m.op === 'duplicate') container.push(structuredClone(container[i]));
      else container[i] = m.value;
      continue;
    }
    const k = key as string;
    switch (m.op) {
      case 'delete':
        delete container[k];
        break;
      case 'replace':
        if (k === 'secretRef' && typeof m.value === 'string') break; // a secretRef keeps its canary
        container[k] = m.value;
        break;
      case 'rename': {
        const v = container[k];
        delete container[k];
        set(container, m.name.length % 2 === 0 ? snakeOrCamel(k) : m.name, v);
        break;
      }
      case 'unknown':
        set(container, m.name, m.value);
        break;
      case 'duplicate':
        set(container, snakeOrCamel(k), structuredClone(container[k]));
        break;
    }
  }
  return root;
}

describe('options fuzzing (fast-check)', () => {
  it('valid configurations validate, resolve and print no secret', () => {
    fc.assert(
      fc.property(validConfig, (c) => {
        const o = outcome(c);
        if (!o.ok) throw new Error(`a valid config was refused: ${o.error.problems.join('; ')}`);
        holds(c);
      }),
      { numRuns: 150, seed: SEED },
    );
  });

  it('mutations of a valid configuration: a valid instance or a ConfigurationError naming a field, never a secret', () => {
    fc.assert(
      fc.property(validConfig, fc.array(mutation, { minLength: 1, maxLength: 4 }), (c, ms) => holds(mutate(c, ms))),
      { numRuns: 400, seed: SEED },
    );
  });

  it('arbitrary values (any JS value, JSON-ish objects, the Python shapes)', () => {
    fc.assert(fc.property(fc.anything({ maxDepth: 3, withNullPrototype: true, withObjectString: true, withBoxedValues: true, withSparseArray: true }), holds), { numRuns: 200, seed: SEED });
    const pythonish = fc.record({
      registry: fc.record({ keys: fc.array(fc.dictionary(fc.constantFrom('key_id', 'provider', 'secret_ref', 'auth_method', 'auth_config', 'models', 'regions', 'tags', 'priority'), fc.jsonValue({ maxDepth: 2 }))), defaults: fc.jsonValue({ maxDepth: 2 }), fallback_chains: fc.jsonValue({ maxDepth: 3 }) }, { requiredKeys: [] }),
      use_keys: fc.jsonValue({ maxDepth: 1 }),
      fallback_chains: fc.jsonValue({ maxDepth: 3 }),
      defaults: fc.jsonValue({ maxDepth: 2 }),
    }, { requiredKeys: [] });
    fc.assert(fc.property(pythonish, holds), { numRuns: 200, seed: SEED });
  });

  it('arbitrary registry files (JSON and YAML text) load to options or a ConfigurationError', () => {
    const dir = mkdtempSync(join(tmpdir(), 'llmrotate-fuzz-'));
    const text = fc.oneof(fc.string({ maxLength: 200 }), fc.jsonValue({ maxDepth: 3 }).map((v) => JSON.stringify(v)), fc.constantFrom('a: &a [1]\nb: [*a, *a]', '&x [*x]', 'registry: {keys: [{key_id: a}]}'));
    let n = 0;
    fc.assert(
      fc.property(text, fc.constantFrom('json', 'yaml'), (t, ext) => {
        const file = join(dir, `r${n++}.${ext}`);
        writeFileSync(file, t);
        let raw: unknown;
        try {
          raw = loadOptionsFile(file);
        } catch (e) {
          expect(e).toBeInstanceOf(ConfigurationError);
          return;
        }
        holds(raw);
      }),
      { numRuns: 150, seed: SEED },
    );
  });
});
