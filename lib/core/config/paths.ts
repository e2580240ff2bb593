/** How problems name a field: `registry.providers.openai.headers.X-Title`; an empty name reads `""`. */
export function at(path: string, name: string | number): string {
  if (typeof name === 'number') return `${path}[${name}]`;
  const shown = name === '' ? '""' : name;
  return path ? `${path}.${shown}` : shown;
}
