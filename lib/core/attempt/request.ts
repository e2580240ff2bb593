import { checkCallOptions } from '../config/call-options';
import { InvalidRequestError } from '../errors';
import type { UnifiedRequest } from '../providers/provider.interfaces';
import type { ChatMessage, ChatOptions } from '../types';

const ROLES = new Set(['system', 'user', 'assistant']);

/** Checks a chat()/stream() call's own arguments and builds the unified request; a bad call is the caller's to fix. */
export function toRequest(model: string, messages: readonly ChatMessage[], opts: ChatOptions): UnifiedRequest {
  checkCallOptions(opts, 'chat');
  if (typeof model !== 'string' || model.length === 0) throw new InvalidRequestError('model: must be a non-empty string');
  if (!Array.isArray(messages) || messages.length === 0) throw new InvalidRequestError('messages: must be a non-empty array');
  for (let i = 0; i < messages.length; i++) {
    const m = messages[i];
    if (m === null || typeof m !== 'object' || !ROLES.has(m.role)) throw new InvalidRequestError(`messages[${i}].role: must be one of system, user, assistant`);
    if (typeof m.content !== 'string' && !(Array.isArray(m.content) && (m.content as readonly unknown[]).every((p) => isTextPart(p)))) {
      throw new InvalidRequestError(`messages[${i}].content: must be a string or an array of { type: 'text', text }`);
    }
  }
  return { messages, temperature: opts.temperature, maxTokens: opts.maxTokens, topP: opts.topP, stop: opts.stop };
}

function isTextPart(p: unknown): boolean {
  return typeof p === 'object' && p !== null && (p as { type?: unknown }).type === 'text' && typeof (p as { text?: unknown }).text === 'string';
}
