import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo, Socket } from 'node:net';

/**
 * The demo's two OpenAI keys. The values are fixed, non-secret demo strings shaped like real keys (random
 * characters: a value sharing words with its key id would have those words masked wherever the key id is shown);
 * the sample puts them into `process.env` and refers to them with `env://` secretRefs, the pattern recommended for
 * real keys.
 */
export const DEMO_KEYS = {
  limited: { keyId: 'demo-key-limited', env: 'DEMO_OPENAI_KEY_LIMITED', value: 'sk-demo-Q7hL2mX9vT4bR8wN' },
  ok: { keyId: 'demo-key-ok', env: 'DEMO_OPENAI_KEY_OK', value: 'sk-demo-J3cK8pZ5yW1fD6sG' },
} as const;

export type DemoKeyName = keyof typeof DEMO_KEYS;

/** Puts the demo key values into the environment (where the `env://` secretRefs read them at call time). */
export function exportDemoKeys(env: NodeJS.ProcessEnv = process.env): void {
  for (const k of Object.values(DEMO_KEYS)) env[k.env] = k.value;
}

/** What the demo upstream did: logged by the sample, observed by its tests. */
export type DemoUpstreamEvent =
  | { type: 'answered'; key: DemoKeyName | 'unknown'; status: number; stream: boolean; model?: string }
  | { type: 'stream-cancelled'; key: DemoKeyName; chunksSent: number };

export interface DemoUpstreamOptions {
  /** Pause between streamed words (default 30 ms), so `curl -N` shows a stream. */
  streamDelayMs?: number;
  /** Seconds a 429 asks the client to wait (`retry-after`). Default 30. */
  retryAfterSeconds?: number;
  /** Pause before a successful answer (JSON, or the first streamed event), like a model thinking. Default 0. */
  responseDelayMs?: number;
}

interface ChatBody {
  model?: unknown;
  messages?: unknown;
  stream?: unknown;
  stream_options?: { include_usage?: unknown };
  max_tokens?: unknown;
}

/** Like OpenAI's small models, the demo refuses larger completions (a caller's fault: HTTP 400, no rotation). */
const MAX_COMPLETION_TOKENS = 16_384;

/**
 * A local stand-in for the OpenAI chat-completions API on 127.0.0.1 (a free port), so the sample runs on a
 * machine with no provider account. `demo-key-limited` always answers 429 with `retry-after` and OpenAI's
 * `x-ratelimit-*` headers; `demo-key-ok` answers (JSON, or SSE when `stream: true`). Any other key gets 401.
 */
export class DemoUpstream {
  private readonly sockets = new Set<Socket>();
  private readonly listeners = new Set<(e: DemoUpstreamEvent) => void>();
  private readonly streamDelayMs: number;
  private readonly retryAfterSeconds: number;
  private readonly responseDelayMs: number;
  private seq = 0;
  private closing: Promise<void> | undefined;

  private constructor(
    private readonly server: Server,
    options: DemoUpstreamOptions,
  ) {
    this.streamDelayMs = options.streamDelayMs ?? 30;
    this.retryAfterSeconds = options.retryAfterSeconds ?? 30;
    this.responseDelayMs = options.responseDelayMs ?? 0;
    server.on('connection', (s) => {
      this.sockets.add(s);
      s.on('close', () => this.sockets.delete(s));
    });
  }

  static async start(options: DemoUpstreamOptions = {}): Promise<DemoUpstream> {
    let self: DemoUpstream | undefined;
    const server = createServer((req, res) => {
      (self as DemoUpstream).handle(req, res).catch(() => {
        if (!res.headersSent) res.writeHead(500);
        res.end();
      });
    });
    self = new DemoUpstream(server, options);
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(0, '127.0.0.1', () => {
        server.off('error', reject);
        resolve();
      });
    });
    return self;
  }

  /** The base URL an OpenAI client would use (`http://127.0.0.1:<port>/v1`). */
  get baseUrl(): string {
    const { port } = this.server.address() as AddressInfo;
    return `http://127.0.0.1:${port}/v1`;
  }

  /** Subscribes to what the upstream does; returns the unsubscribe function. */
  onEvent(listener: (e: DemoUpstreamEvent) => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  /** Stops listening and drops open connections (the engine's pooled keep-alive ones too). Safe to call twice. */
  close(): Promise<void> {
    this.closing ??= new Promise<void>((resolve) => {
      this.server.close(() => resolve());
      for (const s of this.sockets) s.destroy();
      this.listeners.clear();
    });
    return this.closing;
  }

  private emit(e: DemoUpstreamEvent): void {
    for (const l of this.listeners) l(e);
  }

  private async handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const raw = await readBody(req);
    if (req.method !== 'POST' || !/^\/v1\/chat\/completions(\?|$)/.test(req.url ?? '')) {
      sendJson(res, 404, openAiError(`Unknown request URL: ${req.method} ${req.url}. This demo upstream serves POST /v1/chat/completions.`, 'invalid_request_error', 'unknown_url'));
      return;
    }
    const key = keyOf(req.headers.authorization);
    let body: ChatBody;
    try {
      body = JSON.parse(raw) as ChatBody;
    } catch {
      sendJson(res, 400, openAiError('We could not parse the JSON body of your request.', 'invalid_request_error', null));
      return;
    }
    const stream = body.stream === true;
    const model = typeof body.model === 'string' ? body.model : undefined;
    if (key === undefined) {
      sendJson(res, 401, openAiError('Incorrect API key provided. This demo upstream knows two keys only.', 'invalid_request_error', 'invalid_api_key'));
      this.emit({ type: 'answered', key: 'unknown', status: 401, stream, model });
      return;
    }
    if (key === 'limited') {
      sendJson(
        res,
        429,
        openAiError(
          `Rate limit reached for ${model ?? 'this model'} in organization org-demo on requests per min (RPM): Limit 3, Used 3, Requested 1. (demo-key-limited always answers 429.)`,
          'requests',
          'rate_limit_exceeded',
        ),
        {
          'retry-after': String(this.retryAfterSeconds),
          'x-ratelimit-limit-requests': '3',
          'x-ratelimit-remaining-requests': '0',
          'x-ratelimit-reset-requests': `${this.retryAfterSeconds}s`,
          'x-ratelimit-limit-tokens': '40000',
          'x-ratelimit-remaining-tokens': '40000',
          'x-ratelimit-reset-tokens': '0s',
        },
      );
      this.emit({ type: 'answered', key, status: 429, stream, model });
      return;
    }
    if (model === undefined || model === '' || !Array.isArray(body.messages) || body.messages.length === 0) {
      sendJson(res, 400, openAiError("'model' and a non-empty 'messages' are required.", 'invalid_request_error', null));
      this.emit({ type: 'answered', key, status: 400, stream, model });
      return;
    }
    if (typeof body.max_tokens === 'number' && body.max_tokens > MAX_COMPLETION_TOKENS) {
      sendJson(
        res,
        400,
        openAiError(`max_tokens is too large: ${body.max_tokens}. This model supports at most ${MAX_COMPLETION_TOKENS} completion tokens, whereas you provided ${body.max_tokens}.`, 'invalid_request_error', 'invalid_value'),
      );
      this.emit({ type: 'answered', key, status: 400, stream, model });
      return;
    }
    const reply = replyTo(model, body.messages);
    const usage = { prompt_tokens: body.messages.reduce((n: number, m) => n + countWords(textOf(m)), 0), completion_tokens: countWords(reply) };
    const headers = {
      'x-request-id': `req_demo_${++this.seq}`,
      'x-ratelimit-limit-requests': '10000',
      'x-ratelimit-remaining-requests': '9999',
      'x-ratelimit-reset-requests': '6ms',
    };
    if (this.responseDelayMs > 0) await delay(this.responseDelayMs);
    if (res.destroyed) return;
    this.emit({ type: 'answered', key, status: 200, stream, model });
    if (!stream) {
      sendJson(
        res,
        200,
        {
          id: `chatcmpl-demo-${this.seq}`,
          object: 'chat.completion',
          created: Math.floor(Date.now() / 1000),
          model,
          choices: [{ index: 0, message: { role: 'assistant', content: reply, refusal: null }, logprobs: null, finish_reason: 'stop' }],
          usage: { ...usage, total_tokens: usage.prompt_tokens + usage.completion_tokens },
        },
        headers,
      );
      return;
    }
    await this.stream(res, key, model, reply, body.stream_options?.include_usage === true ? usage : undefined, headers);
  }

  private async stream(res: ServerResponse, key: DemoKeyName, model: string, reply: string, usage: { prompt_tokens: number; completion_tokens: number } | undefined, headers: Record<string, string>): Promise<void> {
    const base = { id: `chatcmpl-demo-${this.seq}`, object: 'chat.completion.chunk', created: Math.floor(Date.now() / 1000), model };
    const events: unknown[] = [
      { ...base, choices: [{ index: 0, delta: { role: 'assistant', content: '' }, finish_reason: null }] },
      ...reply.split(/(?<= )/).map((w) => ({ ...base, choices: [{ index: 0, delta: { content: w }, finish_reason: null }] })),
      { ...base, choices: [{ index: 0, delta: {}, finish_reason: 'stop' }] },
    ];
    if (usage !== undefined) events.push({ ...base, choices: [], usage: { ...usage, total_tokens: usage.prompt_tokens + usage.completion_tokens } });
    res.writeHead(200, { 'content-type': 'text/event-stream; charset=utf-8', 'cache-control': 'no-cache', connection: 'keep-alive', ...headers });
    let sent = 0;
    let done = false;
    // The client (the engine) going away mid-stream is what a cancelled call looks like from the provider's side.
    res.once('close', () => {
      if (!done) this.emit({ type: 'stream-cancelled', key, chunksSent: sent });
    });
    for (const e of events) {
      if (res.destroyed) return;
      res.write(`data: ${JSON.stringify(e)}\n\n`);
      sent++;
      await delay(this.streamDelayMs);
    }
    if (res.destroyed) return;
    done = true;
    res.end('data: [DONE]\n\n');
  }
}

function keyOf(authorization: string | undefined): DemoKeyName | undefined {
  if (authorization === undefined || !authorization.startsWith('Bearer ')) return undefined;
  const value = authorization.slice(7).trim();
  if (value === DEMO_KEYS.limited.value) return 'limited';
  if (value === DEMO_KEYS.ok.value) return 'ok';
  return undefined;
}

function textOf(message: unknown): string {
  const content = (message as { content?: unknown } | null)?.content;
  if (typeof content === 'string') return content;
  if (Array.isArray(content)) return content.map((p: { text?: unknown }) => (typeof p?.text === 'string' ? p.text : '')).join(' ');
  return '';
}

function replyTo(model: string, messages: unknown[]): string {
  const said = textOf(messages[messages.length - 1]) || '…';
  const quote = said.length > 60 ? `${said.slice(0, 57)}...` : said;
  return `Hello from the llm-rotate demo upstream, answering as ${model} with demo-key-ok. You said: "${quote}". Set OPENAI_API_KEY to talk to the real OpenAI instead.`;
}

function countWords(s: string): number {
  return s.split(/\s+/).filter((w) => w.length > 0).length;
}

function openAiError(message: string, type: string, code: string | null): unknown {
  return { error: { message, type, param: null, code } };
}

function sendJson(res: ServerResponse, status: number, body: unknown, headers: Record<string, string> = {}): void {
  const text = JSON.stringify(body);
  res.writeHead(status, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(text), ...headers });
  res.end(text);
}

function readBody(req: IncomingMessage): Promise<string> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => resolve(Buffer.concat(chunks).toString('utf8')));
    req.on('error', reject);
  });
}

function delay(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}
