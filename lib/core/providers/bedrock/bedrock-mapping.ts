import { UnsupportedFeatureError } from '../../errors';
import type { ChatMessage, FinishReason, Usage } from '../../types';
import type { ParsedResult, UnifiedRequest } from '../provider.interfaces';
import { count, isObject, listAt, malformed, objectAt, usage } from '../wire-checks';

/** The subset of the Converse / ConverseStream request body this library sends. */
export interface ConverseRequest {
  messages: Array<{ role: 'user' | 'assistant'; content: Array<{ text: string }> }>;
  system?: Array<{ text: string }>;
  inferenceConfig?: { maxTokens?: number; temperature?: number; topP?: number; stopSequences?: string[] };
}

/**
 * Unified request → Converse body. System messages (wherever they are) become `system` blocks in order;
 * each text part becomes one `{ text }` content block; blank texts are dropped (Converse rejects blank blocks);
 * consecutive messages of the same role are merged, because Converse requires alternating roles. Converse also requires the conversation to start with a user
 * message: a conversation that cannot satisfy that is refused with an error naming bedrock.
 */
export function toConverseRequest(req: UnifiedRequest): ConverseRequest {
  const system: Array<{ text: string }> = [];
  const messages: ConverseRequest['messages'] = [];
  for (const m of req.messages) {
    const blocks = textBlocks(m.content);
    if (blocks.length === 0) continue;
    if (m.role === 'system') {
      system.push(...blocks);
      continue;
    }
    const last = messages[messages.length - 1];
    if (last !== undefined && last.role === m.role) last.content.push(...blocks);
    else messages.push({ role: m.role, content: blocks });
  }
  if (messages.length === 0) {
    throw new UnsupportedFeatureError('bedrock', 'a conversation without user text (Converse needs at least one non-blank user message)');
  }
  if (messages[0].role !== 'user') {
    throw new UnsupportedFeatureError('bedrock', 'a conversation that starts with an assistant message (Converse requires the first message to be from the user)');
  }
  const body: ConverseRequest = { messages };
  if (system.length > 0) body.system = system;
  const cfg: NonNullable<ConverseRequest['inferenceConfig']> = {};
  if (req.maxTokens !== undefined) cfg.maxTokens = req.maxTokens;
  if (req.temperature !== undefined) cfg.temperature = req.temperature;
  if (req.topP !== undefined) cfg.topP = req.topP;
  if (req.stop !== undefined && req.stop.length > 0) cfg.stopSequences = [...req.stop];
  if (Object.keys(cfg).length > 0) body.inferenceConfig = cfg;
  return body;
}

function textBlocks(content: ChatMessage['content']): Array<{ text: string }> {
  if (typeof content === 'string') return content.trim() === '' ? [] : [{ text: content }];
  const out: Array<{ text: string }> = [];
  for (const p of content) if (p.text.trim() !== '') out.push({ text: p.text });
  return out;
}

/** Converse response → unified result: the text blocks joined (other block types, e.g. reasoning, are skipped). */
export function fromConverseResponse(raw: unknown): ParsedResult {
  if (!isObject(raw)) throw malformed('bedrock', 'the answer is not a JSON object');
  const message = objectAt('bedrock', objectAt('bedrock', raw.output, 'output')?.message, 'output.message');
  const content = listAt('bedrock', message?.content, 'output.message.content');
  if (content === undefined) throw malformed('bedrock', 'the answer has no output.message.content');
  let text = '';
  for (const block of content) {
    if (isObject(block) && typeof block.text === 'string') text += block.text;
  }
  const usage = isObject(raw.usage) ? raw.usage : undefined;
  return { content: text, finishReason: mapStopReason(raw.stopReason), usage: usageOf(usage) };
}

export function usageOf(u: { inputTokens?: unknown; outputTokens?: unknown; cacheReadInputTokens?: unknown; cacheWriteInputTokens?: unknown } | undefined | null): Usage {
  // Converse's inputTokens leave the prompt cache out (as Anthropic's do): cache reads count as input, priced apart.
  const cached = count(u?.cacheReadInputTokens);
  return usage(count(u?.inputTokens) + cached + count(u?.cacheWriteInputTokens), count(u?.outputTokens), cached);
}

export function mapStopReason(r: unknown): FinishReason {
  switch (r) {
    case 'end_turn':
    case 'stop_sequence':
    case undefined:
    case null:
      return 'stop';
    case 'max_tokens':
    case 'model_context_window_exceeded':
      return 'length';
    case 'guardrail_intervened':
    case 'content_filtered':
      return 'content_filter';
    case 'tool_use':
      return 'tool_calls';
    default:
      return 'other';
  }
}
