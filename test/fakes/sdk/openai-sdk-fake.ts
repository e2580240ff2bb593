import type { ServerResponse } from 'node:http';
import { sendJson, type RecordedRequest } from '../fake-http';
import { OpenAiFake, type OpenAiBehavior, type OpenAiFakeOptions } from '../openai-fake';

export interface OpenAiSdkFakeOptions extends OpenAiFakeOptions {
  /** Responses API streams: destroy the connection after this many events (a body that breaks mid-way). */
  cutResponsesStreamAfter?: number;
}

/** The tool call every fake answers a request with tools with (the first tool's name, these arguments). */
export const TOOL_ARGS = { city: 'Paris' };
export const TRANSCRIPT = 'a fake transcription';
const PROMPT_TOKENS = 9;

/**
 * The OpenAI fake extended with what the official clients and the AI SDKs call besides plain chat completions:
 * chat completions with tools (a `tool_calls` answer), the Responses API (`POST …/responses`, JSON and SSE, text and
 * function calls: the AI SDK's default for `openai(model)` and `azure(deployment)`), embeddings (float or base64, as
 * the `openai` client asks by default) and audio transcriptions (multipart). Azure's deployment URLs and `api-key`
 * header work on every path. Plain chat completions are the base fake's. Scripted error behaviours apply to every path.
 */
export class OpenAiSdkFake extends OpenAiFake {
  static override start(options: OpenAiSdkFakeOptions = {}): Promise<OpenAiSdkFake> {
    return OpenAiSdkFake.boot((http) => new OpenAiSdkFake(http, options));
  }

  /** The embedding the fake answers for the `index`-th input `text` (values exact in float32, so base64 round-trips). */
  static vectorFor(index: number, text: string): number[] {
    return [index + 1, text.length, 0.5, -0.25];
  }

  private get sdkOptions(): OpenAiSdkFakeOptions {
    return this.options;
  }

  protected override async handle(req: RecordedRequest, res: ServerResponse): Promise<void> {
    const path = req.path.split('?')[0];
    const body = (req.json ?? {}) as Record<string, unknown>;
    const tools = Array.isArray(body.tools) && body.tools.length > 0;
    if (req.method === 'POST' && path.endsWith('/chat/completions') && !tools) {
      await super.handle(req, res);
      return;
    }
    const route = ROUTES.find((r) => path.endsWith(r));
    if (req.method !== 'POST' || route === undefined) {
      sendJson(res, 404, { error: { message: `Unknown path ${req.path}`, type: 'invalid_request_error' } });
      return;
    }
    const key = keyOf(req);
    if (key === undefined) {
      sendJson(res, 401, { error: { message: "You didn't provide an API key.", type: 'invalid_request_error', code: null } });
      return;
    }
    if (scriptedError(res, this.scripts.next(key), key, this.sdkOptions)) return;
    switch (route) {
      case '/chat/completions':
        this.toolChat(body, res);
        return;
      case '/responses':
        await this.responses(body, res);
        return;
      case '/embeddings':
        this.embeddings(body, res);
        return;
      case '/audio/transcriptions':
        this.transcription(req, res);
        return;
    }
  }

  private reply(model: string): string {
    return this.options.reply ?? `Hello from ${model}`;
  }

  private toolChat(body: Record<string, unknown>, res: ServerResponse): void {
    const model = String(body.model ?? 'unknown');
    const name = toolName(body.tools);
    sendJson(res, 200, {
      id: 'chatcmpl-fake-tool',
      object: 'chat.completion',
      created: 1_700_000_000,
      model,
      choices: [
        {
          index: 0,
          message: { role: 'assistant', content: null, refusal: null, tool_calls: [{ id: 'call_fake1', type: 'function', function: { name, arguments: JSON.stringify(TOOL_ARGS) } }] },
          logprobs: null,
          finish_reason: 'tool_calls',
        },
      ],
      usage: { prompt_tokens: PROMPT_TOKENS, completion_tokens: 7, total_tokens: PROMPT_TOKENS + 7 },
    });
  }

  /** The Responses API: a message with the reply, or a function call when the request has tools. */
  private async responses(body: Record<string, unknown>, res: ServerResponse): Promise<void> {
    const model = String(body.model ?? 'unknown');
    const reply = this.reply(model);
    const words = reply.split(/(?<= )/);
    const usage = { input_tokens: PROMPT_TOKENS, input_tokens_details: { cached_tokens: 0 }, output_tokens: words.length, output_tokens_details: { reasoning_tokens: 0 }, total_tokens: PROMPT_TOKENS + words.length };
    const tools = Array.isArray(body.tools) && body.tools.length > 0;
    const item = tools
      ? { type: 'function_call', id: 'fc_fake1', call_id: 'call_fake1', name: toolName(body.tools), arguments: JSON.stringify(TOOL_ARGS), status: 'completed' }
      : { type: 'message', id: 'msg_fake1', status: 'completed', role: 'assistant', content: [{ type: 'output_text', text: reply, annotations: [], logprobs: [] }] };
    const response = (status: string, output: unknown[], u: unknown) => ({
      id: 'resp_fake1',
      object: 'response',
      created_at: 1_700_000_000,
      status,
      error: null,
      incomplete_details: null,
      model,
      output,
      parallel_tool_calls: true,
      tool_choice: 'auto',
      tools: [],
      usage: u,
    });
    if (body.stream !== true) {
      sendJson(res, 200, response('completed', [item], usage));
      return;
    }
    let seq = 0;
    const ev = (type: string, data: Record<string, unknown>) => ({ event: type, data: JSON.stringify({ type, sequence_number: seq++, ...data }) });
    const events = [ev('response.created', { response: response('in_progress', [], null) }), ev('response.in_progress', { response: response('in_progress', [], null) })];
    if (tools) {
      const added = { ...item, arguments: '', status: 'in_progress' };
      events.push(
        ev('response.output_item.added', { output_index: 0, item: added }),
        ev('response.function_call_arguments.delta', { item_id: 'fc_fake1', output_index: 0, delta: JSON.stringify(TOOL_ARGS) }),
        ev('response.function_call_arguments.done', { item_id: 'fc_fake1', output_index: 0, arguments: JSON.stringify(TOOL_ARGS) }),
        ev('response.output_item.done', { output_index: 0, item }),
      );
    } else {
      events.push(
        ev('response.output_item.added', { output_index: 0, item: { type: 'message', id: 'msg_fake1', status: 'in_progress', role: 'assistant', content: [] } }),
        ev('response.content_part.added', { item_id: 'msg_fake1', output_index: 0, content_index: 0, part: { type: 'output_text', text: '', annotations: [] } }),
        ...words.map((w) => ev('response.output_text.delta', { item_id: 'msg_fake1', output_index: 0, content_index: 0, delta: w, logprobs: [] })),
        ev('response.output_text.done', { item_id: 'msg_fake1', output_index: 0, content_index: 0, text: reply, logprobs: [] }),
        ev('response.content_part.done', { item_id: 'msg_fake1', output_index: 0, content_index: 0, part: { type: 'output_text', text: reply, annotations: [] } }),
        ev('response.output_item.done', { output_index: 0, item }),
      );
    }
    events.push(ev('response.completed', { response: response('completed', [item], usage) }));
    const gapMs = this.options.gapMs ?? 2;
    res.writeHead(200, { 'content-type': 'text/event-stream; charset=utf-8', 'cache-control': 'no-cache' });
    const cut = this.sdkOptions.cutResponsesStreamAfter;
    for (let i = 0; i < events.length; i++) {
      if (res.destroyed) return;
      if (cut !== undefined && i >= cut) {
        res.socket?.destroy();
        return;
      }
      res.write(`event: ${events[i].event}\ndata: ${events[i].data}\n\n`);
      await new Promise((r) => setTimeout(r, gapMs));
    }
    res.end();
  }

  /** `input` as a string or a list of strings; `encoding_format: 'base64'` (the `openai` client's default) or floats. */
  private embeddings(body: Record<string, unknown>, res: ServerResponse): void {
    const inputs = Array.isArray(body.input) ? (body.input as unknown[]).map(String) : [String(body.input ?? '')];
    const base64 = body.encoding_format === 'base64';
    const data = inputs.map((text, index) => {
      const v = OpenAiSdkFake.vectorFor(index, text);
      return { object: 'embedding', index, embedding: base64 ? Buffer.from(new Float32Array(v).buffer).toString('base64') : v };
    });
    const tokens = inputs.reduce((n, t) => n + t.split(/\s+/).filter(Boolean).length, 0);
    sendJson(res, 200, { object: 'list', data, model: String(body.model ?? 'unknown'), usage: { prompt_tokens: tokens, total_tokens: tokens } });
  }

  /** A multipart upload with a `file` and a `model` field. */
  private transcription(req: RecordedRequest, res: ServerResponse): void {
    const ct = String(req.headers['content-type'] ?? '');
    const boundary = /boundary=("?)([^";]+)\1/.exec(ct)?.[2];
    if (!ct.startsWith('multipart/form-data') || boundary === undefined || !req.body.includes(`--${boundary}`) || !/name="file"; filename="/.test(req.body)) {
      sendJson(res, 400, { error: { message: 'Expected a multipart/form-data body with a file', type: 'invalid_request_error', param: 'file', code: null } });
      return;
    }
    const model = /name="model"\r\n\r\n([^\r]+)/.exec(req.body)?.[1];
    if (model === undefined) {
      sendJson(res, 400, { error: { message: "you must provide a model parameter", type: 'invalid_request_error', param: 'model', code: null } });
      return;
    }
    sendJson(res, 200, { text: TRANSCRIPT, usage: { type: 'duration', seconds: 2 } });
  }
}

const ROUTES = ['/chat/completions', '/responses', '/embeddings', '/audio/transcriptions'] as const;

function toolName(tools: unknown): string {
  const t = Array.isArray(tools) ? (tools[0] as { name?: unknown; function?: { name?: unknown } }) : undefined;
  const name = t?.function?.name ?? t?.name;
  return typeof name === 'string' ? name : 'unknown_tool';
}

/** The base fake's error behaviours on the paths this fake adds; true when an answer was sent (or none will be). */
function scriptedError(res: ServerResponse, b: OpenAiBehavior, key: string, o: OpenAiFakeOptions): boolean {
  if (typeof b === 'object') {
    if ('status' in b && !('fault' in b)) {
      sendJson(res, b.status, b.body ?? { error: { message: `scripted ${b.status}` } }, b.headers);
      return true;
    }
    return false;
  }
  switch (b) {
    case 'rate_limit':
      sendJson(
        res,
        429,
        { error: { message: 'Rate limit reached for requests per min (RPM): Limit 3, Used 3, Requested 1.', type: 'requests', code: 'rate_limit_exceeded' } },
        { 'x-ratelimit-remaining-requests': '0', 'x-ratelimit-reset-requests': '20s', ...o.rateLimitHeaders },
      );
      return true;
    case 'quota':
      sendJson(res, 429, { error: { message: 'You exceeded your current quota, please check your plan and billing details.', type: 'insufficient_quota', code: 'insufficient_quota' } });
      return true;
    case 'auth':
      sendJson(res, 401, { error: { message: `Incorrect API key provided: ${key}.`, type: 'invalid_request_error', code: 'invalid_api_key' } });
      return true;
    case 'server_error':
      sendJson(res, 500, { error: { message: 'The server had an error while processing your request. Sorry about that!', type: 'server_error' } });
      return true;
    case 'bad_request':
    case 'context_length':
      sendJson(res, 400, { error: { message: "Invalid value for 'input'", type: 'invalid_request_error', param: 'input', code: 'invalid_value' } });
      return true;
    case 'reset':
      res.socket?.destroy();
      return true;
    case 'timeout':
      return true; // never answers
    default:
      return false;
  }
}

function keyOf(r: RecordedRequest): string | undefined {
  const auth = r.headers.authorization;
  if (typeof auth === 'string' && auth.startsWith('Bearer ')) return auth.slice(7);
  const k = r.headers['api-key'];
  return typeof k === 'string' ? k : undefined;
}
