import type { ServerResponse } from 'node:http';
import { FakeHttpServer, sendJson, type RecordedRequest } from './fake-http';
import { geminiWire } from './fault-wires';
import { isFault, serveFault, type Fault } from './faults';
import { ScriptedFake } from './scripted-fake';

/** What the fake does for one request made by a given identity (an API key, or a bearer token's owner). */
export type GeminiBehavior =
  | 'ok'
  /** 429 RESOURCE_EXHAUSTED with QuotaFailure, Help and RetryInfo details (AI Studio's free-tier answer). */
  | 'rate_limit'
  /** 429 RESOURCE_EXHAUSTED without RetryInfo, with a `retry-after` header (as a proxy in front may send). */
  | 'rate_limit_header'
  /** 429 RESOURCE_EXHAUSTED with no details at all (Vertex AI's shared-quota answer). */
  | 'quota'
  /** 400 INVALID_ARGUMENT "API key not valid" with ErrorInfo reason API_KEY_INVALID. */
  | 'api_key_invalid'
  | 'unauthenticated'
  /** 403 PERMISSION_DENIED whose message echoes the API key (a suspended consumer). */
  | 'permission_denied'
  | 'server_error'
  | 'unavailable'
  | 'deadline'
  | 'bad_request'
  | 'not_found'
  | 'failed_precondition'
  | 'malformed'
  | 'timeout'
  | 'reset'
  /** 200 with promptFeedback.blockReason and no candidates. */
  | 'blocked'
  | 'safety'
  | 'max_tokens'
  /** Streams two chunks, then an `{"error": …}` event. */
  | 'stream_error_midway'
  /** A stream whose first event is not JSON. */
  | 'malformed_stream'
  | { status: number; headers?: Record<string, string>; body?: unknown }
  | Fault;

export interface GeminiFakeOptions {
  /** The model's answer (streamed word by word). */
  reply?: string;
  /** RetryInfo.retryDelay on 'rate_limit' answers. Default `37s`. */
  retryDelay?: string;
  /** Pause between SSE events. */
  gapMs?: number;
  /** Vertex: maps a bearer token to its owner (e.g. the OAuth fake's `identityOf`); undefined rejects it with 401. */
  authorize?: (token: string) => string | undefined;
  /** Prepend a thinking part (`thought: true`) to answers, as thinking models do. */
  thoughts?: boolean;
}

export interface GeminiCall {
  api: 'ai_studio' | 'vertex';
  version: string;
  model: string;
  stream: boolean;
  sse: boolean;
  project?: string;
  location?: string;
  /** The API key, or the bearer token's owner. */
  identity: string;
  token?: string;
  request: RecordedRequest;
}

const AI_STUDIO = /^\/(v1|v1beta|v1alpha)\/(?:models|tunedModels)\/([^/:?]+):(generateContent|streamGenerateContent)(?:\?(.*))?$/;
const VERTEX = /^\/(v1|v1beta1)\/projects\/([^/]+)\/locations\/([^/]+)\/publishers\/google\/models\/([^/:?]+):(generateContent|streamGenerateContent)(?:\?(.*))?$/;
const BODY_FIELDS = new Set([
  'contents', 'systemInstruction', 'system_instruction', 'generationConfig', 'generation_config', 'safetySettings',
  'safety_settings', 'tools', 'toolConfig', 'tool_config', 'cachedContent', 'cached_content', 'labels', 'model',
]);
const GENERATION_FIELDS = new Set([
  'temperature', 'maxOutputTokens', 'topP', 'topK', 'stopSequences', 'candidateCount', 'seed', 'presencePenalty',
  'frequencyPenalty', 'responseMimeType', 'responseSchema', 'responseJsonSchema', 'thinkingConfig', 'responseModalities',
  'responseLogprobs', 'logprobs', 'mediaResolution', 'speechConfig', 'max_output_tokens', 'top_p', 'stop_sequences',
]);
const PROMPT_TOKENS = 11;

/**
 * A fake of the Gemini API on 127.0.0.1 speaking both URL shapes: Google AI Studio
 * (`/v1beta/models/{model}:generateContent`, key in `x-goog-api-key` or `?key=`) and Vertex AI
 * (`/v1/projects/{p}/locations/{l}/publishers/google/models/{model}:generateContent`, `Authorization: Bearer`).
 * It validates request bodies the way the real API does (unknown fields, roles, empty parts are 400s) and answers
 * with Google's JSON error bodies. Behaviour is scripted per identity: `script(key, 'rate_limit', 'ok')`.
 */
export class GeminiFake extends ScriptedFake<GeminiBehavior> {
  readonly calls: GeminiCall[] = [];

  protected constructor(
    http: FakeHttpServer,
    readonly options: GeminiFakeOptions,
  ) {
    super(http, 'ok');
  }

  static start(options: GeminiFakeOptions = {}): Promise<GeminiFake> {
    return ScriptedFake.boot((http) => new GeminiFake(http, options));
  }

  /** Calls that reached a model method with this identity (API key or token owner). */
  callsOf(identity: string): GeminiCall[] {
    return this.calls.filter((c) => c.identity === identity);
  }

  hits(identity: string): number {
    return this.callsOf(identity).length;
  }

  override reset(): void {
    this.calls.length = 0;
    super.reset();
  }

  protected override async handle(req: RecordedRequest, res: ServerResponse): Promise<void> {
    const studio = AI_STUDIO.exec(req.path);
    const vertex = studio ? null : VERTEX.exec(req.path);
    if (req.method !== 'POST' || (!studio && !vertex)) {
      rpcError(res, 404, 'NOT_FOUND', `The requested URL ${req.path.split('?')[0]} was not found on this server.`);
      return;
    }
    const query = new URLSearchParams((studio ? studio[4] : (vertex as RegExpExecArray)[6]) ?? '');
    let identity: string;
    let token: string | undefined;
    if (studio) {
      const key = header(req, 'x-goog-api-key') ?? query.get('key') ?? undefined;
      if (key === undefined) {
        rpcError(res, 403, 'PERMISSION_DENIED', "Method doesn't allow unregistered callers (callers without established identity). Please use API Key or other form of API consumer identity to call this API.");
        return;
      }
      identity = key;
    } else {
      const auth = header(req, 'authorization');
      token = auth?.startsWith('Bearer ') ? auth.slice(7) : undefined;
      const owner = token === undefined ? undefined : this.options.authorize ? this.options.authorize(token) : token;
      if (owner === undefined) {
        rpcError(res, 401, 'UNAUTHENTICATED', 'Request had invalid authentication credentials. Expected OAuth 2 access token, login cookie or other valid authentication credential. See https://developers.google.com/identity/sign-in/web/devconsole-project.', [
          { '@type': 'type.googleapis.com/google.rpc.ErrorInfo', reason: token === undefined ? 'CREDENTIALS_MISSING' : 'ACCESS_TOKEN_TYPE_UNSUPPORTED', domain: 'googleapis.com', metadata: { service: 'aiplatform.googleapis.com', method: 'google.cloud.aiplatform.v1.PredictionService.GenerateContent' } },
        ]);
        return;
      }
      identity = owner;
    }
    const m = studio ?? (vertex as RegExpExecArray);
    const call: GeminiCall = studio
      ? { api: 'ai_studio', version: m[1], model: decodeURIComponent(m[2]), stream: m[3] === 'streamGenerateContent', sse: query.get('alt') === 'sse', identity, request: req }
      : { api: 'vertex', version: m[1], project: decodeURIComponent(m[2]), location: decodeURIComponent(m[3]), model: decodeURIComponent(m[4]), stream: m[5] === 'streamGenerateContent', sse: query.get('alt') === 'sse', identity, token, request: req };
    this.calls.push(call);

    const invalid = validateBody(req);
    if (invalid !== undefined) {
      rpcError(res, 400, 'INVALID_ARGUMENT', invalid);
      return;
    }
    const b = this.scripts.next(identity);
    if (isFault(b)) {
      await serveFault(res, b, geminiWire(call.model), call.stream);
      return;
    }
    if (typeof b === 'object') {
      sendJson(res, b.status, b.body ?? { error: { code: b.status, message: `scripted ${b.status}`, status: 'UNKNOWN' } }, b.headers);
      return;
    }
    const model = call.model;
    switch (b) {
      case 'rate_limit':
        rpcError(res, 429, 'RESOURCE_EXHAUSTED', `You exceeded your current quota, please check your plan and billing details. For more information on this error, head to: https://ai.google.dev/gemini-api/docs/rate-limits.\n* Quota exceeded for metric: generativelanguage.googleapis.com/generate_content_free_tier_requests, limit: 15, model: ${model}\nPlease retry in ${this.options.retryDelay ?? '37s'}.`, [
          { '@type': 'type.googleapis.com/google.rpc.QuotaFailure', violations: [{ quotaMetric: 'generativelanguage.googleapis.com/generate_content_free_tier_requests', quotaId: 'GenerateRequestsPerMinutePerProjectPerModel-FreeTier', quotaDimensions: { location: 'global', model }, quotaValue: '15' }] },
          { '@type': 'type.googleapis.com/google.rpc.Help', links: [{ description: 'Learn more about Gemini API quotas', url: 'https://ai.google.dev/gemini-api/docs/rate-limits' }] },
          { '@type': 'type.googleapis.com/google.rpc.RetryInfo', retryDelay: this.options.retryDelay ?? '37s' },
        ]);
        return;
      case 'rate_limit_header':
        rpcError(res, 429, 'RESOURCE_EXHAUSTED', 'Resource has been exhausted (e.g. check quota).', undefined, { 'retry-after': '12' });
        return;
      case 'quota':
        rpcError(res, 429, 'RESOURCE_EXHAUSTED', 'Resource exhausted. Please try again later. Please refer to https://cloud.google.com/vertex-ai/generative-ai/docs/error-code-429 for more details.');
        return;
      case 'api_key_invalid':
        rpcError(res, 400, 'INVALID_ARGUMENT', 'API key not valid. Please pass a valid API key.', [
          { '@type': 'type.googleapis.com/google.rpc.ErrorInfo', reason: 'API_KEY_INVALID', domain: 'googleapis.com', metadata: { service: 'generativelanguage.googleapis.com' } },
          { '@type': 'type.googleapis.com/google.rpc.LocalizedMessage', locale: 'en-US', message: 'API key not valid. Please pass a valid API key.' },
        ]);
        return;
      case 'unauthenticated':
        rpcError(res, 401, 'UNAUTHENTICATED', 'Request had invalid authentication credentials. Expected OAuth 2 access token, login cookie or other valid authentication credential.');
        return;
      case 'permission_denied':
        if (call.api === 'ai_studio') {
          rpcError(res, 403, 'PERMISSION_DENIED', `Permission denied: Consumer 'api_key:${identity}' has been suspended.`, [
            { '@type': 'type.googleapis.com/google.rpc.ErrorInfo', reason: 'CONSUMER_SUSPENDED', domain: 'googleapis.com', metadata: { consumer: `api_key:${identity}`, service: 'generativelanguage.googleapis.com' } },
          ]);
        } else {
          rpcError(res, 403, 'PERMISSION_DENIED', `Permission 'aiplatform.endpoints.predict' denied on resource '//aiplatform.googleapis.com/projects/${call.project}/locations/${call.location}/publishers/google/models/${model}' (or it may not exist).`, [
            { '@type': 'type.googleapis.com/google.rpc.ErrorInfo', reason: 'IAM_PERMISSION_DENIED', domain: 'aiplatform.googleapis.com', metadata: { permission: 'aiplatform.endpoints.predict' } },
          ]);
        }
        return;
      case 'server_error':
        rpcError(res, 500, 'INTERNAL', 'An internal error has occurred. Please retry or report in https://developers.generativeai.google/guide/troubleshooting');
        return;
      case 'unavailable':
        rpcError(res, 503, 'UNAVAILABLE', 'The model is overloaded. Please try again later.');
        return;
      case 'deadline':
        rpcError(res, 504, 'DEADLINE_EXCEEDED', 'Deadline expired before operation could complete.');
        return;
      case 'bad_request':
        rpcError(res, 400, 'INVALID_ARGUMENT', '* GenerateContentRequest.generation_config.temperature: must be between 0 and 2\n');
        return;
      case 'not_found':
        rpcError(res, 404, 'NOT_FOUND', `models/${model} is not found for API version ${call.version}, or is not supported for generateContent. Call ListModels to see the list of available models and their supported methods.`);
        return;
      case 'failed_precondition':
        rpcError(res, 400, 'FAILED_PRECONDITION', 'User location is not supported for the API use.');
        return;
      case 'timeout':
        return; // never answers; the client's deadline ends it
      case 'reset':
        res.socket?.destroy();
        return;
      case 'malformed':
        res.writeHead(200, { 'content-type': 'application/json; charset=UTF-8' });
        res.end('{"candidates": [{"content": {"parts": [{"te');
        return;
      default:
        break;
    }
    const chunks = this.answer(b, model);
    if (!call.stream) {
      sendJson(res, 200, merge(chunks));
      return;
    }
    if (!call.sse) {
      // Without alt=sse, streamGenerateContent answers one JSON array of responses.
      sendJson(res, 200, chunks);
      return;
    }
    res.writeHead(200, { 'content-type': 'text/event-stream', 'cache-control': 'no-cache', 'x-content-type-options': 'nosniff' });
    const events = chunks.map((c) => JSON.stringify(c));
    if (b === 'stream_error_midway') {
      events.splice(2, events.length, JSON.stringify({ error: { code: 503, message: 'The model is overloaded. Please try again later.', status: 'UNAVAILABLE' } }));
    }
    if (b === 'malformed_stream') events.unshift('{"candidates": [{"content": ');
    for (const data of events) {
      if (res.destroyed) return;
      res.write(`data: ${data}\r\n\r\n`);
      await new Promise((r) => setTimeout(r, this.options.gapMs ?? 2));
    }
    res.end();
  }

  /** The answer as the stream chunks Gemini would send; a unary answer is their merge. */
  private answer(b: GeminiBehavior, model: string): Array<Record<string, unknown>> {
    const modelVersion = model.replace(/^models\//, '');
    const responseId = 'fake-response-1';
    if (b === 'blocked') {
      return [{ promptFeedback: { blockReason: 'SAFETY', safetyRatings: [{ category: 'HARM_CATEGORY_DANGEROUS_CONTENT', probability: 'HIGH' }] }, usageMetadata: { promptTokenCount: PROMPT_TOKENS, totalTokenCount: PROMPT_TOKENS }, modelVersion, responseId }];
    }
    if (b === 'safety') {
      return [{ candidates: [{ finishReason: 'SAFETY', index: 0, safetyRatings: [{ category: 'HARM_CATEGORY_HARASSMENT', probability: 'HIGH', blocked: true }] }], usageMetadata: { promptTokenCount: PROMPT_TOKENS, totalTokenCount: PROMPT_TOKENS }, modelVersion, responseId }];
    }
    const full = this.options.reply ?? `Hello from ${modelVersion}`;
    const words = (b === 'max_tokens' ? full.split(/(?<= )/).slice(0, 2).join('') : full).split(/(?<= )/);
    const out: Array<Record<string, unknown>> = [];
    const thought = this.options.thoughts ? [{ text: 'Let me think about the greeting. ', thought: true }] : [];
    const thoughtTokens = this.options.thoughts ? 6 : 0;
    words.forEach((w, i) => {
      const last = i === words.length - 1;
      const parts = i === 0 ? [...thought, { text: w }] : [{ text: w }];
      const cand: Record<string, unknown> = { content: { parts, role: 'model' }, index: 0 };
      if (last) cand.finishReason = b === 'max_tokens' ? 'MAX_TOKENS' : 'STOP';
      const usage: Record<string, number> = { promptTokenCount: PROMPT_TOKENS, totalTokenCount: PROMPT_TOKENS };
      if (last) {
        usage.candidatesTokenCount = words.length;
        usage.totalTokenCount = PROMPT_TOKENS + words.length + thoughtTokens;
        if (thoughtTokens) usage.thoughtsTokenCount = thoughtTokens;
      }
      out.push({ candidates: [cand], usageMetadata: usage, modelVersion, responseId });
    });
    return out;
  }
}

/** Folds stream chunks into the unary answer (texts joined, last finish reason and usage). */
function merge(chunks: Array<Record<string, unknown>>): Record<string, unknown> {
  if (chunks.length === 1) return chunks[0];
  const parts: Array<Record<string, unknown>> = [];
  for (const c of chunks) {
    const cand = (c.candidates as Array<{ content?: { parts?: Array<Record<string, unknown>> } }>)[0];
    for (const p of cand.content?.parts ?? []) {
      const prev = parts[parts.length - 1];
      if (prev !== undefined && prev.thought === p.thought && typeof prev.text === 'string') prev.text += String(p.text);
      else parts.push({ ...p });
    }
  }
  const last = chunks[chunks.length - 1] as { candidates: Array<Record<string, unknown>> };
  return { ...last, candidates: [{ ...last.candidates[0], content: { parts, role: 'model' } }] };
}

/** The checks the real API makes on a GenerateContentRequest (field names, roles, non-empty parts). */
function validateBody(req: RecordedRequest): string | undefined {
  if (req.json === undefined || typeof req.json !== 'object' || req.json === null || Array.isArray(req.json)) return 'Invalid JSON payload received. Unexpected token.';
  const body = req.json as Record<string, unknown>;
  for (const k of Object.keys(body)) if (!BODY_FIELDS.has(k)) return `Invalid JSON payload received. Unknown name "${k}": Cannot find field.`;
  const contents = body.contents;
  if (!Array.isArray(contents) || contents.length === 0) return '* GenerateContentRequest.contents: contents is not specified\n';
  for (let i = 0; i < contents.length; i++) {
    const c = contents[i] as { role?: unknown; parts?: unknown };
    if (c.role !== undefined && c.role !== 'user' && c.role !== 'model') return `Please use a valid role: user, model.`;
    const bad = partsProblem(c.parts, `contents[${i}]`);
    if (bad) return bad;
  }
  const sys = (body.systemInstruction ?? body.system_instruction) as { parts?: unknown } | undefined;
  if (sys !== undefined) {
    const bad = partsProblem(sys.parts, 'system_instruction');
    if (bad) return bad;
  }
  const gen = (body.generationConfig ?? body.generation_config) as Record<string, unknown> | undefined;
  if (gen !== undefined) {
    for (const k of Object.keys(gen)) if (!GENERATION_FIELDS.has(k)) return `Invalid JSON payload received. Unknown name "${k}" at 'generation_config': Cannot find field.`;
    if (typeof gen.temperature === 'number' && (gen.temperature < 0 || gen.temperature > 2)) return '* GenerateContentRequest.generation_config.temperature: must be between 0 and 2\n';
  }
  return undefined;
}

function partsProblem(parts: unknown, where: string): string | undefined {
  if (!Array.isArray(parts) || parts.length === 0) return `* GenerateContentRequest.${where}.parts: contents.parts must not be empty.\n`;
  for (let j = 0; j < parts.length; j++) {
    const p = parts[j] as Record<string, unknown>;
    const keys = Object.keys(p ?? {}).filter((k) => k !== 'thought' && k !== 'thoughtSignature');
    if (keys.length === 0 || (typeof p.text === 'string' && p.text.length === 0 && keys.length === 1)) {
      return `* GenerateContentRequest.${where}.parts[${j}].data: required oneof field 'data' must have one initialized field\n`;
    }
  }
  return undefined;
}

function rpcError(res: ServerResponse, code: number, status: string, message: string, details?: unknown[], headers?: Record<string, string>): void {
  sendJson(res, code, { error: { code, message, status, ...(details ? { details } : {}) } }, { 'content-type': 'application/json; charset=UTF-8', ...headers });
}

function header(req: RecordedRequest, name: string): string | undefined {
  const v = req.headers[name];
  return typeof v === 'string' ? v : undefined;
}
