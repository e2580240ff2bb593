import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { SecretResolutionError } from '../../lib';
import { SecretResolver } from '../../lib/core/secrets';

/** Each test gets its own resolver, clock and warnings: no test depends on another having run first. */
function fresh(): { r: SecretResolver; warnings: string[]; advance(ms: number): void } {
  const warnings: string[] = [];
  let t = 0;
  return { r: new SecretResolver((m) => warnings.push(m), () => t), warnings, advance: (ms) => void (t += ms) };
}

describe('secrets (SPEC §3)', () => {

  it('env:// reads process.env at call time', () => {
    const { r } = fresh();
    process.env.LLMR_TEST_KEY = 'sk-env-value-0001';
    expect(r.resolve('k1', 'env://LLMR_TEST_KEY')).toBe('sk-env-value-0001');
    process.env.LLMR_TEST_KEY = 'sk-env-value-0002';
    expect(r.resolve('k1', 'env://LLMR_TEST_KEY')).toBe('sk-env-value-0002');
    delete process.env.LLMR_TEST_KEY;
  });

  it('file:// reads and trims the file, cached for 30 s so rotated files are picked up', () => {
    const { r, advance } = fresh();
    const dir = mkdtempSync(join(tmpdir(), 'llmr-'));
    const f = join(dir, 'key');
    writeFileSync(f, '  file-secret-1\n');
    const ref = pathToFileURL(f).href;
    expect(r.resolve('k2', ref)).toBe('file-secret-1');
    writeFileSync(f, 'file-secret-2\n');
    expect(r.resolve('k2', ref)).toBe('file-secret-1');
    advance(30_000);
    expect(r.resolve('k2', ref)).toBe('file-secret-2');
  });

  it('literal:// warns once per key', () => {
    const { r, warnings } = fresh();
    expect(r.resolve('k3', 'literal://lit-secret-1')).toBe('lit-secret-1');
    r.resolve('k3', 'literal://lit-secret-1');
    expect(warnings.filter((w) => w.includes('"k3"'))).toHaveLength(1);
    expect(warnings.join()).not.toContain('lit-secret-1');
  });

  it.each([
    ['env://LLMR_ABSENT', /key "k4": environment variable LLMR_ABSENT is not set \(secretRef env:\/\/LLMR_ABSENT\)/],
    ['file:///nonexistent/llmr/key', /key "k4": cannot read file:\/\/\/nonexistent\/llmr\/key \(ENOENT\)/],
    ['vault://kv/openai', /key "k4": unknown secretRef scheme "vault"/],
    ['sk-no-scheme-at-all', /key "k4": unknown secretRef scheme "\(none\)"/],
  ])('%s is a clear error naming the key and the ref', (ref, msg) => {
    const { r } = fresh();
    expect(() => r.resolve('k4', ref)).toThrow(SecretResolutionError);
    expect(() => r.resolve('k4', ref)).toThrow(msg);
  });

  it('an empty file or variable is an error, never an empty key', () => {
    const { r } = fresh();
    const dir = mkdtempSync(join(tmpdir(), 'llmr-'));
    writeFileSync(join(dir, 'empty'), '\n');
    expect(() => r.resolve('k5', pathToFileURL(join(dir, 'empty')).href)).toThrow(/is empty/);
    process.env.LLMR_EMPTY = ' ';
    expect(() => r.resolve('k5', 'env://LLMR_EMPTY')).toThrow(/LLMR_EMPTY is empty/);
    delete process.env.LLMR_EMPTY;
  });

  it('scrub() masks every value handed out, JSON credentials by their parts, and vendor-shaped keys', () => {
    const { r } = fresh();
    r.resolve('k3', 'literal://lit-secret-1');
    const sa = JSON.stringify({ type: 'service_account', private_key: '-----BEGIN PRIVATE KEY-----\nMIIEabc\n-----END PRIVATE KEY-----\n', client_email: 'x@y' });
    r.resolve('k6', `literal://${sa}`);
    // Built at run time so no credential-shaped literal sits in the repository.
    const awsId = ['AKIA', 'ABCDEFGHIJKLMNOP'].join('');
    const text = `got lit-secret-1 and ${JSON.stringify({ k: '-----BEGIN PRIVATE KEY-----\nMIIEabc\n-----END PRIVATE KEY-----\n' })} and sk-proj-ABCDEFGHIJKLMNOPQRSTUV and ${awsId}`;
    const out = r.scrub(text);
    expect(out).not.toContain('lit-secret-1');
    expect(out).not.toContain('MIIEabc');
    expect(out).not.toContain('sk-proj-ABCDEFGHIJKLMNOPQRSTUV');
    expect(out).not.toContain(awsId);
    expect(out).toContain('got *** and');
  });
});
