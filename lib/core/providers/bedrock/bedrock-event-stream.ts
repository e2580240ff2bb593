import { LlmRotateError, ProviderTransportError } from '../../errors';
import { bodyChunks, type Exchange } from '../../transport/http';
import type { StreamDelta } from '../provider.interfaces';
import { loadEventStream, type EventStreamMessage } from './aws-libs';
import { classifyStreamException } from './bedrock-errors';
import { mapStopReason, usageOf } from './bedrock-mapping';

const utf8 = new TextDecoder();

/**
 * Decodes a ConverseStream answer (`application/vnd.amazon.eventstream`) into deltas. The body is read chunk
 * by chunk (each chunk re-arms the exchange deadline); the AWS SDK's own splitter and codec turn the bytes into
 * frames, whatever the chunk boundaries. Events by `:event-type`: `contentBlockDelta` (text), `messageStop`
 * (finish reason), `metadata` (usage); an exception frame becomes an `error` delta and ends the stream.
 * A stream that ends without `messageStop`, a bad frame or a bad checksum is a malformed answer (`EMALFORMED`).
 */
export async function* readConverseStream(ex: Exchange, body: ReadableStream<Uint8Array>): AsyncGenerator<StreamDelta> {
  const { codec, chunked } = loadEventStream();
  let stopped = false;
  try {
    for await (const frame of chunked(bodyChunks(ex, body))) {
      const msg = codec.decode(frame);
      const messageType = header(msg, ':message-type');
      if (messageType === 'event') {
        const out = eventDelta(header(msg, ':event-type'), msg);
        if (out === undefined) continue;
        if (out.finishReason !== undefined) stopped = true;
        yield out;
      } else if (messageType === 'exception') {
        yield { error: classifyStreamException(header(msg, ':exception-type') ?? 'unknownException', utf8.decode(msg.body)) };
        return;
      } else if (messageType === 'error') {
        const code = header(msg, ':error-code') ?? 'InternalServerException';
        yield { error: classifyStreamException(code, JSON.stringify({ message: header(msg, ':error-message') ?? 'stream error' })) };
        return;
      } else {
        throw new Error(`unknown :message-type ${String(messageType)}`);
      }
    }
    if (!stopped) throw new Error('the stream ended before messageStop');
  } catch (e) {
    throw malformed(e);
  }
}

function eventDelta(type: string | undefined, msg: EventStreamMessage): StreamDelta | undefined {
  switch (type) {
    case 'contentBlockDelta': {
      const text = (json(msg) as { delta?: { text?: unknown } }).delta?.text;
      return typeof text === 'string' && text.length > 0 ? { delta: text } : undefined;
    }
    case 'messageStop':
      return { finishReason: mapStopReason((json(msg) as { stopReason?: unknown }).stopReason) };
    case 'metadata':
      return { usage: usageOf((json(msg) as { usage?: { inputTokens?: unknown; outputTokens?: unknown } }).usage) };
    default:
      // messageStart, contentBlockStart, contentBlockStop and events added later carry no text.
      return undefined;
  }
}

function header(msg: EventStreamMessage, name: string): string | undefined {
  const h = msg.headers[name];
  return h !== undefined && typeof h.value === 'string' ? h.value : undefined;
}

function json(msg: EventStreamMessage): Record<string, unknown> {
  const doc = JSON.parse(utf8.decode(msg.body)) as unknown;
  if (typeof doc !== 'object' || doc === null) throw new Error('event body is not a JSON object');
  return doc as Record<string, unknown>;
}

/** Transport, timeout and cancel errors pass through; anything else means the frames could not be read. */
function malformed(e: unknown): Error {
  if (e instanceof LlmRotateError) return e;
  const why = e instanceof Error ? e.message : String(e);
  return new ProviderTransportError('bedrock', `bedrock sent a malformed event stream: ${why}`, 'EMALFORMED');
}
