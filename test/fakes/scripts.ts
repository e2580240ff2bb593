/**
 * Per-identity scripts of a vendor fake: `set(key, 'rate_limit', 'ok')` answers the first request made with `key`
 * with a rate limit, then 'ok' for the rest (the last entry repeats). Identities without a script get `fallback`.
 */
export class Scripts<B> {
  private readonly map = new Map<string, B[]>();

  constructor(private readonly fallback: B) {}

  set(identity: string, behaviors: B[]): void {
    this.map.set(identity, behaviors);
  }

  next(identity: string): B {
    const s = this.map.get(identity);
    if (s === undefined || s.length === 0) return this.fallback;
    return s.length > 1 ? (s.shift() as B) : s[0];
  }

  clear(): void {
    this.map.clear();
  }
}
