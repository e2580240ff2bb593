import { Controller, Get, Module, type LoggerService } from '@nestjs/common';
import { HealthCheck, HealthCheckService, TerminusModule } from '@nestjs/terminus';
import { Test } from '@nestjs/testing';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { inspect } from 'node:util';
import request from 'supertest';
import { LlmRotateHealthIndicator, LlmRotateModule, LlmRotateService, type LlmRotateOptions, type UsageEvent } from '../../lib';
import { OpenAiFake } from '../fakes/openai-fake';

const ENV_SECRET = 'sk-leakcheck-env-0123456789abcdef';
const FILE_SECRET = 'sk-leakcheck-file-0123456789abcdef';
const LITERAL_SECRET = 'leakcheck-literal-9876543210';
const SECRETS = [ENV_SECRET, FILE_SECRET, LITERAL_SECRET];
const MSG = [{ role: 'user' as const, content: 'hi' }];

/** Captures every line Nest would print, at every level. */
class CapturingLogger implements LoggerService {
  readonly lines: string[] = [];
  log(m: unknown, ...rest: unknown[]): void {
    this.lines.push(inspect([m, ...rest], { depth: 8 }));
  }
  error = this.log;
  warn = this.log;
  debug = this.log;
  verbose = this.log;
  fatal = this.log;
}

@Controller()
class HealthController {
  constructor(
    private readonly health: HealthCheckService,
    private readonly llm: LlmRotateHealthIndicator,
  ) {}
  @Get('health')
  @HealthCheck()
  check() {
    return this.health.check([() => this.llm.isHealthy('llm')]);
  }
}

describe('no secret value in any serialized form (SPEC §2, §3)', () => {
  it('options, snapshot, health output, errors, usage events, logs and lent contexts stay clean', async () => {
    const fake = await OpenAiFake.start();
    // Every key's upstream answers 401 echoing the key (as OpenAI does), then works.
    for (const s of SECRETS) fake.script(s, 'auth', 'ok');
    process.env.LEAKCHECK_KEY = ENV_SECRET;
    const dir = mkdtempSync(join(tmpdir(), 'llmr-leak-'));
    writeFileSync(join(dir, 'key'), `${FILE_SECRET}\n`);
    const options: LlmRotateOptions = {
      registry: {
        keys: [
          { keyId: 'env-key', provider: 'openai', secretRef: 'env://LEAKCHECK_KEY', baseUrl: fake.baseUrl, models: ['gpt-4o-mini'] },
          { keyId: 'file-key', provider: 'openai', secretRef: pathToFileURL(join(dir, 'key')).href, baseUrl: fake.baseUrl, models: ['gpt-4o-mini'] },
          { keyId: 'literal-key', provider: 'openai', secretRef: `literal://${LITERAL_SECRET}`, baseUrl: fake.baseUrl, models: ['gpt-4o-mini'] },
          { keyId: 'broken-key', provider: 'openai', secretRef: 'env://LEAKCHECK_MISSING', baseUrl: fake.baseUrl, models: ['gpt-4o-mini'] },
        ],
      },
      useKeys: ['env-key', 'file-key', 'literal-key', 'broken-key'],
    };

    @Module({ imports: [TerminusModule, LlmRotateModule.forRoot(options)], controllers: [HealthController] })
    class AppModule {}

    const logger = new CapturingLogger();
    // The logger is in place before the module starts: a missing secret is reported at start-up.
    const mod = await Test.createTestingModule({ imports: [AppModule] }).setLogger(logger).compile();
    const app = mod.createNestApplication({ logger });
    app.useLogger(logger);
    await app.init();
    try {
    const llm = app.get(LlmRotateService);
    const events: UsageEvent[] = [];
    llm.usage$.subscribe((e) => events.push(e));

    const thrown: unknown[] = [];
    const err = await llm.chat('gpt-4o-mini', MSG).catch((e: unknown) => e);
    thrown.push(err);
    expect(events.filter((e) => e.outcome === 'auth').map((e) => e.errorClass)).toEqual(['ProviderHttpError', 'ProviderHttpError', 'ProviderHttpError']);
    const health = await request(app.getHttpServer()).get('/health');
    expect(health.status).toBe(503);
    expect(health.body.details.llm.keys['env-key'].state).toBe('QUARANTINE');
    // Its secret is missing: found at start-up, held back in this process (not its health), the reason shown.
    expect(health.body.details.llm.keys['broken-key']).toMatchObject({ state: 'ACTIVE', available: false, reason: expect.stringMatching(/environment variable LEAKCHECK_MISSING is not set/) });
    expect((await llm.snapshot()).keys.find((k) => k.keyId === 'broken-key')?.reason).toMatch(/environment variable LEAKCHECK_MISSING is not set/);
    const ctxErr = await llm.acquire('openai').catch((e: unknown) => e);
    thrown.push(ctxErr);
    await llm.reload({ ...options, useKeys: ['env-key', 'broken-key'] });
    const snapshot = await llm.snapshot();

    const dumps = [
      JSON.stringify(llm.engine.options),
      inspect(llm.engine, { depth: 10, showHidden: true }),
      inspect(llm, { depth: 10, showHidden: true }),
      JSON.stringify(llm.engine),
      inspect(llm.engine.options, { depth: 10 }),
      JSON.stringify(snapshot),
      JSON.stringify(health.body),
      JSON.stringify(events),
      ...thrown.map((e) => `${String(e)} ${JSON.stringify(e)} ${inspect(e, { depth: 10 })} ${(e as Error).stack} ${inspect((e as { cause?: unknown }).cause)}`),
      logger.lines.join('\n'),
    ].join('\n');
    for (const s of SECRETS) expect(dumps).not.toContain(s);
    // ...nor the refs themselves, in the options and snapshot.
    expect(JSON.stringify(llm.engine.options)).not.toContain('secretRef');
    expect(JSON.stringify(snapshot) + JSON.stringify(health.body)).not.toMatch(/secretRef|env:\/\/|file:\/\/|literal:\/\//);
    // The scrubbed upstream message is still useful, and the broken ref is named without a value.
    expect(dumps).toContain('Incorrect API key provided: ***');
    expect(logger.lines.join('\n')).toContain('Cannot resolve the secret of key "broken-key": environment variable LEAKCHECK_MISSING is not set');
    expect(logger.lines.join('\n')).toContain('Key "literal-key" uses a literal:// secretRef');

    } finally {
      await app.close();
      await fake.close();
      delete process.env.LEAKCHECK_KEY;
    }
  });
});
