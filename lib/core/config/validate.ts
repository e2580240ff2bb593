import { plainToInstance } from 'class-transformer';
import { validateSync, type ValidationError } from 'class-validator';
import { ConfigurationError } from '../errors';
import { PROVIDER_DEFAULTS } from '../health/provider-defaults';
import { PROVIDERS, type ProviderName } from '../types';
import { PRIORITY_LIMIT } from './bounds';
import { optionsDtoInput, providerDtoInput } from './dto-input';
import { headerProblems, urlCredentialProblem } from './http-checks';
import { isRecord, normalizeOptions } from './normalize';
import { at } from './paths';
import { OptionsDto, ProviderDto } from './options.dto';
import type { LlmRotateOptions } from './options.interfaces';
import { hideSecretRef } from './secret-ref';
import { guardStructure } from './structure-guard';

/**
 * Validates options (camelCase or the Python snake_case form) and returns them camelCased.
 * Throws one {@link ConfigurationError} listing every problem by path. Never echoes a secretRef, a header value or
 * a URL's credentials. The input is walked first with a size budget and cycle detection (an alias bomb or a circular
 * `metadata` is a ConfigurationError, not an exhausted heap), and never modified.
 */
export function validateOptions(input: unknown): LlmRotateOptions {
  guardStructure(input);
  const problems: string[] = [];
  const normalized = normalizeOptions(input, problems);
  if (!isRecord(normalized)) throw new ConfigurationError(['options: must be an object']);
  const dto = plainToInstance(OptionsDto, optionsDtoInput(normalized, problems));
  collect(validateSync(dto, { whitelist: true, forbidNonWhitelisted: true }), '', problems);

  const registry = isRecord(normalized.registry) ? normalized.registry : undefined;
  const keys = Array.isArray(registry?.keys) ? (registry.keys as unknown[]) : [];
  const byId = checkKeys(keys, problems);
  if (Array.isArray(normalized.useKeys)) checkUseKeys(normalized.useKeys as unknown[], byId, problems);
  if (isRecord(registry?.providers)) checkProviders(registry.providers, problems);
  if (isRecord(registry?.fallbacks)) checkFallbacks(registry.fallbacks, problems);
  if (isRecord(normalized.priorities)) checkPriorities(normalized.priorities, byId, problems);
  checkSecretSchemes(normalized.secretResolvers, keys, problems);
  if (isRecord(normalized.pricing)) checkPricing(normalized.pricing, problems);
  if (problems.length > 0) throw new ConfigurationError(problems);
  // The validated form is a copy (normalizeOptions copies every key); hide each secretRef from JSON and inspect.
  for (const k of keys) {
    if (!isRecord(k)) continue;
    const ref = k.secretRef as string;
    delete k.secretRef;
    hideSecretRef(k, ref);
  }
  return normalized as unknown as LlmRotateOptions;
}

/** Duplicate keyIds and credentials in a key's baseUrl. Returns the keys by id. */
function checkKeys(keys: unknown[], problems: string[]): Map<string, Record<string, unknown>> {
  const seen = new Map<string, number>();
  const byId = new Map<string, Record<string, unknown>>();
  keys.forEach((k, i) => {
    if (!isRecord(k)) {
      problems.push(`registry.keys[${i}]: must be an object { keyId, provider, secretRef, … }`);
      return;
    }
    const cred = urlCredentialProblem(k.baseUrl, `registry.keys[${i}].baseUrl`);
    if (cred !== undefined) problems.push(cred);
    if (typeof k.keyId !== 'string') return;
    const first = seen.get(k.keyId);
    if (first !== undefined) problems.push(`registry.keys[${i}].keyId: duplicate keyId "${k.keyId}" (also registry.keys[${first}])`);
    else seen.set(k.keyId, i);
    byId.set(k.keyId, k);
  });
  return byId;
}

/** Every used key exists, and is listed once (a key listed twice would be counted twice). */
function checkUseKeys(useKeys: unknown[], byId: ReadonlyMap<string, unknown>, problems: string[]): void {
  const seen = new Map<string, number>();
  useKeys.forEach((id, i) => {
    if (typeof id !== 'string') return;
    if (!byId.has(id)) problems.push(`useKeys[${i}]: "${id}" is not a keyId of registry.keys`);
    const first = seen.get(id);
    if (first !== undefined) problems.push(`useKeys[${i}]: "${id}" is listed twice (also useKeys[${first}])`);
    else seen.set(id, i);
  });
}

function checkProviders(providers: Record<string, unknown>, problems: string[]): void {
  for (const [name, p] of Object.entries(providers)) {
    const path = at('registry.providers', name);
    if (!PROVIDERS.includes(name as ProviderName)) {
      problems.push(`${path}: unknown provider (one of ${PROVIDERS.join(', ')})`);
      continue;
    }
    if (!isRecord(p)) {
      problems.push(`${path}: must be an object`);
      continue;
    }
    collect(validateSync(plainToInstance(ProviderDto, providerDtoInput(p, path, problems)), { whitelist: true, forbidNonWhitelisted: true }), path, problems);
    problems.push(...headerProblems(p.headers, `${path}.headers`));
    if (isRecord(p.deployments)) {
      for (const [model, d] of Object.entries(p.deployments)) if (typeof d !== 'string' || d === '') problems.push(`${at(`${path}.deployments`, model)}: must be a deployment name`);
    }
    const cred = urlCredentialProblem(p.baseUrl, `${path}.baseUrl`);
    if (cred !== undefined) problems.push(cred);
    // No bench may outlast the cap: a cooldown or quarantine longer than maxCooldownSeconds is a contradiction.
    const max = typeof p.maxCooldownSeconds === 'number' && Number.isFinite(p.maxCooldownSeconds) ? p.maxCooldownSeconds : PROVIDER_DEFAULTS[name as ProviderName].maxCooldownSeconds;
    const given = p.maxCooldownSeconds === undefined ? 'the default maxCooldownSeconds' : 'maxCooldownSeconds';
    for (const field of ['cooldownSeconds', 'quarantineSeconds'] as const) {
      const v = p[field];
      if (typeof v === 'number' && Number.isFinite(v) && v > max) problems.push(`${path}.${field}: must not exceed ${given} (${max})`);
    }
  }
}

function checkPriorities(priorities: Record<string, unknown>, byId: ReadonlyMap<string, unknown>, problems: string[]): void {
  for (const [id, v] of Object.entries(priorities)) {
    if (typeof v !== 'number' || !Number.isFinite(v)) problems.push(`${at('priorities', id)}: must be a number`);
    else if (Math.abs(v) > PRIORITY_LIMIT) problems.push(`${at('priorities', id)}: must be between ${-PRIORITY_LIMIT} and ${PRIORITY_LIMIT}`);
    if (!byId.has(id)) problems.push(`${at('priorities', id)}: "${id}" is not a keyId of registry.keys`);
  }
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
    const path = at('registry.fallbacks', from);
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
        for (const k of Object.keys(t)) if (k !== 'provider' && k !== 'upstream') problems.push(`${at(`${path}[${i}]`, k)}: unknown option`);
        return;
      }
      problems.push(`${path}[${i}]: must be a model name or { provider, upstream? }`);
    });
  }
}

const TYPE_CONSTRAINTS: ReadonlySet<string> = new Set(['isNumber', 'isInt', 'isString', 'isBoolean', 'isArray', 'isObject']);

function collect(errors: ValidationError[], prefix: string, out: string[]): void {
  for (const e of errors) {
    const path = /^\d+$/.test(e.property) ? `${prefix}[${e.property}]` : at(prefix, e.property);
    if (e.constraints) {
      // A value of the wrong type fails its range checks too; name only the type problem.
      const all = Object.entries(e.constraints);
      const typed = all.filter(([name]) => TYPE_CONSTRAINTS.has(name));
      for (const [, msg] of typed.length > 0 ? typed : all) out.push(`${path}: ${describe(msg, e.property)}`);
    }
    if (e.children && e.children.length > 0) collect(e.children, path, out);
  }
}

/** class-validator messages start with the property name; keep the rest (the value is never included). */
function describe(msg: string, property: string): string {
  if (msg.startsWith(`property ${property} should not exist`)) return 'unknown option';
  return msg.startsWith(`${property} `) ? msg.slice(property.length + 1) : msg;
}
