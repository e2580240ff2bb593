import type { ServerResponse } from 'node:http';
import { FakeHttpServer, sendJson, sendSse, type RecordedRequest } from './fake-http';
import { anthropicWire } from './fault-wires';
import { isFault, serveFault, type Fault } from './faults';
import { ScriptedFake } from './scripted-fake';

export type LimitWindow = 'requests' | 'tokens' | 'input-tokens' | 'output-tokens';

/** One rate-limit window as the fake reports it in `anthropic-ratelimit-<window>-*` headers. */
export interface WindowState {
  remaining: number;
  /** Seconds from the fake's `now()` until the window is full again. */
  resetInS: number;
  limit?: number;
}

/** A 429 with chosen headers: `retryAfterS: null` leaves out `retry-after`. */
export interface RateLimitScript {
  retryAfterS?: number | null;
  windows?: Partial<Record<LimitWindow, WindowState>>;
}

/** What the fake does for one request made with a given key. */
export type AnthropicBehavior =
  | 'ok'
  | 'rate_limit'
  | 'overloaded'
  | 'auth'
  | 'permission'
  | 'billing'
  | 'server_error'
  | 'bad_request'
  | 'not_found'
  | 'too_large'
  | 'timeout'
  | 'malformed'
  | 'reset'
  | 'refusal'
  | 'stream_error_first'
  | 'stream_error_midway'
  | 'stream_truncated'
  | { rateLimit: RateLimitScript }
  | { okWithLimits: Partial<Record<LimitWindow, WindowState>> }
  | { status: number; headers?: Record<string, string>; body?: unknown }
  | Fault;

export interface AnthropicFakeOptions {
  /** The assistant's answer (streamed word by word). Default `Hello from <model>`. */
  reply?: string;
  /** The fake's clock for `…-reset` times (use the test's FakeClock). Default `Date.now`. */
  now?: () => number;
  /** Pause between SSE events. */
  gapMs?: number;
}

const INPUT_TOKENS = 12;
const WINDOW_LIMITS: Record<LimitWindow, number> = { requests: 50, tokens: 90_000, 'input-tokens': 50_000, 'output-tokens': 10_000 };

/** The API version whose requests reject sampling parameters and accept `system` turns in `messages`. */
const VERSION_2026 = '2026-10-21';

/**
 * A fake of Anthropic's Messages API (`POST /v1/messages`, JSON and SSE) on 127.0.0.1.
 *
 * It checks what the real API checks and that matters to an adapter, with Anthropic's messages and statuses:
 * an API key (`x-api-key`, or `Authorization: Bearer`, which `@anthropic-ai/sdk` 1.x sends; 401 when absent),
 * `anthropic-version` (400 when absent), `model`, `max_tokens`, non-empty text, `temperature`/`top_p` in
 * [0, 1]; under `anthropic-version: 2023-06-01` no `system` role inside `messages`; under `2026-10-21` no
 * `temperature`/`top_p`/`top_k` at all. It also insists on alternating roles, which the public API now merges
 * for you but Bedrock/Vertex-hosted Claude and older gateways reject: the adapter must merge turns itself.
 *
 * Behaviour is scripted per API key like {@link OpenAiFake}: `script(key, 'rate_limit', 'ok')` answers the
 * first request with a 429, then 'ok' (the last entry repeats). The 401 of `'auth'` echoes the key on purpose,
 * so tests can prove the library scrubs it.
 */
export class AnthropicFake extends ScriptedFake<AnthropicBehavior> {

  protected constructor(
    http: FakeHttpServer,
    readonly options: AnthropicFakeOptions,
  ) {
    super(http, 'ok');
  }

  static start(options: AnthropicFakeOptions = {}): Promise<AnthropicFake> {
    return ScriptedFake.boot((http) => new AnthropicFake(http, options));
  }

  /** What `@anthropic-ai/sdk` calls `baseURL` (no `/v1`). */
  get baseUrl(): string {
    return this.http.url;
  }

  /** Requests made with `key` (in `x-api-key` or as a bearer token). */
  requestsOf(key: string): RecordedRequest[] {
    return this.http.requests.filter((r) => keyOf(r) === key);
  }

  hits(key: string): number {
    return this.requestsOf(key).length;
  }

  /** `anthropic-ratelimit-*` headers for the given windows (RFC 3339 resets from the fake's clock). */
  limitHeaders(windows: Partial<Record<LimitWindow, WindowState>>): Record<string, string> {
    const now = this.now();
    const h: Record<string, string> = {};
    for (const [w, s] of Object.entries(windows) as Array<[LimitWindow, WindowState]>) {
      h[`anthropic-ratelimit-${w}-limit`] = String(s.limit ?? WINDOW_LIMITS[w]);
      h[`anthropic-ratelimit-${w}-remaining`] = String(s.remaining);
      h[`anthropic-ratelimit-${w}-reset`] = new Date(now + s.resetInS * 1000).toISOString().replace('.000Z', 'Z');
    }
    return h;
  }

  private now(): number {
    return (this.options.now ?? Date.now)();
  }

  protected override async handle(req: RecordedRequest, res: ServerResponse): Promise<void> {
    const id = `req_fake${this.http.requests.length}`;
    if (req.method !== 'POST' || req.path.split('?')[0] !== '/v1/messages') {
      sendError(res, 404, 'not_found_error', 'Not Found', id);
      return;
    }
    const key = keyOf(req);
    if (key === undefined) {
      sendError(res, 401, 'authentication_error', 'x-api-key header is required', id);
      return;
    }
    if (typeof req.headers['anthropic-version'] !== 'string') {
      sendError(res, 400, 'invalid_request_error', 'anthropic-version: header is required', id);
      return;
    }
    const problem = validate(req);
    if (problem !== undefined) {
      sendError(res, 400, 'invalid_request_error', problem, id);
      return;
    }
    const body = req.json as WireBody;
    const b = this.scripts.next(key);
    if (isFault(b)) {
      await serveFault(res, b, anthropicWire(body.model), body.stream === true);
      return;
    }
    if (typeof b === 'object' && 'status' in b) {
      sendJson(res, b.status, b.body ?? { type: 'error', error: { type: 'api_error', message: `scripted ${b.status}` } }, { 'request-id': id, ...b.headers });
      return;
    }
    if (typeof b === 'object' && 'rateLimit' in b) {
      this.sendRateLimit(res, b.rateLimit, id);
      return;
    }
    switch (b) {
      case 'rate_limit':
        this.sendRateLimit(res, { retryAfterS: 20, windows: { requests: { remaining: 0, resetInS: 20 }, tokens: { remaining: 41_000, resetInS: 3 } } }, id);
        return;
      case 'overloaded':
        sendError(res, 529, 'overloaded_error', 'Overloaded', id);
        return;
      case 'auth':
        sendError(res, 401, 'authentication_error', `invalid x-api-key: ${key}`, id);
        return;
      case 'permission':
        sendError(res, 403, 'permission_error', 'Your API key does not have permission to use the specified resource.', id);
        return;
      case 'billing':
        sendError(res, 400, 'invalid_request_error', 'Your credit balance is too low to access the Anthropic API. Please go to Plans & Billing to upgrade or purchase credits.', id);
        return;
      case 'server_error':
        sendError(res, 500, 'api_error', 'Internal server error', id);
        return;
      case 'bad_request':
        sendError(res, 400, 'invalid_request_error', 'prompt is too long: 210000 tokens > 200000 maximum', id);
        return;
      case 'not_found':
        sendError(res, 404, 'not_found_error', `model: ${body.model}`, id);
        return;
      case 'too_large':
        sendError(res, 413, 'request_too_large', 'Request exceeds the maximum allowed number of bytes.', id);
        return;
      case 'timeout':
        return; // never answers; the client's deadline ends it
      case 'malformed':
        res.writeHead(200, { 'content-type': 'application/json', 'request-id': id });
        res.end('{"id":"msg_01","type":"message","content":[{"type":"te');
        return;
      case 'reset':
        res.socket?.destroy();
        return;
      default:
        break;
    }
    const okHeaders = {
      'request-id': id,
      ...this.limitHeaders(typeof b === 'object' && 'okWithLimits' in b ? b.okWithLimits : { requests: { remaining: 49, resetInS: 1 }, tokens: { remaining: 89_000, resetInS: 1 } }),
    };
    const answer = this.answer(body, b === 'refusal');
    if (body.stream === true) {
      await this.stream(res, body, answer, b, okHeaders);
      return;
    }
    sendJson(
      res,
      200,
      {
        id: 'msg_01FakeAnthropicMessage',
        type: 'message',
        role: 'assistant',
        model: body.model,
        content: [{ type: 'text', text: answer.text }],
        stop_reason: answer.stopReason,
        stop_sequence: answer.stopSequence,
        usage: { input_tokens: INPUT_TOKENS, cache_creation_input_tokens: 0, cache_read_input_tokens: 0, output_tokens: answer.outputTokens, service_tier: 'standard' },
      },
      okHeaders,
    );
  }

  /** The reply, cut by `stop_sequences` or `max_tokens` (one word = one token) as the real API would. */
  private answer(body: WireBody, refusal: boolean): Answer {
    if (refusal) return { text: '', stopReason: 'refusal', stopSequence: null, outputTokens: 1 };
    let text = this.options.reply ?? `Hello from ${body.model}`;
    let stopReason = 'end_turn';
    let stopSequence: string | null = null;
    for (const s of body.stop_sequences ?? []) {
      const at = text.indexOf(s);
      if (at >= 0) {
        text = text.slice(0, at);
        stopReason = 'stop_sequence';
        stopSequence = s;
      }
    }
    let words = text.split(/(?<= )/).filter((w) => w.length > 0);
    if (words.length > body.max_tokens) {
      words = words.slice(0, body.max_tokens);
      text = words.join('');
      stopReason = 'max_tokens';
      stopSequence = null;
    }
    return { text, stopReason, stopSequence, outputTokens: words.length };
  }

  private async stream(res: ServerResponse, body: WireBody, a: Answer, b: AnthropicBehavior, headers: Record<string, string>): Promise<void> {
    const ev = (event: string, data: Record<string, unknown>): { event: string; data: string } => ({ event, data: JSON.stringify({ type: event, ...data }) });
    const words = a.text.split(/(?<= )/).filter((w) => w.length > 0);
    const start = ev('message_start', {
      message: {
        id: 'msg_01FakeAnthropicStream',
        type: 'message',
        role: 'assistant',
        model: body.model,
        content: [],
        stop_reason: null,
        stop_sequence: null,
        usage: { input_tokens: INPUT_TOKENS, cache_creation_input_tokens: 0, cache_read_input_tokens: 0, output_tokens: 1, service_tier: 'standard' },
      },
    });
    const error = ev('error', { error: { type: 'overloaded_error', message: 'Overloaded' } });
    const blockStart = ev('content_block_start', { index: 0, content_block: { type: 'text', text: '' } });
    const deltas = words.map((w) => ev('content_block_delta', { index: 0, delta: { type: 'text_delta', text: w } }));
    const gapMs = this.options.gapMs ?? 2;
    if (b === 'stream_error_first') {
      await sendSse(res, [start, error], { headers, gapMs });
      return;
    }
    if (b === 'stream_error_midway') {
      await sendSse(res, [start, blockStart, ...deltas.slice(0, 2), error], { headers, gapMs });
      return;
    }
    const events = [
      start,
      blockStart,
      { event: 'ping', data: JSON.stringify({ type: 'ping' }) },
      ...deltas,
      ev('content_block_stop', { index: 0 }),
      ev('message_delta', { delta: { stop_reason: a.stopReason, stop_sequence: a.stopSequence }, usage: { output_tokens: a.outputTokens } }),
      ev('message_stop', {}),
    ];
    // A connection that closes cleanly before `message_stop`: the answer is incomplete.
    if (b === 'stream_truncated') {
      await sendSse(res, events.slice(0, 4), { headers, gapMs });
      return;
    }
    await sendSse(res, events, { headers, gapMs });
  }

  private sendRateLimit(res: ServerResponse, s: RateLimitScript, id: string): void {
    const headers: Record<string, string> = { 'request-id': id, ...this.limitHeaders(s.windows ?? {}) };
    if (s.retryAfterS !== null && s.retryAfterS !== undefined) headers['retry-after'] = String(s.retryAfterS);
    sendError(res, 429, 'rate_limit_error', 'This request would exceed the rate limit for your organization of 50 requests per minute.', id, headers);
  }
}

interface Answer {
  text: string;
  stopReason: string;
  stopSequence: string | null;
  outputTokens: number;
}

interface WireBody {
  model: string;
  max_tokens: number;
  messages: Array<{ role: string; content: unknown }>;
  system?: unknown;
  stream?: boolean;
  stop_sequences?: string[];
  temperature?: number;
  top_p?: number;
  top_k?: number;
}

function keyOf(r: RecordedRequest): string | undefined {
  const k = r.headers['x-api-key'];
  if (typeof k === 'string' && k !== '') return k;
  const auth = r.headers.authorization;
  return typeof auth === 'string' && auth.startsWith('Bearer ') && auth.length > 7 ? auth.slice(7) : undefined;
}

function sendError(res: ServerResponse, status: number, type: string, message: string, requestId: string, headers: Record<string, string> = {}): void {
  sendJson(res, status, { type: 'error', error: { type, message }, request_id: requestId }, { 'request-id': requestId, 'x-should-retry': String(status === 429 || status >= 500), ...headers });
}

/** The validation of the real Messages API that matters to an adapter; the message texts are Anthropic's. */
function validate(req: RecordedRequest): string | undefined {
  const b = req.json as Partial<WireBody> | undefined;
  if (b === undefined || b === null || typeof b !== 'object') return 'There was an error parsing the body of your request as JSON.';
  if (typeof b.model !== 'string' || b.model === '') return 'model: Field required';
  if (b.max_tokens === undefined) return 'max_tokens: Field required';
  if (!Number.isInteger(b.max_tokens) || b.max_tokens < 1) return 'max_tokens: Input should be a valid integer greater than or equal to 1';
  if (!Array.isArray(b.messages)) return 'messages: Field required';
  if (b.messages.length === 0) return 'messages: at least one message is required';
  if (b.system !== undefined && typeof b.system !== 'string' && !(Array.isArray(b.system) && b.system.every(isTextBlock))) {
    return 'system: Input should be a valid string or a list of text blocks';
  }
  const v2026 = String(req.headers['anthropic-version']) >= VERSION_2026;
  for (const [name, v] of [['temperature', b.temperature], ['top_p', b.top_p], ['top_k', b.top_k]] as const) {
    if (v === undefined) continue;
    if (v2026) return `${name}: Extra inputs are not permitted (removed in anthropic-version ${VERSION_2026})`;
    if (name !== 'top_k' && (typeof v !== 'number' || v < 0 || v > 1)) return `${name}: Input should be less than or equal to 1`;
  }
  if (b.stop_sequences !== undefined && !(Array.isArray(b.stop_sequences) && b.stop_sequences.every((s) => typeof s === 'string' && s.trim() !== ''))) {
    return 'stop_sequences: each stop sequence must be a non-empty string containing non-whitespace';
  }
  if (b.stream !== undefined && typeof b.stream !== 'boolean') return 'stream: Input should be a valid boolean';
  let prev: string | undefined;
  for (let i = 0; i < b.messages.length; i++) {
    const m = b.messages[i];
    if (m.role === 'system' && v2026) {
      if (!(typeof m.content === 'string' ? m.content !== '' : Array.isArray(m.content) && m.content.every(isTextBlock))) return `messages.${i}.content: Input should be a valid string or list of text blocks`;
      continue;
    }
    if (m.role === 'system') {
      return 'messages: Unexpected role "system". The Messages API accepts a top-level `system` parameter, not "system" as an input message role.';
    }
    if (m.role !== 'user' && m.role !== 'assistant') return `messages.${i}.role: Input should be 'user' or 'assistant'`;
    if (prev === m.role) {
      return `messages: roles must alternate between "user" and "assistant", but found multiple "${m.role}" roles in a row`;
    }
    prev = m.role;
    const finalAssistant = i === b.messages.length - 1 && m.role === 'assistant';
    if (typeof m.content === 'string') {
      if (m.content === '' && !finalAssistant) return `messages.${i}: all messages must have non-empty content except for the optional final assistant message`;
    } else if (Array.isArray(m.content)) {
      if (!m.content.every(isTextBlock)) return `messages.${i}.content: Input should be a valid list of content blocks`;
      if (m.content.some((c) => c.text === '')) return 'messages: text content blocks must be non-empty';
      if (m.content.length === 0 && !finalAssistant) return `messages.${i}: all messages must have non-empty content except for the optional final assistant message`;
    } else {
      return `messages.${i}.content: Input should be a valid string or list`;
    }
  }
  return undefined;
}

function isTextBlock(c: unknown): c is { type: 'text'; text: string } {
  return typeof c === 'object' && c !== null && (c as { type?: unknown }).type === 'text' && typeof (c as { text?: unknown }).text === 'string';
}
