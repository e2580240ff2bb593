/**
 * Where a validated key keeps its `secretRef`: a non-enumerable accessor over a module-private WeakMap, so the ref is
 * readable (`key.secretRef`) but no serialization prints it: JSON.stringify skips it, and util.inspect (even with
 * `showHidden: true`) shows `[secretRef]: [Getter]`, not the value. A data property, even non-enumerable, would be
 * printed by `showHidden`.
 */
const REFS = new WeakMap<object, string>();

function readSecretRef(this: object): string | undefined {
  // Also found through the prototype chain (`Object.create(key)`).
  for (let o: object | null = this; o !== null; o = Object.getPrototypeOf(o) as object | null) {
    const ref = REFS.get(o);
    if (ref !== undefined) return ref;
  }
  return undefined;
}

/** Stores `ref` as `target.secretRef`, hidden from JSON and inspect. Returns `target`. */
export function hideSecretRef<T extends object>(target: T, ref: string): T {
  REFS.set(target, ref);
  Object.defineProperty(target, 'secretRef', { get: readSecretRef, enumerable: false, configurable: false });
  return target;
}
