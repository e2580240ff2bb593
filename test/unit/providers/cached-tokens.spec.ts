import { AnthropicAdapter } from '../../../lib/core/providers/anthropic/anthropic.adapter';
import { BedrockAdapter } from '../../../lib/core/providers/bedrock/bedrock.adapter';
import { parseGeminiResponse } from '../../../lib/core/providers/gemini/gemini-response';
import { OpenAiCompatibleAdapter } from '../../../lib/core/providers/openai/openai-compatible.adapter';
import { PriceBook } from '../../../lib/core/observability/pricing/price-book';

/** Prompt-cache reads each wire format reports become `cachedInputTokens` (priced at the cached rate). */
describe('cached input tokens, per wire format', () => {
  const target = {} as never;

  it('openai: usage.prompt_tokens_details.cached_tokens (part of prompt_tokens)', () => {
    const r = new OpenAiCompatibleAdapter('openai').parseResponse({
      choices: [{ message: { content: 'hi' }, finish_reason: 'stop' }],
      usage: { prompt_tokens: 1000, completion_tokens: 10, prompt_tokens_details: { cached_tokens: 800 } },
    });
    expect(r.usage).toEqual({ inputTokens: 1000, outputTokens: 10, cachedInputTokens: 800 });
    // gpt-4o-mini: 200 × 0.15 + 800 × 0.075 + 10 × 0.60 per million.
    expect(new PriceBook(undefined).cost('openai', 'gpt-4o-mini', r.usage)).toBeCloseTo((200 * 0.15 + 800 * 0.075 + 10 * 0.6) / 1e6, 12);
  });

  it('anthropic: cache_read_input_tokens (input_tokens leave the cache out; the unified input counts it)', () => {
    const r = new AnthropicAdapter().parseResponse({
      type: 'message',
      content: [{ type: 'text', text: 'hi' }],
      stop_reason: 'end_turn',
      usage: { input_tokens: 50, cache_creation_input_tokens: 100, cache_read_input_tokens: 900, output_tokens: 7 },
    });
    expect(r.usage).toEqual({ inputTokens: 1050, outputTokens: 7, cachedInputTokens: 900 });
  });

  it('gemini: usageMetadata.cachedContentTokenCount (part of promptTokenCount)', () => {
    const r = parseGeminiResponse('google_ai_studio', {
      candidates: [{ content: { parts: [{ text: 'hi' }] }, finishReason: 'STOP' }],
      usageMetadata: { promptTokenCount: 400, candidatesTokenCount: 5, cachedContentTokenCount: 300 },
    });
    expect(r.usage).toEqual({ inputTokens: 400, outputTokens: 5, cachedInputTokens: 300 });
  });

  it('bedrock: usage.cacheReadInputTokens and cacheWriteInputTokens (inputTokens leave them out)', () => {
    const r = new BedrockAdapter().parseResponse({
      output: { message: { role: 'assistant', content: [{ text: 'hi' }] } },
      stopReason: 'end_turn',
      usage: { inputTokens: 20, outputTokens: 3, cacheReadInputTokens: 600, cacheWriteInputTokens: 80 },
    });
    expect(r.usage).toEqual({ inputTokens: 700, outputTokens: 3, cachedInputTokens: 600 });
  });

  it('no cache: the usage stays two fields', () => {
    const r = new OpenAiCompatibleAdapter('openai').parseResponse({ choices: [{ message: { content: 'hi' }, finish_reason: 'stop' }], usage: { prompt_tokens: 3, completion_tokens: 1 } });
    expect(r.usage).toEqual({ inputTokens: 3, outputTokens: 1 });
    void target;
  });
});
