import type { ServerResponse } from 'node:http';
import { FakeHttpServer, sendJson, sendSse, type RecordedRequest } from './fake-http';
import { openAiWire } from './fault-wires';
import { isFault, serveFault, type Fault } from './faults';
import { ScriptedFake } from './scripted-fake';

/** What the fake does for one request made with a given key. */
export type OpenAiBehavior =
  | 'ok'
  | 'rate_limit'
  | 'quota'
  | 'auth'
  | 'server_error'
  | 'bad_request'
  | 'context_length'
  | 'timeout'
  | 'malformed'
  | 'reset'
  | 'stream_error_midway'
  | 'stream_error_first'
  | 'stream_malformed'
  | { status: number; headers?: Record<string, string>; body?: unknown }
  | { ok: true; headers: Record<string, string> }
  | Fault;

export interface OpenAiFakeOptions {
  /** The assistant's answer (streamed word by word). */
  reply?: string;
  /** Headers on 429 answers (e.g. retry-after). */
  rateLimitHeaders?: Record<string, string>;
  /** Pause between SSE events. */
  gapMs?: number;
}

/**
 * A fake of the OpenAI chat-completions API (also Azure's deployment URLs and OpenRouter's paths) on 127.0.0.1.
 * Behaviour is scripted per API key: `script(key, 'rate_limit', 'ok')` answers the first request with a 429,
 * then 'ok' for the rest (the last entry repeats). Keys without a script answer 'ok'.
 */
export class OpenAiFake extends ScriptedFake<OpenAiBehavior> {

  protected constructor(
    http: FakeHttpServer,
    readonly options: OpenAiFakeOptions,
  ) {
    super(http, 'ok');
  }

  static start(options: OpenAiFakeOptions = {}): Promise<OpenAiFake> {
    return ScriptedFake.boot((http) => new OpenAiFake(http, options));
  }

  /** The base URL an OpenAI client would use (`…/v1`). */
  get baseUrl(): string {
    return `${this.http.url}/v1`;
  }

  /** How many requests were made with `key` (bearer or Azure api-key). */
  hits(key: string): number {
    return this.http.requests.filter((r) => keyOf(r) === key).length;
  }

  protected override async handle(req: RecordedRequest, res: ServerResponse): Promise<void> {
    if (req.method !== 'POST' || !/\/chat\/completions(\?|$)/.test(req.path)) {
      sendJson(res, 404, { error: { message: `Unknown path ${req.path}`, type: 'invalid_request_error' } });
      return;
    }
    const key = keyOf(req);
    if (key === undefined) {
      sendJson(res, 401, { error: { message: 'You didn\'t provide an API key.', type: 'invalid_request_error', code: null } });
      return;
    }
    const body = (req.json ?? {}) as { model?: string; stream?: boolean; messages?: unknown[] };
    const b = this.scripts.next(key);
    const model = body.model ?? (/deployments\/([^/]+)\//.exec(req.path)?.[1] ?? 'unknown');
    if (isFault(b)) {
      await serveFault(res, b, openAiWire(model), body.stream === true);
      return;
    }
    if (typeof b === 'object' && 'status' in b) {
      sendJson(res, b.status, b.body ?? { error: { message: `scripted ${b.status}` } }, b.headers);
      return;
    }
    switch (b) {
      case 'rate_limit':
        sendJson(
          res,
          429,
          { error: { message: 'Rate limit reached for gpt-4o-mini on requests per min (RPM): Limit 3, Used 3, Requested 1.', type: 'requests', code: 'rate_limit_exceeded' } },
          { 'x-ratelimit-remaining-requests': '0', 'x-ratelimit-reset-requests': '20s', ...this.options.rateLimitHeaders },
        );
        return;
      case 'quota':
        sendJson(res, 429, { error: { message: 'You exceeded your current quota, please check your plan and billing details.', type: 'insufficient_quota', code: 'insufficient_quota' } });
        return;
      case 'auth':
        sendJson(res, 401, { error: { message: `Incorrect API key provided: ${key}. You can find your API key at https://platform.openai.com/account/api-keys.`, type: 'invalid_request_error', code: 'invalid_api_key' } });
        return;
      case 'server_error':
        sendJson(res, 500, { error: { message: 'The server had an error while processing your request. Sorry about that!', type: 'server_error' } });
        return;
      case 'bad_request':
        sendJson(res, 400, { error: { message: "Invalid value for 'temperature'", type: 'invalid_request_error', param: 'temperature', code: 'invalid_value' } });
        return;
      case 'context_length':
        sendJson(res, 400, { error: { message: "This model's maximum context length is 128000 tokens.", type: 'invalid_request_error', param: 'messages', code: 'context_length_exceeded' } });
        return;
      case 'timeout':
        return; // never answers; the client's deadline ends it
      case 'malformed':
        res.writeHead(200, { 'content-type': 'application/json' });
        res.end('{"id": "chatcmpl-1", "choices": [ {"mess');
        return;
      case 'reset':
        res.socket?.destroy();
        return;
      default:
        break;
    }
    const extraHeaders = typeof b === 'object' && 'ok' in b ? b.headers : {};
    const reply = this.options.reply ?? `Hello from ${model}`;
    const usage = { prompt_tokens: 9, completion_tokens: reply.split(' ').length, total_tokens: 9 + reply.split(' ').length };
    if (body.stream) {
      const words = reply.split(/(?<= )/);
      const base = { id: 'chatcmpl-fake', object: 'chat.completion.chunk', created: 1_700_000_000, model };
      const events = [
        { data: JSON.stringify({ ...base, choices: [{ index: 0, delta: { role: 'assistant', content: '' }, finish_reason: null }] }) },
        ...words.map((w) => ({ data: JSON.stringify({ ...base, choices: [{ index: 0, delta: { content: w }, finish_reason: null }] }) })),
        { data: JSON.stringify({ ...base, choices: [{ index: 0, delta: {}, finish_reason: 'stop' }] }) },
        { data: JSON.stringify({ ...base, choices: [], usage }) },
        { data: '[DONE]' },
      ];
      if (b === 'stream_error_midway') {
        await sendSse(res, [...events.slice(0, 3), { data: JSON.stringify({ error: { message: 'upstream overloaded', code: 502 } }) }], { gapMs: this.options.gapMs ?? 2 });
        return;
      }
      if (b === 'stream_error_first') {
        await sendSse(res, [events[0], { data: JSON.stringify({ error: { message: 'The server is overloaded', type: 'server_error', code: 503 } }) }]);
        return;
      }
      if (b === 'stream_malformed') {
        await sendSse(res, [{ data: '{"id": "chatcmpl-fake", "choices": [{"delta": {"content": "tru' }, ...events]);
        return;
      }
      await sendSse(res, events, { headers: extraHeaders, gapMs: this.options.gapMs ?? 2 });
      return;
    }
    sendJson(
      res,
      200,
      {
        id: 'chatcmpl-fake',
        object: 'chat.completion',
        created: 1_700_000_000,
        model,
        choices: [{ index: 0, message: { role: 'assistant', content: reply, refusal: null }, logprobs: null, finish_reason: 'stop' }],
        usage,
      },
      extraHeaders,
    );
  }
}

function keyOf(r: RecordedRequest): string | undefined {
  const auth = r.headers.authorization;
  if (typeof auth === 'string' && auth.startsWith('Bearer ')) return auth.slice(7);
  const k = r.headers['api-key'];
  return typeof k === 'string' ? k : undefined;
}
