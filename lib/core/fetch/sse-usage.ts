import { classifyThrown } from '../classify';
import type { ClassifiedError } from '../providers/provider.interfaces';
import type { ErrorKind } from '../types';
import { num, obj, parse, Tokens, type BodyTracker, type BodyVerdict } from './usage-tokens';

/** An SSE line longer than this is not inspected (it is still passed to the client untouched). */
const SSE_LINE_MAX = 4 * 1024 * 1024;
const USAGE_KEY = /"(?:usage|usageMetadata)"\s*:\s*\{/;
const TYPE_FIRST = /^\{\s*"type"\s*:\s*"([^"]+)"/;

type SseEnd = 'done' | 'message_stop' | 'response_end';

/**
 * Server-sent events, split into lines as they arrive (WHATWG rules: `event:` and `data:` fields, CRLF or LF). An
 * event is parsed only when it can matter: it carries usage, or it is an error. The first event says which wire
 * format this is, hence how it must end: OpenAI chat chunks with `[DONE]`, Anthropic's `message_start` with
 * `message_stop`, the Responses API's `response.created` with `response.completed` / `response.incomplete`.
 */
export class SseTracker implements BodyTracker {
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
