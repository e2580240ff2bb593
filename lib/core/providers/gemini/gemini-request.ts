import { UnsupportedFeatureError } from '../../errors';
import type { ChatMessage, ProviderName } from '../../types';
import type { UnifiedRequest } from '../provider.interfaces';
import type { GeminiContent, GeminiPart, GeminiRequestBody } from './gemini.wire';

/**
 * Maps the unified request to a `generateContent` body: system messages (wherever they are) become one
 * `systemInstruction`, assistant turns become role `model`, consecutive turns of one role are merged (Gemini
 * wants alternating turns) and empty text parts are dropped (Gemini rejects them).
 */
export function toGeminiBody(provider: ProviderName, req: UnifiedRequest): GeminiRequestBody {
  const contents: GeminiContent[] = [];
  let system: GeminiPart[] | undefined;
  for (const m of req.messages) {
    const parts = partsOf(m);
    if (parts.length === 0) continue;
    if (m.role === 'system') {
      (system ??= []).push(...parts);
      continue;
    }
    const role = m.role === 'assistant' ? 'model' : 'user';
    const last = contents[contents.length - 1];
    if (last !== undefined && last.role === role) last.parts.push(...parts);
    else contents.push({ role, parts });
  }
  if (contents.length === 0) {
    throw new UnsupportedFeatureError(provider, 'a request without a non-empty user or assistant message (Gemini needs at least one turn besides the system prompt)');
  }
  const body: GeminiRequestBody = { contents };
  if (system !== undefined) body.systemInstruction = { parts: system };
  const g: GeminiRequestBody['generationConfig'] = {};
  if (req.temperature !== undefined) g.temperature = req.temperature;
  if (req.maxTokens !== undefined) g.maxOutputTokens = req.maxTokens;
  if (req.topP !== undefined) g.topP = req.topP;
  if (req.stop !== undefined && req.stop.length > 0) g.stopSequences = [...req.stop];
  if (Object.keys(g).length > 0) body.generationConfig = g;
  return body;
}

function partsOf(m: ChatMessage): GeminiPart[] {
  if (typeof m.content === 'string') return m.content.length > 0 ? [{ text: m.content }] : [];
  const out: GeminiPart[] = [];
  for (const p of m.content) if (p.text.length > 0) out.push({ text: p.text });
  return out;
}
