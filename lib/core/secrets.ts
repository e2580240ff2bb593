import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { SecretResolutionError } from './errors';

/** How long a `file://` secret is cached before the file is read again (rotated k8s/docker secrets). */
const FILE_TTL_MS = 30_000;
/** How long an async resolver's answer is cached unless its definition says otherwise. */
export const DEFAULT_RESOLVER_TTL_MS = 300_000;
/** A run of this many characters of a known secret is masked wherever it appears (a cut-off or partial echo). */
export const SECRET_RUN_CHARS = 8;
const MASK = '***';
const BUILT_IN = new Set(['env', 'file', 'literal']);

/**
 * A resolver for a custom `secretRef` scheme (`config://NAME`, `vault://path`): returns the secret for `name` (the
 * part after `scheme://`), or undefined/null when there is none. May be async (a vault): its answers are cached.
 */
export type SecretResolverFn = (name: string, context: { readonly keyId: string; readonly ref: string }) => string | undefined | null | Promise<string | undefined | null>;

export interface SecretResolverDefinition {
  resolve: SecretResolverFn;
  /** How long an answer is reused (async resolvers: default 300000; sync resolvers: not cached unless set). */
  cacheTtlMs?: number;
}

/** `secretResolvers` option: scheme → resolver (e.g. `{ config: (name) => configService.get(name) }`). */
export type SecretResolvers = Readonly<Record<string, SecretResolverFn | SecretResolverDefinition>>;

interface Cached {
  value: string;
  expires: number;
}

/**
 * Resolves `secretRef`s at call time (SPEC §3) — `env://`, `file://`, `literal://` and the schemes of the
 * `secretResolvers` option — and remembers every value it handed out so that {@link SecretResolver.scrub} can remove
 * them (and any long enough run of their characters) from text leaving the library.
 *
 * `resolve` answers synchronously whenever it can (built-in schemes, sync resolvers, a fresh cache entry) and returns
 * a promise only when an async resolver must be asked.
 */
export class SecretResolver {
  // ES private fields: neither JSON nor util.inspect (even with showHidden) can reach the values.
  readonly #cache = new Map<string, Cached>();
  readonly #pending = new Map<string, Promise<string>>();
  readonly #warned = new Set<string>();
  readonly #known = new Set<string>();
  readonly #runs = new Set<string>();
  #pattern: RegExp | undefined;
  #resolvers: SecretResolvers = {};

  constructor(
    private readonly warn: (message: string) => void,
    private readonly now: () => number = Date.now,
  ) {}

  /** The custom schemes in force (start-up and reload). Cached answers of a scheme that changed are dropped. */
  useResolvers(resolvers: SecretResolvers | undefined): void {
    const next = resolvers ?? {};
    for (const ref of [...this.#cache.keys()]) {
      const scheme = ref.slice(0, ref.indexOf('://'));
      if (!BUILT_IN.has(scheme) && next[scheme] !== this.#resolvers[scheme]) this.#cache.delete(ref);
    }
    this.#resolvers = next;
  }

  resolve(keyId: string, ref: string): string | Promise<string> {
    const sep = ref.indexOf('://');
    const scheme = sep > 0 ? ref.slice(0, sep) : '';
    const rest = sep > 0 ? ref.slice(sep + 3) : '';
    switch (scheme) {
      case 'env': {
        const v = process.env[rest];
        if (v === undefined) throw new SecretResolutionError(keyId, `environment variable ${rest} is not set (secretRef env://${rest})`);
        return this.#accept(keyId, v.trim(), `environment variable ${rest} is empty (secretRef env://${rest})`);
      }
      case 'file':
        return this.#readFile(keyId, ref);
      case 'literal':
        if (!this.#warned.has(keyId) && rest) {
          this.#warned.add(keyId);
          this.warn(`Key "${keyId}" uses a literal:// secretRef; prefer env://, file:// or a secret resolver outside of tests`);
        }
        return this.#accept(keyId, rest, 'literal:// secretRef is empty');
      default:
        return this.#custom(keyId, ref, scheme, rest);
    }
  }

  /** Replaces every known secret value, every run of {@link SECRET_RUN_CHARS}+ of their characters, and anything shaped like a vendor key, with `***`. */
  scrub(text: string): string {
    // Longer texts are cut first: the run check below still masks a secret the cut splits (any 8 characters of it).
    let out = text.length > MAX_SCRUB_CHARS ? `${text.slice(0, MAX_SCRUB_CHARS)}… (cut)` : text;
    if (this.#pattern !== undefined) out = out.replace(this.#pattern, MASK);
    if (this.#runs.size > 0) out = this.#maskRuns(out);
    return out.replace(GENERIC_KEY_SHAPES, MASK);
  }

  #custom(keyId: string, ref: string, scheme: string, name: string): string | Promise<string> {
    const def = this.#resolvers[scheme];
    if (def === undefined) {
      const known = ['env', 'file', 'literal', ...Object.keys(this.#resolvers)].map((s) => `${s}://`).join(', ');
      throw new SecretResolutionError(keyId, `unknown secretRef scheme "${scheme || '(none)'}" (use ${known})`);
    }
    const fn = typeof def === 'function' ? def : def.resolve;
    const ttl = typeof def === 'function' ? undefined : def.cacheTtlMs;
    const hit = this.#cache.get(ref);
    const t = this.now();
    if (hit !== undefined && hit.expires > t) return hit.value;
    const pending = this.#pending.get(ref);
    if (pending !== undefined) return pending;
    let answer: ReturnType<SecretResolverFn>;
    try {
      answer = fn(name, { keyId, ref });
    } catch (e) {
      return this.#stale(keyId, ref, hit, `the "${scheme}" resolver failed (${this.#why(e)})`);
    }
    if (!isPromise(answer)) {
      const value = this.#accept(keyId, typeof answer === 'string' ? answer.trim() : '', `the "${scheme}" resolver has no value for "${name}"`);
      if (ttl !== undefined && ttl > 0) this.#cache.set(ref, { value, expires: t + ttl });
      return value;
    }
    const p = answer.then(
      (v) => {
        const value = this.#accept(keyId, typeof v === 'string' ? v.trim() : '', `the "${scheme}" resolver has no value for "${name}"`);
        this.#cache.set(ref, { value, expires: this.now() + (ttl ?? DEFAULT_RESOLVER_TTL_MS) });
        return value;
      },
      (e: unknown) => this.#stale(keyId, ref, hit, `the "${scheme}" resolver failed (${this.#why(e)})`),
    );
    const done = p.finally(() => this.#pending.delete(ref));
    done.catch(() => undefined);
    this.#pending.set(ref, done);
    return done;
  }

  /** A resolver failed: keep serving the last value it gave (a vault outage must not take every key down), else fail. */
  #stale(keyId: string, ref: string, hit: Cached | undefined, why: string): string {
    if (hit === undefined) throw new SecretResolutionError(keyId, `${why} (secretRef ${ref.slice(0, ref.indexOf('://') + 3)}…)`);
    const tag = `stale:${keyId}`;
    if (!this.#warned.has(tag)) {
      this.#warned.add(tag);
      this.warn(`Key "${keyId}": ${why}; reusing its last resolved secret`);
    }
    return hit.value;
  }

  /**
   * Why a resolver failed, without its message: a vault client's error may quote what it was asked for or answered,
   * and a value this resolver never handed out cannot be scrubbed. The error's class and code only.
   */
  #why(e: unknown): string {
    if (!(e instanceof Error)) return typeof e;
    const code = (e as { code?: unknown }).code;
    return typeof code === 'string' && /^[\w.-]{1,40}$/.test(code) ? `${e.name} ${code}` : e.name;
  }

  #accept(keyId: string, value: string, emptyReason: string): string {
    if (!value) throw new SecretResolutionError(keyId, emptyReason);
    this.#warned.delete(`stale:${keyId}`);
    this.#remember(value);
    return value;
  }

  #remember(value: string): void {
    if (this.#known.has(value) || value.length < 4) return;
    this.#known.add(value);
    // Longest first so a secret containing another is masked whole. Secrets that are JSON documents
    // (service accounts, AWS credentials) are also masked by their private parts.
    const parts = [...this.#known].flatMap(secretFragments).sort((a, b) => b.length - a.length);
    this.#pattern = new RegExp(parts.map(escapeRegExp).join('|'), 'g');
    for (const part of privateParts(value)) {
      for (let i = 0; i + SECRET_RUN_CHARS <= part.length; i++) {
        const w = part.slice(i, i + SECRET_RUN_CHARS);
        if (isTokenRun(w)) this.#runs.add(w);
      }
    }
  }

  /** Masks every stretch of text covered by runs of a known secret's characters (linear in the text's length). */
  #maskRuns(text: string): string {
    let out = '';
    let last = 0;
    const n = text.length;
    let i = 0;
    while (i < n) {
      if (!isTokenChar(text.charCodeAt(i))) {
        i++;
        continue;
      }
      let j = i;
      while (j < n && isTokenChar(text.charCodeAt(j))) j++;
      // [i, j) is a run of key characters: mask every stretch covered by windows of a known secret.
      let start = -1;
      let coverEnd = -1;
      for (let k = i; k + SECRET_RUN_CHARS <= j; k++) {
        if (!this.#runs.has(text.slice(k, k + SECRET_RUN_CHARS))) continue;
        if (k > coverEnd) {
          if (start >= 0) {
            out += text.slice(last, start) + MASK;
            last = coverEnd;
          }
          start = k;
        }
        coverEnd = k + SECRET_RUN_CHARS;
      }
      if (start >= 0) {
        out += text.slice(last, start) + MASK;
        last = coverEnd;
      }
      i = j;
    }
    return last === 0 ? text : out + text.slice(last);
  }

  #readFile(keyId: string, ref: string): string {
    const hit = this.#cache.get(ref);
    const t = this.now();
    if (hit && hit.expires > t) return hit.value;
    let path: string;
    try {
      path = fileURLToPath(ref);
    } catch {
      throw new SecretResolutionError(keyId, `secretRef ${ref} is not a valid file:// URL (use file:///absolute/path)`);
    }
    let raw: string;
    try {
      raw = readFileSync(path, 'utf8');
    } catch (e) {
      const code = (e as NodeJS.ErrnoException).code ?? 'read error';
      throw new SecretResolutionError(keyId, `cannot read ${ref} (${code})`);
    }
    const value = this.#accept(keyId, raw.trim(), `secret file ${ref} is empty`);
    this.#cache.set(ref, { value, expires: t + FILE_TTL_MS });
    return value;
  }
}

/** OpenAI/Anthropic/OpenRouter `sk-…`, Google `AIza…`, AWS access key ids, bearer tokens in echoed headers. */
const GENERIC_KEY_SHAPES = /\b(?:sk-[A-Za-z0-9_-]{16,}|AIza[0-9A-Za-z_-]{30,}|AKIA[0-9A-Z]{16}|ya29\.[0-9A-Za-z_.-]{20,})/g;
/** Texts longer than this are cut before scrubbing (error bodies are bounded long before; this guards any caller). */
const MAX_SCRUB_CHARS = 256 * 1024;

/** Characters a key is made of (letters, digits, `+ / = _ . -`): partial echoes are checked over runs of these. */
function isTokenChar(c: number): boolean {
  return (c >= 48 && c <= 57) || (c >= 65 && c <= 90) || (c >= 97 && c <= 122) || c === 43 || c === 47 || c === 61 || c === 95 || c === 46 || c === 45;
}

function isTokenRun(w: string): boolean {
  for (let i = 0; i < w.length; i++) if (!isTokenChar(w.charCodeAt(i))) return false;
  return true;
}
const SENSITIVE_FIELDS = ['private_key', 'secretAccessKey', 'sessionToken', 'accessKeyId', 'private_key_id'];

function secretFragments(value: string): string[] {
  const out = [value];
  for (const v of jsonFields(value) ?? []) {
    out.push(v);
    // JSON-escaped form of multi-line PEM bodies.
    if (v.includes('\n')) out.push(JSON.stringify(v).slice(1, -1));
  }
  return out;
}

/** The high-entropy parts of a secret: the value itself, or a JSON credential's private fields (not its common text). */
function privateParts(value: string): string[] {
  return jsonFields(value) ?? [value];
}

/** The private fields of a JSON credential; undefined when the secret is not a JSON object. */
function jsonFields(value: string): string[] | undefined {
  if (!value.startsWith('{')) return undefined;
  try {
    const doc = JSON.parse(value) as Record<string, unknown>;
    const out: string[] = [];
    for (const field of SENSITIVE_FIELDS) {
      const v = doc[field];
      if (typeof v === 'string' && v.length >= 8) out.push(v);
    }
    return out;
  } catch {
    return undefined;
  }
}

function isPromise<T>(v: T | Promise<T>): v is Promise<T> {
  return typeof (v as { then?: unknown } | null | undefined)?.then === 'function';
}

function escapeRegExp(s: string): string {
  return s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}
