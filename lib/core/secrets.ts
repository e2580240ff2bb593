import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { SecretResolutionError } from './errors';

/** How long a `file://` secret is cached before the file is read again (rotated k8s/docker secrets). */
const FILE_TTL_MS = 30_000;
const MASK = '***';

interface Cached {
  value: string;
  expires: number;
}

/**
 * Resolves `secretRef`s at call time (SPEC §3) and remembers every value it handed out so that
 * {@link SecretResolver.scrub} can remove them from any text leaving the library.
 */
export class SecretResolver {
  // ES private fields: neither JSON nor util.inspect (even with showHidden) can reach the values.
  readonly #fileCache = new Map<string, Cached>();
  readonly #warned = new Set<string>();
  readonly #known = new Set<string>();
  #pattern: RegExp | undefined;

  constructor(
    private readonly warn: (message: string) => void,
    private readonly now: () => number = Date.now,
  ) {}

  resolve(keyId: string, ref: string): string {
    const sep = ref.indexOf('://');
    const scheme = sep > 0 ? ref.slice(0, sep) : '';
    const rest = sep > 0 ? ref.slice(sep + 3) : '';
    let value: string;
    switch (scheme) {
      case 'env': {
        const v = process.env[rest];
        if (v === undefined) throw new SecretResolutionError(keyId, `environment variable ${rest} is not set (secretRef env://${rest})`);
        value = v.trim();
        if (!value) throw new SecretResolutionError(keyId, `environment variable ${rest} is empty (secretRef env://${rest})`);
        break;
      }
      case 'file':
        value = this.#readFile(keyId, ref);
        break;
      case 'literal':
        value = rest;
        if (!value) throw new SecretResolutionError(keyId, 'literal:// secretRef is empty');
        if (!this.#warned.has(keyId)) {
          this.#warned.add(keyId);
          this.warn(`Key "${keyId}" uses a literal:// secretRef; prefer env:// or file:// outside of tests`);
        }
        break;
      default:
        throw new SecretResolutionError(keyId, `unknown secretRef scheme "${scheme || '(none)'}" (use env://, file:// or literal://)`);
    }
    this.#remember(value);
    return value;
  }

  /** Replaces every known secret value (and anything shaped like a vendor key) with `***`. */
  scrub(text: string): string {
    let out = text;
    if (this.#pattern) out = out.replace(this.#pattern, MASK);
    return out.replace(GENERIC_KEY_SHAPES, MASK);
  }

  #remember(value: string): void {
    if (this.#known.has(value) || value.length < 4) return;
    this.#known.add(value);
    // Longest first so a secret containing another is masked whole. Secrets that are JSON documents
    // (service accounts) are also masked by their private key body and any token they carry.
    const parts = [...this.#known].flatMap(secretFragments).sort((a, b) => b.length - a.length);
    this.#pattern = new RegExp(parts.map(escapeRegExp).join('|'), 'g');
  }

  #readFile(keyId: string, ref: string): string {
    const hit = this.#fileCache.get(ref);
    const t = this.now();
    if (hit && hit.expires > t) return hit.value;
    let path: string;
    try {
      path = fileURLToPath(ref);
    } catch {
      throw new SecretResolutionError(keyId, `secretRef ${ref} is not a valid file:// URL (use file:///absolute/path)`);
    }
    let value: string;
    try {
      value = readFileSync(path, 'utf8').trim();
    } catch (e) {
      const code = (e as NodeJS.ErrnoException).code ?? 'read error';
      throw new SecretResolutionError(keyId, `cannot read ${ref} (${code})`);
    }
    if (!value) throw new SecretResolutionError(keyId, `secret file ${ref} is empty`);
    this.#fileCache.set(ref, { value, expires: t + FILE_TTL_MS });
    return value;
  }
}

/** OpenAI/Anthropic/OpenRouter `sk-…`, Google `AIza…`, AWS access key ids, bearer tokens in echoed headers. */
const GENERIC_KEY_SHAPES = /\b(?:sk-[A-Za-z0-9_-]{16,}|AIza[0-9A-Za-z_-]{30,}|AKIA[0-9A-Z]{16}|ya29\.[0-9A-Za-z_.-]{20,})/g;

function secretFragments(value: string): string[] {
  const out = [value];
  if (value.startsWith('{')) {
    try {
      const doc = JSON.parse(value) as Record<string, unknown>;
      for (const field of ['private_key', 'secretAccessKey', 'sessionToken', 'accessKeyId', 'private_key_id']) {
        const v = doc[field];
        if (typeof v === 'string' && v.length >= 8) {
          out.push(v);
          // JSON-escaped form of multi-line PEM bodies.
          if (v.includes('\n')) out.push(JSON.stringify(v).slice(1, -1));
        }
      }
    } catch {
      /* not JSON: the whole value is masked */
    }
  }
  return out;
}

function escapeRegExp(s: string): string {
  return s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}
