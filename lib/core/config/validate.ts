import { plainToInstance } from 'class-transformer';
import { validateSync, type ValidationError } from 'class-validator';
import { ConfigurationError } from '../errors';
import { PROVIDERS, type ProviderName } from '../types';
import { isRecord, normalizeOptions } from './normalize';
import { OptionsDto, ProviderDto } from './options.dto';
import type { LlmRotateOptions } from './options.interfaces';

/**
 * Validates options (camelCase or the Python snake_case form) and returns them camelCased.
 * Throws one {@link ConfigurationError} listing every problem by path. Never echoes a secretRef.
 */
export function validateOptions(input: unknown): LlmRotateOptions {
  const normalized = normalizeOptions(input);
  if (!isRecord(normalized)) throw new ConfigurationError(['options: must be an object']);
  const problems: string[] = [];
  const dto = plainToInstance(OptionsDto, normalized);
  collect(validateSync(dto, { whitelist: true, forbidNonWhitelisted: true }), '', problems);

  const registry = isRecord(normalized.registry) ? normalized.registry : undefined;
  const keys = Array.isArray(registry?.keys) ? (registry.keys as unknown[]) : [];
  const seen = new Map<string, number>();
  const byId = new Map<string, Record<string, unknown>>();
  keys.forEach((k, i) => {
    if (!isRecord(k) || typeof k.keyId !== 'string') return;
    const first = seen.get(k.keyId);
    if (first !== undefined) problems.push(`registry.keys[${i}].keyId: duplicate keyId "${k.keyId}" (also registry.keys[${first}])`);
    else seen.set(k.keyId, i);
    byId.set(k.keyId, k);
  });
  if (Array.isArray(normalized.useKeys)) {
    (normalized.useKeys as unknown[]).forEach((id, i) => {
      if (typeof id === 'string' && !byId.has(id)) problems.push(`useKeys[${i}]: "${id}" is not a keyId of registry.keys`);
    });
  }
  if (isRecord(registry?.providers)) {
    for (const [name, p] of Object.entries(registry.providers)) {
      const path = `registry.providers.${name}`;
      if (!PROVIDERS.includes(name as ProviderName)) {
        problems.push(`${path}: unknown provider (one of ${PROVIDERS.join(', ')})`);
        continue;
      }
      if (!isRecord(p)) {
        problems.push(`${path}: must be an object`);
        continue;
      }
      collect(validateSync(plainToInstance(ProviderDto, p), { whitelist: true, forbidNonWhitelisted: true }), path, problems);
    }
  }
  if (isRecord(registry?.fallbacks)) checkFallbacks(registry.fallbacks, problems);
  checkSecretSchemes(normalized.secretResolvers, keys, problems);
  if (isRecord(normalized.pricing)) checkPricing(normalized.pricing, problems);
  if (isRecord(normalized.priorities)) {
    for (const [id, v] of Object.entries(normalized.priorities)) {
      if (typeof v !== 'number' || !Number.isFinite(v)) problems.push(`priorities.${id}: must be a number`);
      if (!byId.has(id)) problems.push(`priorities.${id}: "${id}" is not a keyId of registry.keys`);
    }
  }
  if (problems.length > 0) throw new ConfigurationError(problems);
  // The validated form is a copy (normalizeOptions copies every key); hide each secretRef from JSON and inspect.
  for (const k of keys as Array<Record<string, unknown>>) {
    Object.defineProperty(k, 'secretRef', { value: k.secretRef, enumerable: false, writable: false, configurable: false });
  }
  return normalized as unknown as LlmRotateOptions;
}

const PRICE_FIELDS = ['inputPerMTok', 'outputPerMTok', 'cachedInputPerMTok'];

/** `pricing`: model → { inputPerMTok, outputPerMTok, cachedInputPerMTok? }, finite USD ≥ 0. */
function checkPricing(pricing: Record<string, unknown>, problems: string[]): void {
  for (const [model, p] of Object.entries(pricing)) {
    const path = `pricing.${model}`;
    if (!isRecord(p)) {
      problems.push(`${path}: must be { inputPerMTok, outputPerMTok, cachedInputPerMTok? }`);
      continue;
    }
    for (const f of Object.keys(p)) if (!PRICE_FIELDS.includes(f)) problems.push(`${path}.${f}: unknown option`);
    for (const f of PRICE_FIELDS) {
      const v = p[f];
      if (v === undefined && f === 'cachedInputPerMTok') continue;
      if (typeof v !== 'number' || !Number.isFinite(v) || v < 0 || v > 1e6) problems.push(`${path}.${f}: must be a number of USD per million tokens from 0 to 1000000`);
    }
  }
}

const BUILT_IN_SCHEMES = ['env', 'file', 'literal'];

/** `secretResolvers` maps scheme → function or `{ resolve, cacheTtlMs? }`; every secretRef's scheme must be known. */
function checkSecretSchemes(resolvers: unknown, keys: unknown[], problems: string[]): void {
  const schemes = new Set(BUILT_IN_SCHEMES);
  if (resolvers !== undefined) {
    if (!isRecord(resolvers)) problems.push('secretResolvers: must be an object of scheme → resolver');
    else {
      for (const [scheme, r] of Object.entries(resolvers)) {
        const path = `secretResolvers.${scheme}`;
        if (!/^[a-z][a-z0-9+.-]*$/.test(scheme)) problems.push(`${path}: a scheme is lowercase letters, digits, + . - (starting with a letter)`);
        else if (BUILT_IN_SCHEMES.includes(scheme)) problems.push(`${path}: ${scheme}:// is built in and cannot be replaced`);
        else if (typeof r !== 'function' && !(isRecord(r) && typeof r.resolve === 'function')) problems.push(`${path}: must be a function (name) => secret, or { resolve, cacheTtlMs? }`);
        else if (isRecord(r) && r.cacheTtlMs !== undefined && !(typeof r.cacheTtlMs === 'number' && Number.isInteger(r.cacheTtlMs) && r.cacheTtlMs >= 0 && r.cacheTtlMs <= 2_147_483_647)) {
          problems.push(`${path}.cacheTtlMs: must be an integer number of ms from 0 to 2147483647`);
        } else schemes.add(scheme);
      }
    }
  }
  keys.forEach((k, i) => {
    if (!isRecord(k) || typeof k.secretRef !== 'string') return;
    const m = /^([a-z][a-z0-9+.-]*):\/\//.exec(k.secretRef);
    if (m !== null && !schemes.has(m[1])) {
      problems.push(`registry.keys[${i}].secretRef: unknown scheme "${m[1]}://" (use env://, file://, literal:// or add secretResolvers.${m[1]})`);
    }
  });
}

function checkFallbacks(fallbacks: Record<string, unknown>, problems: string[]): void {
  for (const [from, targets] of Object.entries(fallbacks)) {
    const path = `registry.fallbacks.${from}`;
    if (!Array.isArray(targets)) {
      problems.push(`${path}: must be an array`);
      continue;
    }
    targets.forEach((t, i) => {
      if (typeof t === 'string' && t.length > 0) return;
      if (isRecord(t) && typeof t.provider === 'string') {
        if (!PROVIDERS.includes(t.provider as ProviderName)) {
          problems.push(`${path}[${i}].provider: must be one of ${PROVIDERS.join(', ')}`);
        }
        if (t.upstream !== undefined && typeof t.upstream !== 'string') problems.push(`${path}[${i}].upstream: must be a string`);
        return;
      }
      problems.push(`${path}[${i}]: must be a model name or { provider, upstream? }`);
    });
  }
}

function collect(errors: ValidationError[], prefix: string, out: string[]): void {
  for (const e of errors) {
    const path = /^\d+$/.test(e.property) ? `${prefix}[${e.property}]` : prefix ? `${prefix}.${e.property}` : e.property;
    if (e.constraints) {
      for (const msg of Object.values(e.constraints)) out.push(`${path}: ${describe(msg, e.property)}`);
    }
    if (e.children && e.children.length > 0) collect(e.children, path, out);
  }
}

/** class-validator messages start with the property name; keep the rest (the value is never included). */
function describe(msg: string, property: string): string {
  if (msg.startsWith(`property ${property} should not exist`)) return 'unknown option';
  return msg.startsWith(`${property} `) ? msg.slice(property.length + 1) : msg;
}
