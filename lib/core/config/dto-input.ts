import { isRecord } from './normalize';
import { at } from './paths';

/**
 * What class-transformer is given to build the DTOs: the normalized options with every map of *user data*
 * (`metadata`, `headers`, `deployments`, `priorities`, `fallbacks`, `providers` — each checked by its own code in
 * validate.ts) replaced by an empty placeholder of the same kind, and own keys named `constructor` / `__proto__`
 * dropped (class-transformer would skip them silently, or crash on an own `constructor` that is not a function).
 * Such keys in an options object are reported as unknown options.
 */
export function optionsDtoInput(options: Record<string, unknown>, problems: string[]): Record<string, unknown> {
  const shape: Record<string, unknown> = { ...options };
  if ('priorities' in options) shape.priorities = placeholder(options.priorities);
  if (isRecord(options.registry)) {
    const reg: Record<string, unknown> = { ...options.registry };
    if ('providers' in reg) reg.providers = placeholder(reg.providers);
    if ('fallbacks' in reg) reg.fallbacks = placeholder(reg.fallbacks);
    if (Array.isArray(reg.keys)) reg.keys = reg.keys.map((k) => (isRecord(k) && 'metadata' in k ? { ...k, metadata: placeholder(k.metadata) } : k));
    shape.registry = reg;
  }
  return clean(shape, '', problems) as Record<string, unknown>;
}

/** The same for one `registry.providers.<name>` (validated on its own). */
export function providerDtoInput(provider: Record<string, unknown>, path: string, problems: string[]): Record<string, unknown> {
  const shape: Record<string, unknown> = { ...provider };
  if ('headers' in shape) shape.headers = placeholder(shape.headers);
  if ('deployments' in shape) shape.deployments = placeholder(shape.deployments);
  return clean(shape, path, problems) as Record<string, unknown>;
}

/** Keeps the kind (object, array, other) so `@IsObject` still names a value of the wrong type. */
function placeholder(v: unknown): unknown {
  if (Array.isArray(v)) return [];
  return isRecord(v) ? {} : v;
}

const DROPPED = new Set(['constructor', '__proto__']);
/** Handed over untouched (a user's ioredis client). */
const OPAQUE = new Set(['registry.stateStore.client']);

function clean(v: unknown, path: string, problems: string[]): unknown {
  if (OPAQUE.has(path)) return v;
  if (Array.isArray(v)) return v.map((x, i) => clean(x, at(path, i), problems));
  if (!isRecord(v)) return v;
  const proto = Object.getPrototypeOf(v) as unknown;
  // A plain object of any realm (one built by structuredClone, a vm context or a worker has another Object.prototype).
  if (proto !== null && Object.getPrototypeOf(proto) !== null) return v;
  const out: Record<string, unknown> = {};
  for (const k of Object.keys(v)) {
    if (DROPPED.has(k)) {
      problems.push(`${at(path, k)}: unknown option`);
      continue;
    }
    out[k] = clean(v[k], at(path, k), problems);
  }
  return out;
}
