import { classifyThrown } from '../classify';
import { loadEventStream, type EventStreamCodecLike } from '../providers/bedrock/aws-libs';
import { classifyStreamException } from '../providers/bedrock/bedrock-errors';
import type { ClassifiedError } from '../providers/provider.interfaces';
import type { ErrorKind, Usage } from '../types';

/** What a successful answer's body showed once it was read to the end. */
export interface BodyVerdict {
  /** Tokens, when the body carried usage. */
  readonly usage: Usage | undefined;
  /** An error event inside a 200 stream (an overloaded model midway, a rate limit at start, …). */
  readonly error?: ClassifiedError;
  /** Why the body does not end the way its wire format says (no `[DONE]`, no `message_stop`, a JSON that does not parse). */
  readonly incomplete?: string;
}

/** Watches the bytes of a body as the client reads them; never holds more than a bounded window of it. */
export interface BodyTracker {
  push(chunk: Uint8Array): void;
  finish(): BodyVerdict;
  /**
   * The verdict the bytes read so far already force, for a client that stops reading early: the end its wire format
   * defines (`[DONE]`, `message_stop`, `response.completed`, `messageStop`: some clients stop there without waiting
   * for the connection to close, and had the whole answer), or an error event (clients stop there too). Undefined
   * while the body is still inconclusive: the client cancelled an answer in progress.
   */
  conclusive(): BodyVerdict | undefined;
}

/** A JSON body up to this size is parsed whole at its end; a larger one is searched for its usage in its last bytes. */
const JSON_WHOLE_MAX = 256 * 1024;
const JSON_TAIL = 32 * 1024;
/** An SSE line longer than this is not inspected (it is still passed to the client untouched). */
const SSE_LINE_MAX = 4 * 1024 * 1024;
const USAGE_KEY = /"(?:usage|usageMetadata)"\s*:\s*\{/;
const USAGE_KEY_G = /"(?:usage|usageMetadata)"\s*:\s*\{/g;
const TYPE_FIRST = /^\{\s*"type"\s*:\s*"([^"]+)"/;
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

/** Token counts of one parsed answer, event or chunk, whatever the wire format. */
class Tokens {
  input: number | undefined;
  output: number | undefined;

  /**
   * `usage` (OpenAI chat/embeddings `prompt_tokens`/`completion_tokens`, Responses and Anthropic `input_tokens`/
   * `output_tokens` with Anthropic's cache counts added, Bedrock `inputTokens`/`outputTokens`), `usageMetadata`
   * (Gemini, thinking tokens counted as output), under `response` (Responses stream) or `message` (Anthropic's
   * `message_start`), and Titan embeddings' `inputTextTokenCount`. Later values replace earlier ones (streams repeat
   * cumulative counts).
   */
  take(doc: unknown): void {
    if (typeof doc !== 'object' || doc === null) return;
    const o = doc as Record<string, unknown>;
    const u = (obj(o.usage) ?? obj(o.usageMetadata) ?? obj(obj(o.response)?.usage) ?? obj(obj(o.message)?.usage)) as Record<string, unknown> | undefined;
    if (u === undefined) {
      const titan = num(o.inputTextTokenCount) ?? num(o.inputTokenCount);
      if (titan !== undefined) this.input = titan;
      return;
    }
    const anthropicIn = num(u.input_tokens);
    const input =
      num(u.prompt_tokens) ??
      (anthropicIn !== undefined ? anthropicIn + (num(u.cache_creation_input_tokens) ?? 0) + (num(u.cache_read_input_tokens) ?? 0) : undefined) ??
      num(u.inputTokens) ??
      num(u.promptTokenCount);
    const candidates = num(u.candidatesTokenCount);
    const thoughts = num(u.thoughtsTokenCount);
    const output =
      num(u.completion_tokens) ??
      num(u.output_tokens) ??
      num(u.outputTokens) ??
      (candidates !== undefined || thoughts !== undefined ? (candidates ?? 0) + (thoughts ?? 0) : undefined);
    if (input !== undefined) this.input = input;
    if (output !== undefined) this.output = output;
  }

  get usage(): Usage | undefined {
    if (this.input === undefined && this.output === undefined) return undefined;
    return { inputTokens: this.input ?? 0, outputTokens: this.output ?? 0 };
  }
}

/** A JSON answer: parsed whole when small, else its usage is looked for in its last {@link JSON_TAIL} characters. */
class JsonTracker implements BodyTracker {
  private readonly decoder = new TextDecoder();
  private parts: string[] = [];
  private size = 0;
  private tail: string | undefined;

  push(chunk: Uint8Array): void {
    this.add(this.decoder.decode(chunk, { stream: true }));
  }

  conclusive(): undefined {
    return undefined;
  }

  finish(): BodyVerdict {
    this.add(this.decoder.decode());
    const tokens = new Tokens();
    if (this.tail !== undefined) {
      tokens.take(usageInTail(this.tail));
      return { usage: tokens.usage };
    }
    const text = this.parts.join('');
    this.parts = [];
    if (text.trim() === '') return { usage: undefined };
    let doc: unknown;
    try {
      doc = JSON.parse(text);
    } catch {
      return { usage: undefined, incomplete: 'the JSON answer does not parse' };
    }
    // Gemini's streamGenerateContent without alt=sse answers an array of chunks: the last one has the totals.
    tokens.take(Array.isArray(doc) ? doc[doc.length - 1] : doc);
    return { usage: tokens.usage };
  }

  private add(t: string): void {
    if (t === '') return;
    if (this.tail === undefined) {
      this.parts.push(t);
      this.size += t.length;
      if (this.size > JSON_WHOLE_MAX) {
        this.tail = this.parts.join('').slice(-JSON_TAIL);
        this.parts = [];
      }
    } else {
      const s = this.tail + t;
      this.tail = s.length > JSON_TAIL ? s.slice(-JSON_TAIL) : s;
    }
  }
}

/** The last `"usage": {…}` object of a text window, parsed; `{ inputTextTokenCount }` when only that is there. */
function usageInTail(tail: string): unknown {
  let last = -1;
  let keyName = '';
  USAGE_KEY_G.lastIndex = 0;
  for (let m = USAGE_KEY_G.exec(tail); m !== null; m = USAGE_KEY_G.exec(tail)) {
    last = m.index + m[0].length - 1;
    keyName = m[0].startsWith('"usageMetadata"') ? 'usageMetadata' : 'usage';
  }
  if (last >= 0) {
    const end = objectEnd(tail, last);
    if (end > 0) {
      try {
        return { [keyName]: JSON.parse(tail.slice(last, end + 1)) as unknown };
      } catch {
        return undefined;
      }
    }
  }
  const titan = /"inputTextTokenCount"\s*:\s*(\d+)/.exec(tail);
  return titan === null ? undefined : { inputTextTokenCount: Number(titan[1]) };
}

/** Index of the `}` closing the object that opens at `start` (strings skipped), or -1. */
function objectEnd(s: string, start: number): number {
  let depth = 0;
  for (let i = start; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c === 0x22) {
      for (i++; i < s.length; i++) {
        const d = s.charCodeAt(i);
        if (d === 0x5c) i++;
        else if (d === 0x22) break;
      }
    } else if (c === 0x7b) depth++;
    else if (c === 0x7d && --depth === 0) return i;
  }
  return -1;
}

type SseEnd = 'done' | 'message_stop' | 'response_end';

/**
 * Server-sent events, split into lines as they arrive (WHATWG rules: `event:` and `data:` fields, CRLF or LF). An
 * event is parsed only when it can matter: it carries usage, or it is an error. The first event says which wire
 * format this is, hence how it must end: OpenAI chat chunks with `[DONE]`, Anthropic's `message_start` with
 * `message_stop`, the Responses API's `response.created` with `response.completed` / `response.incomplete`.
 */
class SseTracker implements BodyTracker {
  private readonly decoder = new TextDecoder();
  private readonly tokens = new Tokens();
  private buf = '';
  private overflow = false;
  private event = '';
  private data: string | undefined;
  private first = true;
  private expect: SseEnd | undefined;
  private ended = false;
  private error: ClassifiedError | undefined;

  push(chunk: Uint8Array): void {
    this.feed(this.decoder.decode(chunk, { stream: true }));
  }

  conclusive(): BodyVerdict | undefined {
    if (this.error !== undefined) return { usage: this.tokens.usage, error: this.error };
    return this.expect !== undefined && this.ended ? { usage: this.tokens.usage } : undefined;
  }

  finish(): BodyVerdict {
    this.feed(this.decoder.decode());
    // Lenient like the clients: a last event without its blank line still counts.
    if (!this.overflow && this.buf !== '') this.line(this.buf.endsWith('\r') ? this.buf.slice(0, -1) : this.buf);
    this.buf = '';
    this.dispatch();
    const usage = this.tokens.usage;
    if (this.error !== undefined) return { usage, error: this.error };
    if (this.expect !== undefined && !this.ended) return { usage, incomplete: `the stream ended before ${END_NAMES[this.expect]}` };
    return { usage };
  }

  private feed(text: string): void {
    if (text === '') return;
    const s = this.buf === '' ? text : this.buf + text;
    let start = 0;
    const n = s.length;
    for (let i = 0; i < n; i++) {
      const c = s.charCodeAt(i);
      if (c !== 0x0a && c !== 0x0d) continue;
      if (c === 0x0d && i === n - 1) break; // a CRLF may be split across chunks
      if (this.overflow) this.overflow = false;
      else this.line(s.slice(start, i));
      if (c === 0x0d && s.charCodeAt(i + 1) === 0x0a) i++;
      start = i + 1;
    }
    this.buf = start === 0 ? s : s.slice(start);
    if (this.buf.length > SSE_LINE_MAX) {
      this.buf = '';
      this.overflow = true;
    }
  }

  private line(l: string): void {
    if (l === '') {
      this.dispatch();
      return;
    }
    if (l.charCodeAt(0) === 0x3a) return; // a comment
    const colon = l.indexOf(':');
    const name = colon < 0 ? l : l.slice(0, colon);
    let value = colon < 0 ? '' : l.slice(colon + 1);
    if (value.charCodeAt(0) === 0x20) value = value.slice(1);
    if (name === 'data') this.data = this.data === undefined ? value : `${this.data}\n${value}`;
    else if (name === 'event') this.event = value;
  }

  private dispatch(): void {
    const data = this.data;
    const name = this.event;
    this.data = undefined;
    this.event = '';
    if (data === undefined) return;
    const type = name !== '' && name !== 'message' ? name : TYPE_FIRST.exec(data)?.[1];
    if (this.first) {
      this.first = false;
      if (type === 'message_start') this.expect = 'message_stop';
      else if (type === 'response.created') this.expect = 'response_end';
      else if (data.includes('"chat.completion.chunk"')) this.expect = 'done';
    }
    if (data === '[DONE]') {
      if (this.expect === 'done') this.ended = true;
      return;
    }
    if (type === 'message_stop' || type === 'response.completed' || type === 'response.incomplete') this.ended = true;
    if (type === 'error' || type === 'response.failed' || data.includes('"error"')) {
      const doc = parse(data);
      const err = inBandError(type, doc);
      if (err !== undefined) {
        if (this.error === undefined) this.error = err;
        return;
      }
      this.tokens.take(doc);
      return;
    }
    if (USAGE_KEY.test(data)) this.tokens.take(parse(data));
  }
}

const END_NAMES: Readonly<Record<SseEnd, string>> = { done: '[DONE]', message_stop: 'message_stop', response_end: 'response.completed' };

/**
 * An error event of a 200 stream: OpenAI's and Gemini's `{"error": {…}}` chunks, Anthropic's `event: error`, the
 * Responses API's `error` and `response.failed`. Classified like a thrown vendor error (status, error type, RPC status).
 */
function inBandError(type: string | undefined, doc: unknown): ClassifiedError | undefined {
  if (typeof doc !== 'object' || doc === null) return type === 'error' ? { kind: 'transient', status: 500, message: 'stream error event' } : undefined;
  const o = doc as Record<string, unknown>;
  let inner: Record<string, unknown> | undefined;
  if (type === 'response.failed') inner = obj(obj(o.response)?.error) ?? {};
  else if (obj(o.error) !== undefined) inner = obj(o.error);
  else if (type === 'error') inner = o;
  if (inner === undefined) return undefined;
  const code = typeof inner.code === 'string' ? inner.code : typeof inner.type === 'string' ? inner.type : '';
  let kind: ErrorKind;
  if (/rate_limit|quota|RESOURCE_EXHAUSTED/i.test(`${code} ${String(inner.status ?? '')}`)) kind = 'rate_limit';
  else {
    const k = classifyThrown(inner, 0).kind;
    kind = k === 'success' || k === 'cancelled' ? 'transient' : k;
  }
  const status = num(inner.code) ?? num(inner.status) ?? DEFAULT_STATUS[kind];
  const message = typeof inner.message === 'string' ? inner.message : `stream error${code ? ` (${code})` : ''}`;
  return { kind, status, message };
}

const DEFAULT_STATUS: Readonly<Record<ErrorKind, number>> = { rate_limit: 429, auth: 401, bad_request: 400, transient: 500 };

/**
 * AWS event-stream frames (Bedrock ConverseStream): cut by their length prefix, decoded (CRCs checked) by the AWS
 * SDK's own codec when it is installed. `metadata` carries usage, `messageStop` ends a Converse stream that began
 * with `messageStart`, an exception frame is an error.
 */
class EventStreamTracker implements BodyTracker {
  private readonly tokens = new Tokens();
  private codec: EventStreamCodecLike | undefined | null;
  private buf = new Uint8Array(0);
  private converse = false;
  private stopped = false;
  private error: ClassifiedError | undefined;
  private broken: string | undefined;

  push(chunk: Uint8Array): void {
    if (this.codec === null || this.broken !== undefined) return;
    const merged = new Uint8Array(this.buf.length + chunk.length);
    merged.set(this.buf, 0);
    merged.set(chunk, this.buf.length);
    let off = 0;
    while (merged.length - off >= 12) {
      const total = ((merged[off] << 24) | (merged[off + 1] << 16) | (merged[off + 2] << 8) | merged[off + 3]) >>> 0;
      if (total < 16) {
        this.broken = 'a malformed event-stream frame';
        return;
      }
      if (merged.length - off < total) break;
      this.frame(merged.subarray(off, off + total));
      off += total;
    }
    this.buf = merged.slice(off);
  }

  conclusive(): BodyVerdict | undefined {
    if (this.error !== undefined) return { usage: this.tokens.usage, error: this.error };
    return this.converse && this.stopped && this.broken === undefined ? { usage: this.tokens.usage } : undefined;
  }

  finish(): BodyVerdict {
    const usage = this.tokens.usage;
    if (this.error !== undefined) return { usage, error: this.error };
    if (this.broken !== undefined) return { usage, incomplete: this.broken };
    if (this.codec !== null && (this.buf.length > 0 || (this.converse && !this.stopped))) return { usage, incomplete: 'the stream ended before messageStop' };
    return { usage };
  }

  private frame(bytes: Uint8Array): void {
    if (this.codec === undefined) {
      try {
        this.codec = loadEventStream().codec;
      } catch {
        this.codec = null; // the optional codec is not installed: no usage, the body still passes through
        return;
      }
    }
    if (this.codec === null) return;
    let msg;
    try {
      msg = this.codec.decode(bytes);
    } catch {
      this.broken = 'a malformed event-stream frame';
      return;
    }
    const header = (name: string): string | undefined => {
      const h = msg.headers[name];
      return h !== undefined && typeof h.value === 'string' ? h.value : undefined;
    };
    const kind = header(':message-type');
    if (kind === 'exception' || kind === 'error') {
      if (this.error === undefined) {
        const type = header(':exception-type') ?? header(':error-code') ?? 'internalServerException';
        this.error = classifyStreamException(type, new TextDecoder().decode(msg.body));
      }
      return;
    }
    const event = header(':event-type');
    if (event === 'messageStart') this.converse = true;
    else if (event === 'messageStop') this.stopped = true;
    else if (event === 'metadata') this.tokens.take(parse(new TextDecoder().decode(msg.body)));
  }
}

function parse(text: string): unknown {
  try {
    return JSON.parse(text) as unknown;
  } catch {
    return undefined;
  }
}

function obj(v: unknown): Record<string, unknown> | undefined {
  return typeof v === 'object' && v !== null && !Array.isArray(v) ? (v as Record<string, unknown>) : undefined;
}

function num(v: unknown): number | undefined {
  return typeof v === 'number' && Number.isFinite(v) ? v : undefined;
}
