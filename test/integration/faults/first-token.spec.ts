import { LlmRotate, ProviderTimeoutError, StreamInterruptedError, type ChatChunk, type ChatMessage } from '../../../lib';
import { OpenAiFake } from '../../fakes/openai-fake';
import { FakeClock } from '../../support/fake-clock';
import { makeOptions, recordingLogger } from '../../support/options';

const HI: ChatMessage[] = [{ role: 'user', content: 'hi' }];

/**
 * `firstTokenTimeoutMs` is its own deadline: keep-alives cannot hold a stream open before its first token, however
 * long `timeoutMs` (the head wait and each gap) is; after the first token only the gap deadline applies.
 */
describe('first-token deadline (engine)', () => {
  let fake: OpenAiFake;
  const open: LlmRotate[] = [];
  beforeAll(async () => {
    fake = await OpenAiFake.start({ reply: 'one two three', gapMs: 5 });
  });
  afterAll(() => fake.close());
  beforeEach(() => fake.reset());
  afterEach(async () => {
    await Promise.all(open.splice(0).map((lr) => lr.close()));
  });

  async function engine(openai: Record<string, number>): Promise<LlmRotate> {
    const lr = await LlmRotate.create(makeOptions(fake.baseUrl, [{ keyId: 'a', priority: 2 }, { keyId: 'b', priority: 1 }], { strategy: 'priority', providers: { openai } }), {
      clock: new FakeClock(),
      logger: recordingLogger().logger,
    });
    open.push(lr);
    return lr;
  }

  it('keep-alives under a long timeoutMs: the first-token deadline fails the key over, counted as a timeout', async () => {
    fake.script('sk-test-a', { fault: 'keep_alive', everyMs: 20 });
    const lr = await engine({ timeoutMs: 30_000, firstTokenTimeoutMs: 400 });
    const events: string[] = [];
    lr.onUsage((e) => events.push(`${e.keyId}:${e.outcome}:${e.errorClass ?? ''}`));
    const chunks: ChatChunk[] = [];
    for await (const c of lr.stream('gpt-4o-mini', HI)) chunks.push(c);
    expect(chunks.map((c) => c.delta).join('')).toBe('one two three');
    expect(chunks.every((c) => c.keyId === 'b')).toBe(true);
    expect(events).toEqual(['a:transient:ProviderTimeoutError', 'b:success:']);
  });

  it('the first-token deadline does not cut a stream that is under way: later gaps only answer to timeoutMs', async () => {
    // 'one ', 'two ', 'three' with 150 ms between events: far past firstTokenTimeoutMs in total, each gap well within timeoutMs.
    fake.options.gapMs = 150;
    const lr = await engine({ timeoutMs: 5_000, firstTokenTimeoutMs: 400 });
    const chunks: ChatChunk[] = [];
    for await (const c of lr.stream('gpt-4o-mini', HI)) chunks.push(c);
    fake.options.gapMs = 5;
    expect(chunks.map((c) => c.delta).join('')).toBe('one two three');
    expect(chunks.every((c) => c.keyId === 'a')).toBe(true);
  });

  it('a hang after the first token is a gap timeout: StreamInterruptedError caused by ProviderTimeoutError', async () => {
    fake.script('sk-test-a', { fault: 'hang_mid_stream' });
    const lr = await engine({ timeoutMs: 400, firstTokenTimeoutMs: 10_000 });
    const got: string[] = [];
    const err = await (async () => {
      for await (const c of lr.stream('gpt-4o-mini', HI)) got.push(c.delta);
    })().catch((e: unknown) => e);
    expect(got).toEqual(['Hello ']);
    expect(err).toBeInstanceOf(StreamInterruptedError);
    expect((err as Error).cause).toBeInstanceOf(ProviderTimeoutError);
    expect((err as Error).cause).toMatchObject({ timeoutMs: 400 });
  });
});
