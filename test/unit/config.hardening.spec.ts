import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { inspect } from 'node:util';
import { ConfigurationError, LlmRotate, MAX_TIMER_MS, loadOptionsFile, validateOptions } from '../../lib';
import { ResolvedConfig } from '../../lib/core/config/resolved-config';

/** Issue 8 items 3, 4, 5, 11, 12, 14: bad input is a ConfigurationError naming the field, never a leak or a crash. */

function problemsOf(input: unknown): string[] {
  let err: unknown;
  try {
    validateOptions(input);
  } catch (e) {
    err = e;
  }
  if (!(err instanceof ConfigurationError)) throw new Error(`expected a ConfigurationError, got ${String(err)}`);
  return [...err.problems];
}

const key = (id: string, extra: Record<string, unknown> = {}) => ({ keyId: id, provider: 'openai' as const, secretRef: `env://KEY_${id}`, ...extra });
const withProvider = (openai: Record<string, unknown>) => ({ registry: { keys: [key('a')], providers: { openai } }, useKeys: ['a'] });
const withKey = (extra: Record<string, unknown>) => ({ registry: { keys: [key('a', extra)] }, useKeys: ['a'] });

describe('every duration is bounded below 2^31 ms (item 4)', () => {
  it.each([
    ['registry.providers.openai.timeoutMs', withProvider({ timeoutMs: MAX_TIMER_MS + 1 })],
    ['registry.providers.openai.cooldownSeconds', withProvider({ cooldownSeconds: 2_147_484, maxCooldownSeconds: 2_147_483 })],
    ['registry.providers.openai.quarantineSeconds', withProvider({ quarantineSeconds: 1e10 })],
    ['registry.providers.openai.maxCooldownSeconds', withProvider({ maxCooldownSeconds: 2_147_484 })],
    ['registry.stateStore.commandTimeoutMs', { registry: { keys: [key('a')], stateStore: { backend: 'redis', commandTimeoutMs: 2 ** 31 } }, useKeys: ['a'] }],
    ['leaseTtlMs', { registry: { keys: [key('a')] }, useKeys: ['a'], leaseTtlMs: 1e12 }],
    ['shutdownTimeoutMs', { registry: { keys: [key('a')] }, useKeys: ['a'], shutdownTimeoutMs: 2 ** 31 }],
  ])('%s above the bound is refused', (field, input) => {
    const problems = problemsOf(input);
    expect(problems).toContainEqual(expect.stringMatching(new RegExp(`^${field.replace(/\./g, '\\.')}: must not be greater than`)));
    for (const p of problems) expect(p.startsWith(`${field}: `)).toBe(true);
  });

  it('the bounds themselves are accepted', () => {
    const o = validateOptions({
      registry: { keys: [key('a')], providers: { openai: { timeoutMs: MAX_TIMER_MS, maxCooldownSeconds: 2_147_483, cooldownSeconds: 2_147_483 } }, stateStore: { backend: 'redis', commandTimeoutMs: MAX_TIMER_MS } },
      useKeys: ['a'],
      leaseTtlMs: MAX_TIMER_MS,
      shutdownTimeoutMs: MAX_TIMER_MS,
    });
    expect(o.leaseTtlMs).toBe(MAX_TIMER_MS);
    expect(MAX_TIMER_MS).toBe(2 ** 31 - 1);
  });
});

describe('cooldownSeconds and quarantineSeconds never exceed maxCooldownSeconds (item 3)', () => {
  it('against the given cap, and against the default cap (3600 s)', () => {
    expect(problemsOf(withProvider({ cooldownSeconds: 120, quarantineSeconds: 600, maxCooldownSeconds: 60 }))).toEqual([
      'registry.providers.openai.cooldownSeconds: must not exceed maxCooldownSeconds (60)',
      'registry.providers.openai.quarantineSeconds: must not exceed maxCooldownSeconds (60)',
    ]);
    expect(problemsOf(withProvider({ quarantineSeconds: 7200 }))).toEqual(['registry.providers.openai.quarantineSeconds: must not exceed the default maxCooldownSeconds (3600)']);
    expect(validateOptions(withProvider({ quarantineSeconds: 7200, maxCooldownSeconds: 7200 })).registry.providers?.openai?.quarantineSeconds).toBe(7200);
  });
});

describe('provider headers are checked at start-up (item 5)', () => {
  const SECRETISH = 'value-canary-7f3a';
  it.each([
    ['X Bad', '1', 'registry.providers.openai.headers["X Bad"]: invalid header name'],
    ['X-Title', `a\r\nInjected: ${SECRETISH}`, 'registry.providers.openai.headers.X-Title: invalid header value'],
    ['X-Title', `a\n${SECRETISH}`, 'registry.providers.openai.headers.X-Title: invalid header value'],
    ['X-Title', `a\u0000${SECRETISH}`, 'registry.providers.openai.headers.X-Title: invalid header value'],
    ['X-Title', `\u2028${SECRETISH}`, 'registry.providers.openai.headers.X-Title: invalid header value'],
    ['X-Title', 42, 'registry.providers.openai.headers.X-Title: must be a string'],
    ['Authorization', `Bearer ${SECRETISH}`, "registry.providers.openai.headers.Authorization: would override the key's credential"],
    ['x-api-key', SECRETISH, "registry.providers.openai.headers.x-api-key: would override the key's credential"],
    ['API-Key', SECRETISH, "registry.providers.openai.headers.API-Key: would override the key's credential"],
    ['x-goog-api-key', SECRETISH, "registry.providers.openai.headers.x-goog-api-key: would override the key's credential"],
    ['Content-Length', '5', 'registry.providers.openai.headers.Content-Length: is set by the HTTP client'],
    ['transfer-encoding', 'chunked', 'registry.providers.openai.headers.transfer-encoding: is set by the HTTP client'],
  ])('%s: %j is refused, naming the field, never the value', (name, value, problem) => {
    const problems = problemsOf(withProvider({ headers: { 'HTTP-Referer': 'https://example.com', [name]: value } }));
    expect(problems).toHaveLength(1);
    expect(problems[0].startsWith(problem)).toBe(true);
    expect(problems.join()).not.toContain(SECRETISH);
  });

  it('ordinary extra headers pass (tabs and Latin-1 included)', () => {
    const headers = { 'HTTP-Referer': 'https://example.com', 'X-Title': 'My app\tv2 café', 'anthropic-beta': 'x' };
    expect(validateOptions(withProvider({ headers })).registry.providers?.openai?.headers).toEqual(headers);
  });
});

describe('credentials inside a baseUrl are refused and never echoed (item 11)', () => {
  it.each([
    ['registry.keys[0].baseUrl', withKey({ baseUrl: 'http://user:s3cr3t-pw@127.0.0.1:8080/v1' })],
    ['registry.keys[0].baseUrl', withKey({ baseUrl: 'https://:s3cr3t-pw@api.example.com' })],
    ['registry.keys[0].baseUrl', withKey({ baseUrl: 'https://s3cr3t-pw@api.example.com' })],
    ['registry.providers.openai.baseUrl', withProvider({ baseUrl: 'https://user:s3cr3t-pw@proxy.example.com/v1' })],
  ])('%s', (field, input) => {
    const err = (() => {
      try {
        validateOptions(input);
      } catch (e) {
        return e as ConfigurationError;
      }
      throw new Error('accepted');
    })();
    expect(err.problems).toEqual([`${field}: must not carry credentials (user:password@host); put the secret in secretRef`]);
    expect(`${err.message} ${err.stack}`).not.toContain('s3cr3t-pw');
  });

  it('redisUrl keeps its credentials (that is Redis’ normal form)', () => {
    const o = validateOptions({ registry: { keys: [key('a')], stateStore: { backend: 'redis', redisUrl: 'redis://default:pw@127.0.0.1:6379' } }, useKeys: ['a'] });
    expect(o.registry.stateStore).toMatchObject({ redisUrl: 'redis://default:pw@127.0.0.1:6379' });
  });
});

describe('bounded loading: alias bombs and circular metadata (item 12)', () => {
  const dir = mkdtempSync(join(tmpdir(), 'llmrotate-bomb-'));

  it('a YAML alias bomb is a ConfigurationError at once, not an exhausted heap', async () => {
    const levels = ['a', 'b', 'c', 'd', 'e', 'f', 'g', 'h', 'i'];
    const lines = ['a: &a ["lol","lol","lol","lol","lol","lol","lol","lol","lol"]'];
    for (let i = 1; i < levels.length; i++) lines.push(`${levels[i]}: &${levels[i]} [${Array(9).fill(`*${levels[i - 1]}`).join(',')}]`);
    const file = join(dir, 'bomb.yaml');
    writeFileSync(file, `registry:\n  keys:\n    - key_id: a\n      provider: openai\n      secret_ref: env://A\n      metadata:\n${lines.map((l) => `        ${l}`).join('\n')}\nuse_keys: [a]\n`);
    expect(() => loadOptionsFile(file)).toThrow(ConfigurationError);
    expect(() => loadOptionsFile(file)).toThrow(/bomb\.yaml: registry\.keys\[0\]\.metadata\..*: too large \(more than 200000 values/);
    await expect(LlmRotate.create(file)).rejects.toBeInstanceOf(ConfigurationError);
  });

  it('the same bomb handed over as an object (js-yaml shares aliases) is refused by validation too', () => {
    let node: unknown = ['lol', 'lol', 'lol', 'lol', 'lol', 'lol', 'lol', 'lol', 'lol'];
    for (let i = 0; i < 9; i++) node = Array(9).fill(node);
    expect(problemsOf(withKey({ metadata: { node } }))).toEqual([expect.stringMatching(/^registry\.keys\[0\]\.metadata\.node.*: too large/)]);
  });

  it('circular metadata from a factory names the path; so does a circular class instance', () => {
    const m: Record<string, unknown> = { region: 'us-east-1' };
    m.self = m;
    expect(problemsOf(withKey({ metadata: m }))).toEqual(['registry.keys[0].metadata.self: circular reference (a value that contains itself)']);
    class Node {
      next: Node = this;
    }
    expect(problemsOf(withKey({ metadata: { node: new Node() } }))).toEqual(['registry.keys[0].metadata.node.next: circular reference (a value that contains itself)']);
    // Shared (not circular) references are fine.
    const shared = { tier: 'gold' };
    expect(validateOptions(withKey({ metadata: { x: shared, y: shared } })).registry.keys[0].metadata).toEqual({ x: shared, y: shared });
  });

  it('nesting is bounded; a JSON syntax error never echoes the file’s text', () => {
    let deep: unknown = 1;
    for (let i = 0; i < 100; i++) deep = { d: deep };
    expect(problemsOf(withKey({ metadata: deep }))).toEqual([expect.stringMatching(/: nested deeper than 64 levels$/)]);
    const file = join(dir, 'typo.json');
    writeFileSync(file, '{"registry": {"keys": [{"secret_ref": literal://sk-file-canary-123}]}}');
    const err = (() => {
      try {
        loadOptionsFile(file);
      } catch (e) {
        return e as ConfigurationError;
      }
      throw new Error('accepted');
    })();
    expect(err.problems[0]).toMatch(/typo\.json: not valid JSON/);
    expect(err.message).not.toContain('canary');
  });
});

describe('small ones (item 14)', () => {
  it('a key listed twice in useKeys is an error, not counted twice', () => {
    expect(problemsOf({ registry: { keys: [key('a'), key('b')] }, useKeys: ['a', 'b', 'a'] })).toEqual(['useKeys[2]: "a" is listed twice (also useKeys[0])']);
  });

  it.each([
    [{ registry: { keys: [{ key_id: 'a', keyId: 'b', provider: 'openai', secretRef: 'env://A' }] }, useKeys: ['a'] }, 'registry.keys[0].keyId: the same option as key_id (give one of key_id / keyId)'],
    [{ registry: { keys: [{ keyId: 'a', provider: 'openai', secret_ref: 'env://A', secretRef: 'env://B' }] }, useKeys: ['a'] }, 'registry.keys[0].secretRef: the same option as secret_ref (give one of secret_ref / secretRef)'],
    [{ registry: { keys: [key('a')] }, useKeys: ['a'], use_keys: ['a'] }, 'use_keys: the same option as useKeys (give one of useKeys / use_keys)'],
    [{ registry: { keys: [key('a')], state_store: { backend: 'memory' }, stateStore: { backend: 'memory' } }, useKeys: ['a'] }, 'registry.stateStore: the same option as state_store (give one of state_store / stateStore)'],
    [withProvider({ cooldown_seconds: 5, cooldownSeconds: 6 }), 'registry.providers.openai.cooldownSeconds: the same option as cooldown_seconds (give one of cooldown_seconds / cooldownSeconds)'],
  ])('snake_case and camelCase of one option both given: an error naming both (%#)', (input, problem) => {
    expect(problemsOf(input)).toEqual([problem]);
  });

  it('priority and weight lie in documented finite ranges (−1e307 made every score −Infinity)', () => {
    expect(problemsOf(withKey({ priority: -1e307 }))).toEqual(['registry.keys[0].priority: must not be less than -1000000']);
    expect(problemsOf(withKey({ priority: 1e7 }))).toEqual(['registry.keys[0].priority: must not be greater than 1000000']);
    expect(problemsOf(withKey({ weight: 1e307 }))).toEqual(['registry.keys[0].weight: must not be greater than 1000000']);
    expect(problemsOf({ registry: { keys: [key('a')] }, useKeys: ['a'], priorities: { a: -1e307 } })).toEqual(['priorities.a: must be between -1000000 and 1000000']);
    const o = validateOptions({ registry: { keys: [key('a', { priority: -1_000_000, weight: 1_000_000 })] }, useKeys: ['a'], priorities: { a: 1_000_000 } });
    expect(new ResolvedConfig(o).keys[0]).toMatchObject({ priority: 1_000_000, weight: 1_000_000 });
  });

  it('odd option names (constructor, __proto__, empty) are named problems, never a crash (found by the fuzzer)', () => {
    // User data may use any name: a metadata field or a header named `constructor` is data (it crashed class-transformer).
    const metadata = { constructor: 1, nested: { constructor: 'y' } };
    expect(validateOptions(withKey({ metadata })).registry.keys[0].metadata).toEqual(metadata);
    expect(validateOptions(withProvider({ headers: { constructor: 'x' }, deployments: { constructor: 'd' } })).registry.providers?.openai?.headers).toEqual({ constructor: 'x' });
    // In an options object such names are unknown options (class-transformer dropped them silently).
    expect(problemsOf({ ...withKey({}), constructor: [] })).toEqual(['constructor: unknown option']);
    expect(problemsOf(withProvider({ constructor: [] }))).toEqual(['registry.providers.openai.constructor: unknown option']);
    expect(problemsOf({ registry: { keys: [JSON.parse('{"keyId":"a","provider":"openai","secretRef":"env://A","__proto__":{"x":1}}')] }, useKeys: ['a'] })).toEqual([
      'registry.keys[0].__proto__: unknown option',
    ]);
    expect(problemsOf({ ...withKey({}), '': 1 })).toEqual(['options[""]: unknown option']);
    expect(problemsOf(withProvider({ deployments: { 'gpt-4o': 3 } }))).toEqual(['registry.providers.openai.deployments.gpt-4o: must be a deployment name']);
  });

  it('util.inspect with showHidden, and JSON, never print a secretRef; validated options validate again', () => {
    const o = validateOptions({ registry: { keys: [key('a', { secretRef: 'literal://sk-inspect-canary-1' })] }, useKeys: ['a'] });
    expect(o.registry.keys[0].secretRef).toBe('literal://sk-inspect-canary-1');
    for (const text of [inspect(o, { showHidden: true, depth: 10 }), inspect(o, { showHidden: true, depth: 10, getters: false }), JSON.stringify(o), inspect(o.registry.keys[0], { showHidden: true })]) {
      expect(text).not.toContain('sk-inspect-canary-1');
    }
    expect(inspect(o.registry.keys[0], { showHidden: true })).toContain('[secretRef]: [Getter]');
    const again = validateOptions(o);
    expect(again.registry.keys[0].secretRef).toBe('literal://sk-inspect-canary-1');
    expect(inspect(again, { showHidden: true, depth: 10 })).not.toContain('sk-inspect-canary-1');
    // The resolved key (what the engine holds) hides it the same way.
    const rt = new ResolvedConfig(again).keys[0];
    expect(rt.secretRef).toBe('literal://sk-inspect-canary-1');
    expect(inspect(rt, { showHidden: true, depth: 10 }) + JSON.stringify({ ...rt, settings: undefined, models: undefined })).not.toContain('sk-inspect-canary-1');
  });

  it('an instance’s options print no secret and reload as they are', async () => {
    const lr = await LlmRotate.create({ registry: { keys: [key('a', { secretRef: 'literal://sk-live-options-canary' })] }, useKeys: ['a'] }, { logger: { debug() {}, warn() {}, error() {} } });
    try {
      expect(inspect(lr.options, { showHidden: true, depth: 20 })).not.toContain('sk-live-options-canary');
      await lr.reload(lr.options);
      expect(lr.options.registry.keys[0].secretRef).toBe('literal://sk-live-options-canary');
    } finally {
      await lr.close();
    }
  });
});

describe('found by the options fuzzer', () => {
  it('a key entry that is not an object (an array, a string) is a ConfigurationError naming it, not a TypeError', () => {
    for (const bad of [[], 'a', 3, null]) {
      const err = (() => {
        try {
          validateOptions({ registry: { keys: [bad, { keyId: 'a', provider: 'openai', secretRef: 'literal://x' }] }, useKeys: ['a'] });
        } catch (e) {
          return e;
        }
        return undefined;
      })();
      expect(err).toBeInstanceOf(ConfigurationError);
      expect((err as ConfigurationError).problems).toContain('registry.keys[0]: must be an object { keyId, provider, secretRef, … }');
    }
  });
});

describe('found by the options fuzzer (2)', () => {
  it('an own `constructor` inside an object built in another realm (structuredClone, vm) is an unknown option, not a TypeError', () => {
    const inner = structuredClone({ keys: [] as unknown[] });
    Object.defineProperty(inner, 'constructor', { value: {}, enumerable: true, writable: true, configurable: true });
    let err: unknown;
    try {
      validateOptions({ registry: { keys: [{ keyId: 'a', provider: 'openai', secretRef: 'literal://x' }] }, useKeys: ['a'], keyId: inner });
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(ConfigurationError);
    expect((err as ConfigurationError).problems).toEqual(expect.arrayContaining(['keyId.constructor: unknown option']));
  });
});
