import { Controller, Get, Injectable, Logger, Module } from '@nestjs/common';
import { HealthCheck, HealthCheckService, TerminusModule, type HealthCheckResult } from '@nestjs/terminus';
import { Test, type TestingModule } from '@nestjs/testing';
import request from 'supertest';
import {
  ClosedError,
  ConfigurationError,
  getLlmRotateEngineToken,
  getLlmRotateHealthToken,
  getLlmRotateOptionsToken,
  getLlmRotateToken,
  InjectLlmRotate,
  InjectLlmRotateEngine,
  InjectLlmRotateHealth,
  LLM_ROTATE_ENGINE,
  LLM_ROTATE_OPTIONS,
  LlmRotate,
  LlmRotateHealthIndicator,
  LlmRotateModule,
  LlmRotateService,
  type LlmRotateModuleOptions,
  type LlmRotateOptions,
} from '../../lib';
import { OpenAiFake } from '../fakes/openai-fake';
import { makeOptions } from '../support/options';

const HI = [{ role: 'user' as const, content: 'hi' }];

let cheapFake: OpenAiFake;
let premiumFake: OpenAiFake;
beforeAll(async () => {
  Logger.overrideLogger(false);
  cheapFake = await OpenAiFake.start({ reply: 'cheap answer', rateLimitHeaders: { 'retry-after': '30' } });
  premiumFake = await OpenAiFake.start({ reply: 'premium answer' });
});
afterAll(async () => {
  await cheapFake.close();
  await premiumFake.close();
});

const modules: TestingModule[] = [];
async function compile(imports: unknown[], providers: unknown[] = [], controllers: unknown[] = []): Promise<TestingModule> {
  const m = await Test.createTestingModule({ imports: imports as never[], providers: providers as never[], controllers: controllers as never[] }).compile();
  modules.push(m);
  return m;
}
afterEach(async () => {
  cheapFake.reset();
  premiumFake.reset();
  await Promise.all(modules.splice(0).map((m) => m.close()));
});

/** Two keys per pool; the same key ids in both pools (they are different pools). */
const cheapOptions = (): LlmRotateOptions =>
  makeOptions(cheapFake.baseUrl, [
    { keyId: 'k1', priority: 1, secret: 'sk-cheap-1' },
    { keyId: 'k2', secret: 'sk-cheap-2' },
  ]);
const premiumOptions = (prefix = 'premium'): LlmRotateOptions =>
  makeOptions(premiumFake.baseUrl, [
    { keyId: 'k1', priority: 1, secret: `sk-${prefix}-1` },
    { keyId: 'k2', secret: `sk-${prefix}-2` },
  ]);

const PREMIUM_PREFIX = 'PREMIUM_PREFIX';

@Injectable()
class Assistant {
  constructor(
    @InjectLlmRotate('cheap') readonly cheap: LlmRotateService,
    @InjectLlmRotate('premium') readonly premium: LlmRotateService,
    @InjectLlmRotateHealth('cheap') readonly cheapHealth: LlmRotateHealthIndicator,
    @InjectLlmRotateHealth('premium') readonly premiumHealth: LlmRotateHealthIndicator,
    @InjectLlmRotateEngine('premium') readonly premiumEngine: LlmRotate,
  ) {}
}

@Controller('health')
class HealthController {
  constructor(
    private readonly health: HealthCheckService,
    @InjectLlmRotateHealth('cheap') private readonly cheap: LlmRotateHealthIndicator,
    @InjectLlmRotateHealth('premium') private readonly premium: LlmRotateHealthIndicator,
  ) {}

  @Get()
  @HealthCheck()
  check(): Promise<HealthCheckResult> {
    return this.health.check([() => this.cheap.isHealthy('cheap'), () => this.premium.isHealthy('premium')]);
  }
}

function twoPools(): unknown[] {
  return [
    LlmRotateModule.forRoot({ ...cheapOptions(), name: 'cheap', isGlobal: true }),
    LlmRotateModule.forRootAsync({
      name: 'premium',
      isGlobal: true,
      // A provider only the factory needs, registered with the pool (no extra module).
      extraProviders: [{ provide: PREMIUM_PREFIX, useValue: 'premium-x' }],
      inject: [PREMIUM_PREFIX],
      useFactory: (prefix: string) => premiumOptions(prefix),
    }),
  ];
}

describe('named pools', () => {
  it('two pools in one app are independent: own engine, own upstream, own key health, own health indicator', async () => {
    const m = await compile(twoPools(), [Assistant]);
    const a = m.get(Assistant);
    expect(a.cheap).toBeInstanceOf(LlmRotateService);
    expect(a.cheap).not.toBe(a.premium);
    expect(a.cheap.engine).not.toBe(a.premium.engine);
    expect(a.premiumEngine).toBe(a.premium.engine);
    expect(m.get(getLlmRotateToken('cheap'))).toBe(a.cheap);
    expect(m.get(getLlmRotateEngineToken('cheap'))).toBe(a.cheap.engine);
    expect(m.get(getLlmRotateHealthToken('premium'))).toBe(a.premiumHealth);

    // A 429 in the cheap pool cools its k1; the premium pool's k1 (same id, other pool) is untouched.
    cheapFake.script('sk-cheap-1', 'rate_limit');
    const r1 = await a.cheap.chat('gpt-4o-mini', HI);
    expect(r1.content).toBe('cheap answer');
    expect(r1.attempts.map((t) => [t.keyId, t.outcome])).toEqual([
      ['k1', 'rate_limit'],
      ['k2', 'success'],
    ]);
    const r2 = await a.premium.chat('gpt-4o-mini', HI);
    expect(r2.content).toBe('premium answer');
    expect(r2.attempts.map((t) => [t.keyId, t.outcome])).toEqual([['k1', 'success']]);
    // The factory got its value from extraProviders.
    expect(premiumFake.hits('sk-premium-x-1')).toBe(1);
    expect(cheapFake.hits('sk-premium-x-1')).toBe(0);

    const state = async (s: LlmRotateService) => (await s.snapshot()).keys.map((k) => [k.keyId, k.state]);
    expect(await state(a.cheap)).toEqual([
      ['k1', 'COOLDOWN'],
      ['k2', 'ACTIVE'],
    ]);
    expect(await state(a.premium)).toEqual([
      ['k1', 'ACTIVE'],
      ['k2', 'ACTIVE'],
    ]);
    expect((await a.cheapHealth.isHealthy('cheap', { minAvailable: 2 })).cheap.status).toBe('down');
    expect((await a.premiumHealth.isHealthy('premium', { minAvailable: 2 })).premium.status).toBe('up');
  });

  it('Terminus reports each pool under its own key', async () => {
    const m = await compile([...twoPools(), TerminusModule], [], [HealthController]);
    const app = m.createNestApplication({ logger: false });
    await app.init();
    try {
      cheapFake.script('sk-cheap-1', 'rate_limit');
      cheapFake.script('sk-cheap-2', 'rate_limit');
      await expect(app.get<LlmRotateService>(getLlmRotateToken('cheap')).chat('gpt-4o-mini', HI)).rejects.toThrow(/All keys/);
      const res = await request(app.getHttpServer()).get('/health').expect(503);
      expect(res.body.error.cheap).toMatchObject({ status: 'down', providers: { openai: { keys: 2, available: 0 } } });
      expect(res.body.info.premium).toMatchObject({ status: 'up', providers: { openai: { keys: 2, available: 2 } } });
      expect(res.text).not.toMatch(/sk-cheap|sk-premium/);
    } finally {
      await app.close();
    }
  });

  it('the default pool keeps its class tokens next to named ones', async () => {
    const m = await compile([LlmRotateModule.forRoot(premiumOptions('default')), LlmRotateModule.forRoot({ ...cheapOptions(), name: 'cheap' })]);
    expect(getLlmRotateToken()).toBe(LlmRotateService);
    expect(getLlmRotateHealthToken()).toBe(LlmRotateHealthIndicator);
    expect(getLlmRotateEngineToken()).toBe(LLM_ROTATE_ENGINE);
    expect(getLlmRotateOptionsToken()).toBe(LLM_ROTATE_OPTIONS);
    const byClass = m.get(LlmRotateService);
    expect(byClass).toBe(m.get(getLlmRotateToken()));
    expect(m.get(LLM_ROTATE_ENGINE)).toBe(byClass.engine);
    expect(m.get(LlmRotateHealthIndicator)).toBeInstanceOf(LlmRotateHealthIndicator);
    expect((await byClass.chat('gpt-4o-mini', HI)).content).toBe('premium answer');
    expect(premiumFake.hits('sk-default-1')).toBe(1);
    expect((await m.get<LlmRotateService>(getLlmRotateToken('cheap')).chat('gpt-4o-mini', HI)).content).toBe('cheap answer');
  });

  it("the module's own names never reach the engine (which refuses names it does not know)", async () => {
    // Plain JavaScript may return them from a factory too.
    const fromFactory = { ...cheapOptions(), name: 'ignored', isGlobal: true, extraProviders: [] } as unknown as LlmRotateOptions;
    const m = await compile([
      LlmRotateModule.forRoot({ ...premiumOptions(), name: 'premium', isGlobal: false }),
      LlmRotateModule.forRootAsync({ name: 'cheap', useFactory: () => fromFactory }),
    ]);
    for (const name of ['premium', 'cheap']) {
      const engine = m.get<LlmRotate>(getLlmRotateEngineToken(name));
      expect(engine.options).not.toHaveProperty('name');
      expect(engine.options).not.toHaveProperty('isGlobal');
      expect(engine.options).not.toHaveProperty('extraProviders');
    }
    // Without the stripping, `name` would be an unknown option to the engine's validation:
    expect(() => new LlmRotate({ ...premiumOptions(), name: 'premium' } as LlmRotateModuleOptions)).toThrow(ConfigurationError);
  });

  it('a pool is visible elsewhere only with isGlobal', async () => {
    @Injectable()
    class Needs {
      constructor(@InjectLlmRotate('cheap') readonly llm: LlmRotateService) {}
    }
    @Module({ providers: [Needs], exports: [Needs] })
    class Feature {}
    const m = await compile([LlmRotateModule.forRoot({ ...cheapOptions(), name: 'cheap', isGlobal: true }), Feature]);
    expect(m.get(Needs).llm).toBe(m.get(getLlmRotateToken('cheap')));
    await expect(Test.createTestingModule({ imports: [LlmRotateModule.forRoot({ ...cheapOptions(), name: 'cheap' }), Feature] }).compile()).rejects.toThrow(/LlmRotateService:cheap/);
  });

  it('app.close() drains and closes every pool', async () => {
    const m = await compile(twoPools(), [Assistant]);
    const app = m.createNestApplication({ logger: false });
    await app.init();
    const a = app.get(Assistant);
    await app.close();
    await expect(a.cheap.chat('gpt-4o-mini', HI)).rejects.toBeInstanceOf(ClosedError);
    await expect(a.premium.chat('gpt-4o-mini', HI)).rejects.toBeInstanceOf(ClosedError);
  });

  it('a bad name is refused, naming it', () => {
    expect(() => LlmRotateModule.forRoot({ ...cheapOptions(), name: ' ' })).toThrow(/name must be a non-empty string/);
    expect(() => getLlmRotateToken('')).toThrow(/name must be a non-empty string/);
  });

  it('forRootAsync without useFactory, useClass or useExisting is refused', () => {
    expect(() => LlmRotateModule.forRootAsync({ name: 'x' })).toThrow(/give one of useFactory, useClass or useExisting/);
  });
});
