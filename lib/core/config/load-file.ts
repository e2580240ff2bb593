import { readFileSync, statSync } from 'node:fs';
import { extname } from 'node:path';
import { ConfigurationError } from '../errors';
import { guardStructure } from './structure-guard';

/** A registry file larger than this is refused before it is read (a registry is a few kilobytes). */
export const MAX_REGISTRY_FILE_BYTES = 5 * 1024 * 1024;

interface YamlModule {
  load(s: string, options?: { maxAliases?: number; filename?: string }): unknown;
}

/**
 * Reads a registry file as the original's `configure_from_file` does: JSON, or YAML when the optional
 * `js-yaml` package is installed. Returns the raw options (camelCase or snake_case); validation happens
 * when they are given to `LlmRotate` / `LlmRotateModule`.
 *
 * Loading is bounded: the file's size, and the document's size once YAML aliases are expanded (js-yaml returns an
 * alias as a shared reference, so a 590-byte "billion laughs" file loads fast and explodes on the first copy). The
 * walk in {@link guardStructure} counts every visit, so such a file is a ConfigurationError here, never an
 * exhausted heap later. js-yaml 5's `maxAliases` is also set (js-yaml 4 ignores it).
 */
export function loadOptionsFile(path: string): Record<string, unknown> {
  let text: string;
  try {
    const size = statSync(path).size;
    if (size > MAX_REGISTRY_FILE_BYTES) throw new ConfigurationError([`file ${path}: larger than ${MAX_REGISTRY_FILE_BYTES} bytes`]);
    text = readFileSync(path, 'utf8');
  } catch (e) {
    if (e instanceof ConfigurationError) throw e;
    throw new ConfigurationError([`file ${path}: cannot be read (${(e as NodeJS.ErrnoException).code ?? 'error'})`]);
  }
  const ext = extname(path).toLowerCase();
  let doc: unknown;
  try {
    if (ext === '.yaml' || ext === '.yml') {
      let yaml: YamlModule;
      try {
        // eslint-disable-next-line @typescript-eslint/no-require-imports
        yaml = require('js-yaml') as YamlModule;
      } catch {
        throw new ConfigurationError([`file ${path}: YAML registries need the optional package js-yaml (npm i js-yaml)`]);
      }
      doc = yaml.load(text, { maxAliases: 10_000 });
    } else {
      doc = JSON.parse(text);
    }
  } catch (e) {
    if (e instanceof ConfigurationError) throw e;
    throw new ConfigurationError([`file ${path}: not valid ${ext === '.json' ? 'JSON' : 'JSON or YAML'} (${parseErrorOf(e)})`]);
  }
  if (typeof doc !== 'object' || doc === null || Array.isArray(doc)) throw new ConfigurationError([`file ${path}: must hold an object`]);
  try {
    guardStructure(doc);
  } catch (e) {
    throw new ConfigurationError((e as ConfigurationError).problems.map((p) => `file ${path}: ${p}`));
  }
  return doc as Record<string, unknown>;
}

/**
 * The parser's message without the source excerpt V8 adds (`Unexpected token 'l', ..."ret_ref": literal://"... is
 * not valid JSON`): the excerpt may hold a secret. js-yaml's first line names a position only.
 */
function parseErrorOf(e: unknown): string {
  const first = (e instanceof Error ? e.message : String(e)).split('\n')[0];
  return first.replace(/,\s*(\.\.\.)?".*$/s, '').slice(0, 200);
}
