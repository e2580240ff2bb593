import { CallCancelledError, LlmRotateError, ProviderTransportError } from '../../errors';
import { bodyChunks, type Exchange } from '../../transport/http';
import type { StreamDelta } from '../provider.interfaces';
import { loadEventStream, type EventStreamMessage } from './aws-libs';
import { classifyStreamException } from './bedrock-errors';
import { mapStopReason, usageOf } from './bedrock-mapping';

const utf8 = new TextDecoder();
/** An event-stream frame: prelude (total length, headers length, prelude CRC) and message CRC: 16 bytes at least. */
const MIN_FRAME_BYTES = 16;

/**
 * Decodes a ConverseStream answer (`application/vnd.amazon.eventstream`) into deltas. The body is read chunk
 * by chunk under the exchange's deadlines; the AWS SDK's own splitter and codec turn the bytes into frames, whatever
 * the chunk boundaries. Each frame's declared length is checked against `maxEventBytes` before the splitter sees it
 * (the splitter allocates the declared length up front). Events by `:event-type`: `contentBlockDelta` (text),
 * `messageStop` (finish reason), `metadata` (usage); an exception frame becomes an `error` delta and ends the stream.
 * The stream is complete once `messageStop` arrived (a cut after it loses only the usage); one that ends before it,
 * a bad frame or a bad checksum is a malformed answer (`EMALFORMED`).
 */
export async function* readConverseStream(ex: Exchange, body: ReadableStream<Uint8Array>): AsyncGenerator<StreamDelta> {
  const { codec, chunked } = loadEventStream();
  let stopped = false;
  try {
    for await (const frame of chunked(framesWithin(bodyChunks(ex, body), ex.maxEventBytes))) {
      const msg = codec.decode(frame);
      const messageType = header(msg, ':message-type');
      if (messageType === 'event') {
        const out = eventDelta(ex, header(msg, ':event-type'), msg);
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
        throw new Error(`unknown :message-type ${String(messageType).slice(0, 40)}`);
      }
    }
    if (!stopped) throw new Error('the stream ended before messageStop (cut short)');
  } catch (e) {
    if (stopped && !(e instanceof CallCancelledError)) return;
    throw malformed(e);
  }
}

/**
 * Passes the bytes through while following the frame boundaries: each frame's declared total length (the first 4
 * bytes of its prelude, big-endian) must be between 16 bytes and `maxFrameBytes`; otherwise the stream is refused
 * before anything is buffered for that frame.
 */
export async function* framesWithin(source: AsyncIterable<Uint8Array>, maxFrameBytes: number): AsyncGenerator<Uint8Array> {
  let left = 0; // bytes of the current frame still to come; 0 at a frame boundary
  const prelude = new Uint8Array(4);
  let have = 0; // bytes of the next frame's length read so far
  for await (const chunk of source) {
    let at = 0;
    while (at < chunk.length) {
      if (left > 0) {
        const take = Math.min(left, chunk.length - at);
        left -= take;
        at += take;
        continue;
      }
      const take = Math.min(4 - have, chunk.length - at);
      prelude.set(chunk.subarray(at, at + take), have);
      have += take;
      at += take;
      if (have < 4) break;
      const length = new DataView(prelude.buffer).getUint32(0, false);
      have = 0;
      if (length < MIN_FRAME_BYTES) throw new ProviderTransportError('bedrock', `bedrock sent a malformed event stream: a frame declares ${length} bytes`, 'EMALFORMED');
      if (length > maxFrameBytes) {
        throw new ProviderTransportError('bedrock', `bedrock sent a stream frame of ${length} bytes, over ${maxFrameBytes} (maxEventBytes)`, 'ETOOLARGE');
      }
      left = length - 4;
    }
    yield chunk;
  }
}

function eventDelta(ex: Exchange, type: string | undefined, msg: EventStreamMessage): StreamDelta | undefined {
  switch (type) {
    case 'contentBlockDelta': {
      const delta = (json(msg) as { delta?: unknown }).delta;
      if (typeof delta !== 'object' || delta === null) throw new Error('contentBlockDelta has no delta object');
      const text = (delta as { text?: unknown }).text;
      if (text !== undefined && typeof text !== 'string') throw new Error('delta.text is not text');
      if (typeof text === 'string' && text.length > 0) return { delta: text };
      // Reasoning and tool-input deltas are tokens too (for the first-token deadline), though not text.
      ex.firstToken();
      return undefined;
    }
    case 'messageStop':
      return { finishReason: mapStopReason((json(msg) as { stopReason?: unknown }).stopReason) };
    case 'metadata': {
      const usage = (json(msg) as { usage?: unknown }).usage;
      return { usage: usageOf(typeof usage === 'object' && usage !== null ? usage : undefined) };
    }
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
  let doc: unknown;
  try {
    doc = JSON.parse(utf8.decode(msg.body)) as unknown;
  } catch {
    throw new Error('an event body is not JSON');
  }
  if (typeof doc !== 'object' || doc === null || Array.isArray(doc)) throw new Error('an event body is not a JSON object');
  return doc as Record<string, unknown>;
}

/** Transport, timeout and cancel errors pass through; anything else means the frames could not be read. */
function malformed(e: unknown): Error {
  if (e instanceof LlmRotateError) return e;
  const why = e instanceof Error ? e.message : String(e);
  return new ProviderTransportError('bedrock', `bedrock sent a malformed event stream: ${why.slice(0, 200)}`, 'EMALFORMED');
}
