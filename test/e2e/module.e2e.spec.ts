import { Body, Controller, HttpCode, Inject, Injectable, Logger, Module, Post, type INestApplication } from '@nestjs/common';
import { request as httpRequest } from 'node:http';
import type { AddressInfo } from 'node:net';
import { ConfigModule, ConfigService } from '@nestjs/config';
import { NestFactory } from '@nestjs/core';
import { Test, type TestingModule } from '@nestjs/testing';
import {
  ClosedError,
  ConfigurationError,
  LLM_ROTATE_ENGINE,
  LlmRotate,
  LlmRotateHealthIndicator,
  LlmRotateModule,
  LlmRotateService,
  validateOptions,
  type ChatResult,
  type LlmRotateModuleOptions,
  type LlmRotateOptions,
  type LlmRotateOptionsFactory,
} from '../../lib';
import { OpenAiFake } from '../fakes/openai-fake';
import { makeOptions } from '../support/options';

const HI = [{ role: 'user' as const, content: 'hi' }];

let fake: OpenAiFake;
beforeAll(async () => {
  Logger.overrideLogger(false);
  fake = await OpenAiFake.start();
});
afterAll(() => fake.close());

/** Two keys on the fake; `a` is tried first. */
function twoKeys(prefix: string): LlmRotateOptions {
  return makeOptions(fake.baseUrl, [
    { keyId: 'a', priority: 1, secret: `sk-${prefix}-a` },
    { keyId: 'b', secret: `sk-${prefix}-b` },
  ]);
}

const modules: TestingModule[] = [];
async function compile(imports: unknown[], providers: unknown[] = []): Promise<TestingModule> {
  const m = await Test.createTestingModule({ imports: imports as never[], providers: providers as never[] }).compile();
  modules.push(m);
  return m;
}
afterEach(async () => {
  await Promise.all(modules.splice(0).map((m) => m.close()));
});

async function expectServes(m: TestingModule, prefix: string): Promise<void> {
  const llm = m.get(LlmRotateService);
  const r = await llm.chat('gpt-4o-mini', HI);
  expect(r.keyId).toBe('a');
  expect(r.content).toBe('Hello from gpt-4o-mini');
  expect(fake.hits(`sk-${prefix}-a`)).toBeGreaterThan(0);
}

/** A factory as `forRootAsync({ useClass })` / `useExisting` expect: the builder's factory method name. */
@Injectable()
class LlmOptionsFactory implements LlmRotateOptionsFactory {
  calls = 0;

  constructor(@Inject(ConfigService) private readonly config: ConfigService) {}

  createLlmRotateOptions(): LlmRotateOptions {
    this.calls++;
    return twoKeys(this.config.getOrThrow<string>('llm.prefix'));
  }
}

function configModule(prefix: string) {
  return ConfigModule.forRoot({ ignoreEnvFile: true, load: [() => ({ llm: { prefix } })] });
}

describe('LlmRotateModule registration', () => {
  it('forRoot(options) provides the service, the health indicator and the engine', async () => {
    const m = await compile([LlmRotateModule.forRoot(twoKeys('static'))]);
    await expectServes(m, 'static');
    expect(m.get(LLM_ROTATE_ENGINE)).toBeInstanceOf(LlmRotate);
    expect(m.get(LlmRotateService).engine).toBe(m.get(LLM_ROTATE_ENGINE));
    expect(m.get(LlmRotateHealthIndicator)).toBeInstanceOf(LlmRotateHealthIndicator);
  });

  it('forRootAsync({ imports: [ConfigModule], inject: [ConfigService], useFactory }) reads @nestjs/config', async () => {
    const m = await compile([
      configModule('factory'),
      LlmRotateModule.forRootAsync({
        imports: [ConfigModule],
        inject: [ConfigService],
        useFactory: async (config: ConfigService) => twoKeys(config.getOrThrow<string>('llm.prefix')),
      }),
    ]);
    await expectServes(m, 'factory');
  });

  it('forRootAsync({ useClass }) calls createLlmRotateOptions() of a class it instantiates', async () => {
    const m = await compile([configModule('use-class'), LlmRotateModule.forRootAsync({ imports: [ConfigModule], useClass: LlmOptionsFactory })]);
    await expectServes(m, 'use-class');
  });

  it('forRootAsync({ useExisting }) reuses a factory another module provides', async () => {
    @Module({ imports: [ConfigModule], providers: [LlmOptionsFactory], exports: [LlmOptionsFactory] })
    class OptionsModule {}
    const m = await compile([configModule('use-existing'), OptionsModule, LlmRotateModule.forRootAsync({ imports: [OptionsModule], useExisting: LlmOptionsFactory })]);
    await expectServes(m, 'use-existing');
    // The very instance the other module owns made the options.
    expect(m.select(OptionsModule).get(LlmOptionsFactory).calls).toBe(1);
  });

  /** The Python library's snake_case registry: untyped input (a file, a dict shared with Python workers). */
  const pythonDict = (): Record<string, unknown> => ({
    registry: {
      keys: [
        { key_id: 'a', provider: 'openai', secret_ref: 'literal://sk-snake-a', base_url: fake.baseUrl, rate_limit_rpm: 100, max_concurrent: 4, priority: 1 },
        { key_id: 'b', provider: 'openai', secret_ref: 'literal://sk-snake-b', base_url: fake.baseUrl },
      ],
      state_store: { backend: 'memory' },
      fallback_chains: {},
    },
    use_keys: ['a', 'b'],
    strategy: 'priority',
  });

  it.each([
    // The typed path: validateOptions() turns the dict into checked camelCase options.
    ['validateOptions(dict)', () => LlmRotateModule.forRoot(validateOptions(pythonDict()))],
    ['forRootAsync({ useFactory: () => validateOptions(dict) })', () => LlmRotateModule.forRootAsync({ useFactory: () => validateOptions(pythonDict()) })],
    // Plain JavaScript (no types) still hands the dict as it is: accepted at run time.
    ['the dict as it is (untyped JavaScript)', () => LlmRotateModule.forRoot(pythonDict() as unknown as LlmRotateModuleOptions)],
  ])('accepts the Python-style snake_case dict: %s', async (_, register) => {
    const m = await compile([register()]);
    await expectServes(m, 'snake');
    const snap = await m.get(LlmRotateService).snapshot();
    expect(snap.strategy).toBe('priority');
    expect(snap.keys.map((k) => k.keyId)).toEqual(['a', 'b']);
  });
});

describe('isGlobal', () => {
  @Injectable()
  class Summarizer {
    constructor(readonly llm: LlmRotateService) {}
  }
  @Module({ providers: [Summarizer], exports: [Summarizer] })
  class FeatureModule {}

  it.each([
    ['forRoot', () => LlmRotateModule.forRoot({ ...twoKeys('global'), isGlobal: true })],
    ['forRootAsync', () => LlmRotateModule.forRootAsync({ isGlobal: true, useFactory: () => twoKeys('global') })],
  ])('%s: a service in a module that does not import LlmRotateModule injects LlmRotateService', async (_, register) => {
    const m = await compile([register(), FeatureModule]);
    const summarizer = m.get(Summarizer);
    expect(summarizer.llm).toBe(m.get(LlmRotateService));
    expect((await summarizer.llm.chat('gpt-4o-mini', HI)).keyId).toBe('a');
  });

  it('without it, the same module cannot resolve LlmRotateService', async () => {
    await expect(Test.createTestingModule({ imports: [LlmRotateModule.forRoot(twoKeys('local')), FeatureModule] }).compile()).rejects.toThrow(/LlmRotateService/);
  });
});

describe('instances', () => {
  it('two apps in one process are independent: a 429 cooling a key in app A leaves app B alone', async () => {
    // Both apps hold the same key value; only A's first call meets the 429.
    fake.script('sk-shared-a', 'rate_limit', 'ok');
    const a = await compile([LlmRotateModule.forRoot(twoKeys('shared'))]);
    const b = await compile([LlmRotateModule.forRoot(twoKeys('shared'))]);
    expect(a.get(LlmRotateService)).not.toBe(b.get(LlmRotateService));
    expect(a.get(LLM_ROTATE_ENGINE)).not.toBe(b.get(LLM_ROTATE_ENGINE));

    const ra = await a.get(LlmRotateService).chat('gpt-4o-mini', HI);
    expect(ra.attempts.map((t) => [t.keyId, t.outcome])).toEqual([
      ['a', 'rate_limit'],
      ['b', 'success'],
    ]);
    const rb = await b.get(LlmRotateService).chat('gpt-4o-mini', HI);
    expect(rb.attempts.map((t) => [t.keyId, t.outcome])).toEqual([['a', 'success']]);

    const state = async (m: TestingModule) => (await m.get(LlmRotateService).snapshot()).keys.find((k) => k.keyId === 'a')?.state;
    expect(await state(a)).toBe('COOLDOWN');
    expect(await state(b)).toBe('ACTIVE');
  });

  it('app.close() closes the engine: later calls throw ClosedError, and closing again is harmless', async () => {
    const m = await Test.createTestingModule({ imports: [LlmRotateModule.forRoot(twoKeys('close'))] }).compile();
    const app = m.createNestApplication();
    await app.init();
    const llm = app.get(LlmRotateService);
    expect((await llm.chat('gpt-4o-mini', HI)).keyId).toBe('a');
    await app.close();
    await expect(llm.chat('gpt-4o-mini', HI)).rejects.toBeInstanceOf(ClosedError);
    await expect(llm.stream('gpt-4o-mini', HI)[Symbol.asyncIterator]().next()).rejects.toBeInstanceOf(ClosedError);
    await expect(llm.close()).resolves.toBeUndefined();
  });
});

describe('graceful shutdown', () => {
  @Controller('chat')
  class ChatController {
    constructor(private readonly llm: LlmRotateService) {}

    @Post()
    @HttpCode(200)
    chat(@Body() body: { content: string }): Promise<ChatResult> {
      return this.llm.chat('gpt-4o-mini', [{ role: 'user', content: body.content }]);
    }
  }

  it('app.close() stops the HTTP server first: a request whose body arrives after close() began is still answered', async () => {
    const m = await Test.createTestingModule({ imports: [LlmRotateModule.forRoot(twoKeys('drain'))], controllers: [ChatController] }).compile();
    const app = m.createNestApplication({ logger: false });
    await app.listen(0, '127.0.0.1');
    const { port } = app.getHttpServer().address() as AddressInfo;
    const llm = app.get(LlmRotateService);
    const text = JSON.stringify({ content: 'late' });
    let send: () => void = () => undefined;
    const answer = new Promise<{ status: number; body: string }>((done, fail) => {
      const req = httpRequest({ host: '127.0.0.1', port, path: '/chat', method: 'POST', agent: false, headers: { 'content-type': 'application/json', 'content-length': Buffer.byteLength(text) } }, (res) => {
        let body = '';
        res.setEncoding('utf8');
        res.on('data', (c: string) => (body += c));
        res.on('end', () => done({ status: res.statusCode ?? 0, body }));
      });
      req.on('error', fail);
      req.flushHeaders(); // the headers are in; the body comes later (a slow client, a buffering proxy)
      send = () => req.end(text);
    });
    // Wait until the server has the request (its connection is active), then shut down.
    await new Promise((r) => setTimeout(r, 100));
    const closing = app.close();
    await new Promise((r) => setTimeout(r, 100));
    expect(llm.callsInFlight).toBe(0);
    send();
    const res = await answer;
    expect(res.status).toBe(200);
    expect((JSON.parse(res.body) as ChatResult).content).toBe('Hello from gpt-4o-mini');
    await closing;
    await expect(llm.chat('gpt-4o-mini', HI)).rejects.toBeInstanceOf(ClosedError);
  });
});

describe('a bad configuration fails the start with every problem named by path', () => {
  // Wrong on purpose, so typed as what it is (untyped input, e.g. a file): the types would refuse it.
  const bad = (): LlmRotateOptions => badInput() as unknown as LlmRotateOptions;
  const badInput = (): Record<string, unknown> => ({
    registry: {
      keys: [
        { keyId: 'a', provider: 'openai', secretRef: 'env://OPENAI_API_KEY', priority: 'high' },
        { keyId: 'b', provider: 'openaii', secretRef: 'env://OTHER_KEY' },
        { keyId: 'a', provider: 'openai', secretRef: 'env://THIRD_KEY' },
      ],
    },
    useKeys: ['a', 'missing-key'],
    strategy: 'fastest',
  });

  function expectAllProblems(e: unknown): void {
    expect(e).toBeInstanceOf(ConfigurationError);
    const problems = (e as ConfigurationError).problems;
    const expected = [/^registry\.keys\[0\]\.priority: /, /^registry\.keys\[1\]\.provider: must be one of /, /^strategy: must be one of /, /^registry\.keys\[2\]\.keyId: duplicate keyId "a"/, /^useKeys\[1\]: "missing-key" is not a keyId/];
    for (const re of expected) expect(problems.some((p) => re.test(p))).toBe(true);
    expect(problems).toHaveLength(expected.length);
    for (const re of expected) expect((e as Error).message).toMatch(new RegExp(re.source.slice(1)));
    // The refs are not echoed.
    expect((e as Error).message).not.toMatch(/OPENAI_API_KEY|OTHER_KEY|THIRD_KEY|env:\/\//);
  }

  it('forRoot: compile() rejects with one ConfigurationError', async () => {
    const e = await Test.createTestingModule({ imports: [LlmRotateModule.forRoot(bad())] })
      .compile()
      .then(() => undefined, (err: unknown) => err);
    expectAllProblems(e);
  });

  it('forRootAsync with ConfigService: NestFactory.create() (what app start-up awaits) rejects the same way', async () => {
    @Module({
      imports: [
        ConfigModule.forRoot({ ignoreEnvFile: true, load: [() => ({ llm: badInput() })] }),
        LlmRotateModule.forRootAsync({ imports: [ConfigModule], inject: [ConfigService], useFactory: (c: ConfigService) => c.getOrThrow<LlmRotateOptions>('llm') }),
      ],
    })
    class BadApp {}
    let app: INestApplication | undefined;
    const e = await NestFactory.create(BadApp, { abortOnError: false, logger: false }).then(
      (a) => {
        app = a;
        return undefined;
      },
      (err: unknown) => err,
    );
    await app?.close();
    expectAllProblems(e);
  });

  it('empty key lists are named too', async () => {
    const e = await Test.createTestingModule({ imports: [LlmRotateModule.forRoot({ registry: { keys: [] }, useKeys: [] })] })
      .compile()
      .then(() => undefined, (err: unknown) => err);
    expect(e).toBeInstanceOf(ConfigurationError);
    expect((e as ConfigurationError).problems).toEqual([expect.stringMatching(/^registry\.keys: /), expect.stringMatching(/^useKeys: /)]);
  });
});
