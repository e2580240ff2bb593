import type { ServerResponse } from 'node:http';
import { AnthropicFake, type AnthropicFakeOptions } from '../anthropic-fake';
import { sendJson, sendSse, type RecordedRequest } from '../fake-http';
import { TOOL_ARGS } from './openai-sdk-fake';

/**
 * The Anthropic fake extended with tool use: a Messages request with `tools` (and a valid key, and a script that
 * says 'ok') is answered with a `tool_use` block calling the first tool with {@link TOOL_ARGS}, as JSON or as the
 * SSE events Anthropic streams it with (`input_json_delta`). Everything else is the base fake's.
 */
export class AnthropicSdkFake extends AnthropicFake {
  static override start(options: AnthropicFakeOptions = {}): Promise<AnthropicSdkFake> {
    return AnthropicSdkFake.boot((http) => new AnthropicSdkFake(http, options));
  }

  protected override async handle(req: RecordedRequest, res: ServerResponse): Promise<void> {
    const body = req.json as { model?: string; tools?: Array<{ name?: string }>; stream?: boolean } | undefined;
    const key = keyOf(req);
    if (req.method !== 'POST' || req.path.split('?')[0] !== '/v1/messages' || !Array.isArray(body?.tools) || body.tools.length === 0 || key === undefined) {
      await super.handle(req, res);
      return;
    }
    const b = this.scripts.next(key);
    if (b !== 'ok') {
      // Tool requests only know success and a rate limit; scripts for them say which.
      sendJson(res, 429, { type: 'error', error: { type: 'rate_limit_error', message: 'This request would exceed the rate limit.' } }, { 'retry-after': '20' });
      return;
    }
    const name = body.tools[0]?.name ?? 'unknown_tool';
    const block = { type: 'tool_use', id: 'toolu_fake1', name, input: TOOL_ARGS };
    const usage = { input_tokens: 20, cache_creation_input_tokens: 0, cache_read_input_tokens: 0, output_tokens: 9 };
    if (body.stream !== true) {
      sendJson(res, 200, { id: 'msg_fake_tool', type: 'message', role: 'assistant', model: body.model, content: [block], stop_reason: 'tool_use', stop_sequence: null, usage });
      return;
    }
    const ev = (event: string, data: Record<string, unknown>) => ({ event, data: JSON.stringify({ type: event, ...data }) });
    await sendSse(res, [
      ev('message_start', { message: { id: 'msg_fake_tool', type: 'message', role: 'assistant', model: body.model, content: [], stop_reason: null, stop_sequence: null, usage: { ...usage, output_tokens: 1 } } }),
      ev('content_block_start', { index: 0, content_block: { ...block, input: {} } }),
      ev('content_block_delta', { index: 0, delta: { type: 'input_json_delta', partial_json: JSON.stringify(TOOL_ARGS) } }),
      ev('content_block_stop', { index: 0 }),
      ev('message_delta', { delta: { stop_reason: 'tool_use', stop_sequence: null }, usage: { output_tokens: 9 } }),
      ev('message_stop', {}),
    ]);
  }
}

function keyOf(r: RecordedRequest): string | undefined {
  const k = r.headers['x-api-key'];
  if (typeof k === 'string' && k !== '') return k;
  const auth = r.headers.authorization;
  return typeof auth === 'string' && auth.startsWith('Bearer ') && auth.length > 7 ? auth.slice(7) : undefined;
}
