import { ConfigurationError } from '../errors';
import { at } from './paths';

/**
 * Values an options object may hold once YAML aliases are expanded (each visit of a shared object counts again, as
 * it would when copied). A registry of 1,000 keys with metadata stays far below it; a "billion laughs" file does not.
 */
export const MAX_OPTION_NODES = 200_000;
/** How deeply options may nest. */
export const MAX_OPTION_DEPTH = 64;

/** Values handed over as they are (never copied or walked). */
const OPAQUE_PATHS: ReadonlySet<string> = new Set(['registry.stateStore.client', 'registry.state_store.client']);

/**
 * Walks raw options before anything copies them, so that an alias bomb (js-yaml returns aliases as shared
 * references: the blow-up happens on copy) or a circular `metadata` from a factory is a {@link ConfigurationError}
 * naming the path, never an exhausted heap or a RangeError. Class instances are walked too (class-transformer copies
 * them), except a user's ioredis client in `stateStore.client`, which is never copied.
 */
export function guardStructure(input: unknown): void {
  const ancestors = new Set<object>();
  let nodes = 0;
  const visit = (v: unknown, path: string, depth: number): void => {
    if (++nodes > MAX_OPTION_NODES) {
      throw new ConfigurationError([
        `${path || 'options'}: too large (more than ${MAX_OPTION_NODES} values once YAML aliases are expanded; an alias bomb?)`,
      ]);
    }
    if (typeof v !== 'object' || v === null || OPAQUE_PATHS.has(path)) return;
    if (ancestors.has(v)) throw new ConfigurationError([`${path || 'options'}: circular reference (a value that contains itself)`]);
    if (depth >= MAX_OPTION_DEPTH) throw new ConfigurationError([`${path || 'options'}: nested deeper than ${MAX_OPTION_DEPTH} levels`]);
    ancestors.add(v);
    if (Array.isArray(v)) {
      for (let i = 0; i < v.length; i++) visit(v[i], `${path}[${i}]`, depth + 1);
    } else {
      for (const k of Object.keys(v)) visit((v as Record<string, unknown>)[k], at(path, k), depth + 1);
    }
    ancestors.delete(v);
  };
  visit(input, '', 0);
}

