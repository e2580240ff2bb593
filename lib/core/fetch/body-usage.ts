import { EventStreamTracker } from './event-stream-usage';
import { JsonTracker } from './json-usage';
import { SseTracker } from './sse-usage';
import type { BodyTracker } from './usage-tokens';

export type { BodyTracker, BodyVerdict } from './usage-tokens';

const JSON_TYPE = /^application\/(?:[\w.+-]*\+)?json\b/i;

/**
 * The tracker for a body's content type: JSON (OpenAI, Anthropic, Gemini, Bedrock Converse and embeddings answers),
 * server-sent events (every vendor's streams) or AWS event-stream frames (Bedrock's ConverseStream). Undefined for
 * anything else (audio, files): such a body passes through unread.
 */
export function bodyTracker(contentType: string | null): BodyTracker | undefined {
  const ct = (contentType ?? '').trim().toLowerCase();
  if (ct.startsWith('text/event-stream')) return new SseTracker();
  if (ct.startsWith('application/vnd.amazon.eventstream')) return new EventStreamTracker();
  if (JSON_TYPE.test(ct)) return new JsonTracker();
  return undefined;
}
