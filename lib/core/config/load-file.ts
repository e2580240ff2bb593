import { readFileSync } from 'node:fs';
import { extname } from 'node:path';
import { ConfigurationError } from '../errors';

/**
 * Reads a registry file as the original's `configure_from_file` does: JSON, or YAML when the optional
 * `js-yaml` package is installed. Returns the raw options (camelCase or snake_case); validation happens
 * when they are given to `LlmRotate` / `LlmRotateModule`.
 */
export function loadOptionsFile(path: string): Record<string, unknown> {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (e) {
    throw new ConfigurationError([`file ${path}: cannot be read (${(e as NodeJS.ErrnoException).code ?? 'error'})`]);
  }
  const ext = extname(path).toLowerCase();
  let doc: unknown;
  try {
    if (ext === '.yaml' || ext === '.yml') {
      let yaml: { load(s: string): unknown };
      try {
        // eslint-disable-next-line @typescript-eslint/no-require-imports
        yaml = require('js-yaml') as { load(s: string): unknown };
      } catch {
        throw new ConfigurationError([`file ${path}: YAML registries need the optional package js-yaml (npm i js-yaml)`]);
      }
      doc = yaml.load(text);
    } else {
      doc = JSON.parse(text);
    }
  } catch (e) {
    if (e instanceof ConfigurationError) throw e;
    throw new ConfigurationError([`file ${path}: not valid ${ext === '.json' ? 'JSON' : 'JSON or YAML'} (${(e as Error).message.split('\n')[0]})`]);
  }
  if (typeof doc !== 'object' || doc === null || Array.isArray(doc)) throw new ConfigurationError([`file ${path}: must hold an object`]);
  return doc as Record<string, unknown>;
}
