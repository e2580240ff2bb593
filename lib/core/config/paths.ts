/**
 * How problems name a field: `registry.providers.openai.headers.X-Title`, `registry.fallbacks.gpt-4.1`. A name that
 * would not read as one path segment (empty, with spaces, colons, brackets, quotes…) is quoted: `options[": "]`, so a
 * problem always reads `<path>: <problem>`.
 */
export function at(path: string, name: string | number): string {
  if (typeof name === 'number') return `${path}[${name}]`;
  if (!PLAIN.test(name)) return `${path || 'options'}[${JSON.stringify(name)}]`;
  return path ? `${path}.${name}` : name;
}

const PLAIN = /^[A-Za-z0-9_$][\w$.+@/-]*$/;
