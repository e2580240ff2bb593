import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join, relative, resolve } from 'node:path';
import ts from 'typescript';

/*
 * The type tests in test/types/*.ts, compiled in-process with the TypeScript compiler (5.9), with the options of
 * test/types/tsconfig.json. The run fails, as `tsc` would, on any error and on any `// @ts-expect-error` that
 * meets none; and each directive names the error it expects (`// @ts-expect-error TS2561 why`), so it cannot be
 * satisfied by an unrelated mistake. One program: the directives are read, then turned into plain comments, and
 * each diagnostic is matched to the directive above it by tsc's own rule (the nearest preceding line that is not
 * blank or a `//` comment). Only the type-test files are checked here; the library itself is checked by
 * `npm run typecheck`.
 *
 * The same program (one parse, the slow part) also emits the declarations the package ships (tsconfig.build.json),
 * in memory, to check what they import: a user without an optional peer and with `skipLibCheck: false` must not
 * meet TS2307.
 */

const ROOT = resolve(__dirname, '../..');
const DIR = resolve(__dirname, '../types');
const CONFIG = join(DIR, 'tsconfig.json');
const BUILD = join(ROOT, 'tsconfig.build.json');
const DIRECTIVE = /^\s*\/\/ @ts-expect-error(?: TS(\d+))?/;

interface Directive {
  file: string;
  /** 0-based. */
  line: number;
  code: number | undefined;
  text: string;
  met: ts.Diagnostic[];
}

function loadConfig(path: string): ts.ParsedCommandLine {
  const read = ts.readConfigFile(path, (p) => ts.sys.readFile(p));
  if (read.error) throw new Error(ts.flattenDiagnosticMessageText(read.error.messageText, '\n'));
  const parsed = ts.parseJsonConfigFileContent(read.config, ts.sys, resolve(path, '..'), undefined, path);
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

const config = loadConfig(CONFIG);
const build = loadConfig(BUILD);
const directives: Directive[] = [];
let diagnostics: readonly ts.Diagnostic[] = [];
/** The published declarations, by path relative to the repository (`lib/index.d.ts`, …). */
const declarations = new Map<string, string>();

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
  // The type tests' options, emitting declarations only (in memory, below).
  const options: ts.CompilerOptions = { ...config.options, noEmit: false, declaration: true, emitDeclarationOnly: true, sourceMap: false, declarationMap: false, outDir: join(ROOT, 'dist') };
  const program = ts.createProgram({ rootNames: [...config.fileNames, ...build.fileNames], options, host });
  const files = program.getSourceFiles().filter((f) => resolve(f.fileName).startsWith(`${DIR}/`));
  diagnostics = [
    ...program.getOptionsDiagnostics(),
    ...program.getGlobalDiagnostics(),
    ...files.flatMap((f) => [...program.getSyntacticDiagnostics(f), ...program.getSemanticDiagnostics(f)]),
  ];
  const shipped = new Set(build.fileNames.map((f) => resolve(f)));
  for (const f of program.getSourceFiles()) {
    if (!shipped.has(resolve(f.fileName))) continue;
    const result = program.emit(f, (name, text) => declarations.set(relative(join(ROOT, 'dist'), name), text), undefined, true);
    if (result.emitSkipped) throw new Error(`no declarations for ${f.fileName}: ${result.diagnostics.map(show).join('; ')}`);
  }
}, 120_000);

describe('type tests (test/types/*.ts, compiled in-process)', () => {
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

/** Every module a declaration file names: imports, exports, `import("x")` types, `declare module`, references. */
function modulesNamedBy(fileName: string, text: string): string[] {
  const sf = ts.createSourceFile(fileName, text, ts.ScriptTarget.Latest, true);
  const out: string[] = sf.typeReferenceDirectives.map((r) => r.fileName);
  const visit = (node: ts.Node): void => {
    if ((ts.isImportDeclaration(node) || ts.isExportDeclaration(node)) && node.moduleSpecifier !== undefined && ts.isStringLiteral(node.moduleSpecifier)) out.push(node.moduleSpecifier.text);
    else if (ts.isImportTypeNode(node) && ts.isLiteralTypeNode(node.argument) && ts.isStringLiteral(node.argument.literal)) out.push(node.argument.literal.text);
    else if (ts.isExternalModuleReference(node) && ts.isStringLiteral(node.expression)) out.push(node.expression.text);
    else if (ts.isModuleDeclaration(node) && ts.isStringLiteral(node.name)) out.push(node.name.text);
    ts.forEachChild(node, visit);
  };
  visit(sf);
  return out;
}

describe('the published package', () => {
  const pkg = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as {
    license: string;
    files: string[];
    dependencies?: Record<string, string>;
    peerDependencies: Record<string, string>;
    peerDependenciesMeta?: Record<string, { optional?: boolean }>;
  };
  const optional = Object.keys(pkg.peerDependenciesMeta ?? {}).filter((n) => pkg.peerDependenciesMeta?.[n]?.optional === true);
  const required = [...Object.keys(pkg.dependencies ?? {}), ...Object.keys(pkg.peerDependencies).filter((n) => !optional.includes(n))];

  it('declares the optional integrations as optional peers', () => {
    for (const name of ['@nestjs/terminus', 'ioredis', 'google-auth-library', '@smithy/signature-v4', '@aws-crypto/sha256-js', '@smithy/eventstream-codec', 'js-yaml', 'prom-client', '@opentelemetry/api']) expect(optional).toContain(name);
  });

  it('its declarations import only Node, required peers and dependencies: never an optional peer (TS2307 without it)', () => {
    expect(declarations.has('lib/index.d.ts')).toBe(true);
    expect(declarations.size).toBe(build.fileNames.length);
    const { isBuiltin } = require('node:module') as { isBuiltin(s: string): boolean };
    const packageOf = (s: string): string => (s.startsWith('@') ? s.split('/').slice(0, 2).join('/') : s.split('/')[0]);
    const offenders: string[] = [];
    for (const [file, text] of declarations) {
      for (const s of modulesNamedBy(file, text)) {
        if (s.startsWith('.') || isBuiltin(s) || s === 'node') continue;
        if (!required.includes(packageOf(s))) offenders.push(`${file}: ${s}${optional.includes(packageOf(s)) ? ' (an optional peer)' : ''}`);
      }
    }
    expect(offenders).toEqual([]);
  });

  it('ships its source maps with their sources (the .ts files are not in the package)', () => {
    expect(pkg.files.some((f) => f === 'lib' || f.startsWith('lib/'))).toBe(false);
    if (build.options.sourceMap !== true) return;
    const fileName = join(ROOT, 'lib/nest/llm-rotate.tokens.ts');
    const out = ts.transpileModule(readFileSync(fileName, 'utf8'), { compilerOptions: build.options, fileName });
    const map = JSON.parse(out.sourceMapText ?? '{}') as { sources?: string[]; sourcesContent?: string[] };
    expect(map.sources).toHaveLength(1);
    expect(map.sourcesContent?.[0]).toContain('export function getLlmRotateToken');
  });

  it('has the LICENSE package.json names (MIT)', () => {
    expect(pkg.license).toBe('MIT');
    const license = readFileSync(join(ROOT, 'LICENSE'), 'utf8');
    expect(license.split('\n')[0]).toBe('MIT License');
    expect(license).toMatch(/Permission is hereby granted, free of charge/);
  });

  it('ships every file the README links to (relative links work in the installed package)', () => {
    const readme = readFileSync(join(ROOT, 'README.md'), 'utf8');
    const links = [...readme.matchAll(/\]\(([^)#\s]+)(?:#[^)]*)?\)/g)].map((m) => m[1]).filter((l) => !/^[a-z]+:/i.test(l));
    expect(links.length).toBeGreaterThan(0);
    const shipped = (path: string): boolean => pkg.files.some((f) => path === f || path.startsWith(`${f.replace(/\/$/, '')}/`));
    const missing = [...new Set(links)].filter((l) => !existsSync(join(ROOT, l)) || !shipped(l));
    expect(missing).toEqual([]);
  });

  it('has class-validator and class-transformer as peers, as the Nest ecosystem does', () => {
    for (const name of ['class-validator', 'class-transformer']) {
      expect(pkg.peerDependencies[name]).toEqual(expect.any(String));
      expect(pkg.dependencies?.[name]).toBeUndefined();
      expect(optional).not.toContain(name);
    }
  });
});
