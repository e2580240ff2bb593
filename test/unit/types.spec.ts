import { readdirSync } from 'node:fs';
import { join, resolve } from 'node:path';
import ts from 'typescript';

/*
 * The type tests in test/types/*.ts, compiled in-process with the TypeScript compiler (5.9), with the options of
 * test/types/tsconfig.json. The run fails, as `tsc` would, on any error and on any `// @ts-expect-error` that
 * meets none; and each directive names the error it expects (`// @ts-expect-error TS2561 why`), so it cannot be
 * satisfied by an unrelated mistake. One program: the directives are read, then turned into plain comments, and
 * each diagnostic is matched to the directive above it by tsc's own rule (the nearest preceding line that is not
 * blank or a `//` comment). Only the type-test files are checked here; the library itself is checked by
 * `npm run typecheck`.
 */

const DIR = resolve(__dirname, '../types');
const CONFIG = join(DIR, 'tsconfig.json');
const DIRECTIVE = /^\s*\/\/ @ts-expect-error(?: TS(\d+))?/;

interface Directive {
  file: string;
  /** 0-based. */
  line: number;
  code: number | undefined;
  text: string;
  met: ts.Diagnostic[];
}

function loadConfig(): ts.ParsedCommandLine {
  const read = ts.readConfigFile(CONFIG, (p) => ts.sys.readFile(p));
  if (read.error) throw new Error(ts.flattenDiagnosticMessageText(read.error.messageText, '\n'));
  const parsed = ts.parseJsonConfigFileContent(read.config, ts.sys, DIR, undefined, CONFIG);
  if (parsed.errors.length > 0) throw new Error(parsed.errors.map((d) => ts.flattenDiagnosticMessageText(d.messageText, '\n')).join('\n'));
  return parsed;
}

function rel(file: string): string {
  return resolve(file).slice(DIR.length + 1);
}

function show(d: ts.Diagnostic): string {
  const at = d.file !== undefined && d.start !== undefined ? `${rel(d.file.fileName)}:${d.file.getLineAndCharacterOfPosition(d.start).line + 1}` : '(global)';
  return `${at} TS${d.code}: ${ts.flattenDiagnosticMessageText(d.messageText, '\n').split('\n')[0]}`;
}

describe('type tests (test/types/*.ts, compiled in-process)', () => {
  const config = loadConfig();
  const directives: Directive[] = [];
  let diagnostics: readonly ts.Diagnostic[] = [];

  beforeAll(() => {
    const host = ts.createCompilerHost(config.options);
    const read = host.getSourceFile.bind(host);
    host.getSourceFile = (fileName, languageVersion, onError, shouldCreate) => {
      if (!resolve(fileName).startsWith(`${DIR}/`)) return read(fileName, languageVersion, onError, shouldCreate);
      const lines = (ts.sys.readFile(fileName) ?? '').split('\n');
      lines.forEach((text, line) => {
        const m = DIRECTIVE.exec(text);
        if (m === null) return;
        directives.push({ file: resolve(fileName), line, code: m[1] === undefined ? undefined : Number(m[1]), text: text.trim(), met: [] });
        lines[line] = text.replace('@ts-expect-error', 'expect-error');
      });
      return ts.createSourceFile(fileName, lines.join('\n'), languageVersion, true);
    };
    const program = ts.createProgram({ rootNames: config.fileNames, options: config.options, host });
    const files = program.getSourceFiles().filter((f) => resolve(f.fileName).startsWith(`${DIR}/`));
    diagnostics = [
      ...program.getOptionsDiagnostics(),
      ...program.getGlobalDiagnostics(),
      ...files.flatMap((f) => [...program.getSyntacticDiagnostics(f), ...program.getSemanticDiagnostics(f)]),
    ];
  }, 120_000);

  it('covers every file of test/types', () => {
    const files = readdirSync(DIR).filter((f) => f.endsWith('.ts'));
    expect(config.fileNames.map(rel).sort()).toEqual(files.sort());
    expect(new Set(directives.map((d) => rel(d.file)))).toEqual(new Set(files));
  });

  it('compiles as tsc would: no error, and no unused @ts-expect-error', () => {
    const unexpected: string[] = [];
    for (const d of diagnostics) {
      const directive = d.file !== undefined && d.start !== undefined ? directiveAbove(d.file, d.start) : undefined;
      if (directive === undefined) unexpected.push(show(d));
      else directive.met.push(d);
    }
    expect(unexpected).toEqual([]);
    const unused = directives.filter((x) => x.met.length === 0).map((x) => `${rel(x.file)}:${x.line + 1}: unused "${x.text}"`);
    expect(unused).toEqual([]);
    expect(directives.length).toBeGreaterThan(25);
  });

  it('each @ts-expect-error names its error, and meets that one', () => {
    const wrong = directives
      .filter((x) => x.code === undefined || !x.met.some((d) => d.code === x.code))
      .map((x) => `${rel(x.file)}:${x.line + 1}: "${x.text}" met ${x.met.map((d) => `TS${d.code}`).join(', ') || 'nothing'}`);
    expect(wrong).toEqual([]);
  });

  /** tsc's rule: the nearest line above the error that is not blank and not a `//` comment, if it is a directive. */
  function directiveAbove(file: ts.SourceFile, start: number): Directive | undefined {
    const starts = file.getLineStarts();
    for (let line = file.getLineAndCharacterOfPosition(start).line - 1; line >= 0; line--) {
      const found = directives.find((x) => x.file === resolve(file.fileName) && x.line === line);
      if (found !== undefined) return found;
      const text = file.text.slice(starts[line], starts[line + 1]).trim();
      if (text !== '' && !/^\/\//.test(text)) return undefined;
    }
    return undefined;
  }
});
