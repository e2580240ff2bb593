import { UnsupportedFeatureError } from '../../errors';
import type { ChatMessage } from '../../types';
import type { UnifiedRequest } from '../provider.interfaces';
import type { AnthropicMessageParam, AnthropicRequestBody, AnthropicTextBlock } from './anthropic.wire';

/**
 * `max_tokens` is required by the Messages API; this is sent when the caller gives none.
 * 4096 is the largest output every Claude model accepts (Claude 3 Haiku's ceiling), so it never makes
 * a call fail, and it is enough for ordinary chat answers. Pass `maxTokens` for longer outputs.
 */
export const ANTHROPIC_DEFAULT_MAX_TOKENS = 4096;

/**
 * Maps the unified request to a Messages API body:
 * - every `system` message (wherever it stands) goes to the top-level `system` string: its texts (and the
 *   text parts of each) in order, joined by a blank line;
 * - text parts become text blocks; empty texts are dropped (the API rejects empty text blocks);
 * - consecutive messages of one role are merged into one turn, as strict Messages endpoints require
 *   alternating roles;
 * - `max_tokens` defaults to {@link ANTHROPIC_DEFAULT_MAX_TOKENS}; `stop` becomes `stop_sequences`.
 */
export function toAnthropicBody(model: string, req: UnifiedRequest, stream: boolean): AnthropicRequestBody {
  const system: string[] = [];
  const messages: AnthropicMessageParam[] = [];
  let blocks: AnthropicTextBlock[] | undefined;
  for (const m of req.messages) {
    if (m.role === 'system') {
      for (const b of blocksOf(m)) system.push(b.text);
      continue;
    }
    const add = blocksOf(m);
    if (add.length === 0) continue;
    const last = messages.at(-1);
    if (last !== undefined && last.role === m.role && blocks !== undefined) {
      blocks.push(...add);
      last.content = blocks;
    } else {
      blocks = add;
      messages.push({ role: m.role, content: add.length === 1 ? add[0].text : add });
    }
  }
  if (messages.length === 0) {
    throw new UnsupportedFeatureError(
      'anthropic',
      'a conversation without a non-empty user or assistant message (the Messages API needs one; system text goes to its top-level `system` field)',
    );
  }
  const body: AnthropicRequestBody = { model, max_tokens: req.maxTokens ?? ANTHROPIC_DEFAULT_MAX_TOKENS, messages };
  if (system.length > 0) body.system = system.join('\n\n');
  if (req.temperature !== undefined) body.temperature = req.temperature;
  if (req.topP !== undefined) body.top_p = req.topP;
  if (req.stop !== undefined && req.stop.length > 0) body.stop_sequences = [...req.stop];
  if (stream) body.stream = true;
  return body;
}

function blocksOf(m: ChatMessage): AnthropicTextBlock[] {
  if (typeof m.content === 'string') return m.content.length > 0 ? [{ type: 'text', text: m.content }] : [];
  const out: AnthropicTextBlock[] = [];
  for (const p of m.content) if (p.text.length > 0) out.push({ type: 'text', text: p.text });
  return out;
}
