import {
  ConfigurationError,
  LlmRotate,
  RequestBuildError,
  type ChatMessage,
  type ProviderOptions,
} from '../../../lib';
import { FakeClock } from '../../support/fake-clock';
import { makeOptions, recordingLogger, type TestKey } from '../../support/options';
import { FaultLab, type ProviderCase } from './lab';

/**
 * A request that cannot even be built locally never counts against a key, for all seven providers, chat and stream:
 * a provider header with CR/LF is a RequestBuildError thrown to the caller (no upstream request, no key touched),
 * while a key whose own credential cannot go into a header (a key file with two lines) is that key's problem: it is
 * benched like an unresolvable secret and the next key answers.
 */

const HI: ChatMessage[] = [{ role: 'user', content: 'hi' }];
const PROVIDERS = ['openai', 'openrouter', 'azure_openai', 'anthropic', 'google_ai_studio', 'google_vertex', 'bedrock'] as const;

describe('requests that cannot be built', () => {
  let lab: FaultLab;
  let cases: ProviderCase[];
  const open: LlmRotate[] = [];

  beforeAll(async () => {
    lab = await FaultLab.start();
    cases = lab.cases();
  });
  afterAll(() => lab.close());
  beforeEach(() => lab.reset());
  afterEach(async () => {
    await Promise.all(open.splice(0).map((lr) => lr.close()));
  });

  async function engine(pc: ProviderCase, keys: readonly TestKey[], settings: ProviderOptions = {}): Promise<LlmRotate> {
    const lr = await LlmRotate.create(
      makeOptions('http://unused.invalid', [...keys], { strategy: 'priority', providers: { [pc.provider]: { timeoutMs: 2000, ...pc.settings, ...settings } } }),
      { clock: new FakeClock(), logger: recordingLogger().logger },
    );
    open.push(lr);
    return lr;
  }

  async function run(lr: LlmRotate, pc: ProviderCase, mode: 'chat' | 'stream'): Promise<{ keyId?: string; error?: unknown }> {
    try {
      if (mode === 'chat') return { keyId: (await lr.chat(pc.model, HI)).keyId };
      let keyId: string | undefined;
      for await (const c of lr.stream(pc.model, HI)) keyId = c.keyId;
      return { keyId };
    } catch (error) {
      return { error };
    }
  }

  describe.each(PROVIDERS.map((p, i) => [p, i] as const))('%s', (_name, i) => {
    it.each(['chat', 'stream'] as const)('%s: a provider header with CR/LF is a RequestBuildError; nothing sent, no key counted', async (mode) => {
      const pc = cases[i];
      let lr: LlmRotate;
      try {
        lr = await engine(pc, pc.keys, { headers: { 'x-title': 'my app\r\nx-injected: 1' } });
      } catch (e) {
        // Start-up validation of provider headers refuses it even earlier: also never a key's failure.
        expect(e).toBeInstanceOf(ConfigurationError);
        expect((e as Error).message).toMatch(/headers/);
        return;
      }
      const o = await run(lr, pc, mode);
      expect(o.error).toBeInstanceOf(RequestBuildError);
      expect((o.error as Error).message).toMatch(/header "x-title" cannot be sent/);
      expect((o.error as Error).message).not.toContain('x-injected');
      expect(pc.hits('a') + pc.hits('b')).toBe(0);
      const snap = await lr.snapshot();
      expect(snap.keys.map((k) => [k.keyId, k.state, k.consecutiveFailures, k.leasesInUse])).toEqual([
        ['a', 'ACTIVE', 0, 0],
        ['b', 'ACTIVE', 0, 0],
      ]);
    });

    it.each(['chat', 'stream'] as const)('%s: a credential that cannot go into a header holds its key back in this process; the next key answers', async (mode) => {
      const pc = cases[i];
      const [a, b] = pc.keys;
      const broken: TestKey =
        pc.provider === 'google_vertex'
          ? { ...a, secret: JSON.stringify({ ...(JSON.parse(a.secret as string) as object), quota_project_id: 'billing-proj\r\nx-injected: 1' }) }
          : { ...a, secret: `${a.secret as string}\n${a.secret as string}` };
      const lr = await engine(pc, [broken, b]);
      const o = await run(lr, pc, mode);
      expect(o.error).toBeUndefined();
      expect(o.keyId).toBe('b');
      expect(pc.hits('a')).toBe(0);
      const row = (await lr.snapshot()).keys.find((k) => k.keyId === 'a');
      // A secret this process cannot use is not the key's health (another worker may hold a good one): held back
      // here, with the reason, never quarantined in the shared state.
      expect(row).toMatchObject({ state: 'ACTIVE', consecutiveFailures: 0, available: false, leasesInUse: 0 });
      expect(row?.reason).toMatch(/its secret cannot be resolved/);
    });
  });
});
