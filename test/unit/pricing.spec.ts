import { PriceBook } from '../../lib/core/observability/pricing/price-book';
import { DEFAULT_PRICES, DEFAULT_PRICES_TAKEN } from '../../lib';

describe('price book', () => {
  const book = new PriceBook(undefined);

  it.each([
    ['openai', 'gpt-4o-mini', 'gpt-4o-mini'],
    ['openai', 'gpt-4o-2024-08-06', 'gpt-4o'],
    ['azure_openai', 'gpt-4.1-mini', 'gpt-4.1-mini'],
    ['openrouter', 'openai/gpt-4o-mini', 'gpt-4o-mini'],
    ['openrouter', 'anthropic/claude-haiku-4-5', 'claude-haiku-4-5'],
    ['anthropic', 'claude-haiku-4-5-20251001', 'claude-haiku-4-5'],
    ['anthropic', 'claude-3-5-haiku-latest', 'claude-3-5-haiku'],
    ['google_ai_studio', 'models/gemini-2.5-flash', 'gemini-2.5-flash'],
    ['google_vertex', 'gemini-2.5-pro', 'gemini-2.5-pro'],
    ['bedrock', 'anthropic.claude-3-haiku-20240307-v1:0', 'claude-3-haiku'],
    ['bedrock', 'us.anthropic.claude-sonnet-4-5-20250929-v1:0', 'claude-sonnet-4-5'],
    ['bedrock', 'amazon.nova-lite-v1:0', 'amazon.nova-lite'],
  ] as const)('%s %s is priced as %s', (provider, model, as) => {
    expect(book.priceOf(provider, model)).toBe(DEFAULT_PRICES[as]);
  });

  it('never prices a model by a loose prefix (gpt-4o-mini-tts is unknown, not gpt-4o-mini), and says unknown rather than 0', () => {
    expect(book.priceOf('openai', 'gpt-4o-mini-tts')).toBeUndefined();
    expect(book.cost('openai', 'my-fine-tune', { inputTokens: 1000, outputTokens: 10 })).toBe('unknown');
  });

  it('computes USD per million tokens, cached input at its own rate; user prices override and extend, per provider too', () => {
    // gpt-4o-mini: 0.15 in, 0.075 cached, 0.60 out.
    expect(book.cost('openai', 'gpt-4o-mini', { inputTokens: 1_000_000, outputTokens: 1_000_000 })).toBeCloseTo(0.75, 9);
    expect(book.cost('openai', 'gpt-4o-mini', { inputTokens: 1_000_000, outputTokens: 0, cachedInputTokens: 400_000 })).toBeCloseTo(0.6 * 0.15 + 0.4 * 0.075, 9);
    const mine = new PriceBook({ 'gpt-4o-mini': { inputPerMTok: 1, outputPerMTok: 2 }, 'bedrock:my-model': { inputPerMTok: 3, outputPerMTok: 4 } });
    expect(mine.cost('openai', 'gpt-4o-mini', { inputTokens: 2_000_000, outputTokens: 1_000_000 })).toBe(4);
    expect(mine.cost('bedrock', 'my-model', { inputTokens: 1_000_000, outputTokens: 0 })).toBe(3);
    expect(mine.cost('openai', 'my-model', { inputTokens: 1_000_000, outputTokens: 0 })).toBe('unknown');
    expect(mine.priceOf('anthropic', 'claude-haiku-4-5')).toBe(DEFAULT_PRICES['claude-haiku-4-5']);
    expect(DEFAULT_PRICES_TAKEN).toMatch(/^\d{4}-\d{2}$/);
  });
});
