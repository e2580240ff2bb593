import type { ServerResponse } from 'node:http';
import { Sha256 } from '@aws-crypto/sha256-js';
import { EventStreamCodec } from '@smithy/eventstream-codec';
import { SignatureV4 } from '@smithy/signature-v4';
import { FakeHttpServer, sendJson, type RecordedRequest } from './fake-http';
import { bedrockWire } from './fault-wires';
import { isFault, serveFault, type Fault } from './faults';
import { ScriptedFake } from './scripted-fake';

export interface FakeAwsCredentials {
  accessKeyId: string;
  secretAccessKey: string;
  sessionToken?: string;
}

/** What the fake does for one request made with a given access key id or Bedrock API key. */
export type BedrockBehavior =
  | 'ok'
  | 'throttling'
  | 'quota'
  | 'access_denied'
  | 'expired_token'
  | 'validation'
  | 'not_found'
  | 'model_error'
  | 'model_timeout'
  | 'model_not_ready'
  | 'server_error'
  | 'unavailable'
  | 'malformed'
  | 'timeout'
  | 'reset'
  /** converse-stream: a few deltas, then a `throttlingException` frame. */
  | 'stream_exception_midway'
  /** converse-stream: a `throttlingException` frame before any text. */
  | 'stream_throttled_at_start'
  /** converse-stream: a `validationException` frame before any text. */
  | 'stream_validation_at_start'
  /** converse-stream: a frame whose message CRC is wrong. */
  | 'stream_bad_crc'
  /** converse-stream: the answer ends cleanly, but in the middle of a frame. */
  | 'stream_truncated'
  | { status: number; errorType: string; message?: string; headers?: Record<string, string> }
  | Fault;

/** How the event-stream bytes are written: one write per frame, all frames in one write, or tiny pieces. */
export type FrameChunking = 'frame' | 'coalesced' | 'split';

export interface BedrockFakeOptions {
  /** SigV4 identities the fake knows; requests signed by others get 403 UnrecognizedClientException. */
  credentials?: FakeAwsCredentials[];
  /** Bedrock API keys (bearer tokens) the fake accepts. */
  apiKeys?: string[];
  /** The assistant's answer (streamed word by word). */
  reply?: string;
  stopReason?: string;
  /** Extra headers on ThrottlingException answers (e.g. `retry-after`). */
  throttleHeaders?: Record<string, string>;
  /** Pause between stream frames. */
  gapMs?: number;
  chunking?: FrameChunking;
}

/** One request as the fake understood it. */
export interface BedrockCall {
  auth: 'sigv4' | 'bearer';
  /** The access key id or the bearer token. */
  identity: string;
  /** The region of the SigV4 credential scope. */
  region?: string;
  modelId: string;
  operation: 'converse' | 'converse-stream';
  body: {
    messages?: Array<{ role: string; content: Array<{ text?: string }> }>;
    system?: Array<{ text?: string }>;
    inferenceConfig?: Record<string, unknown>;
  };
  rawPath: string;
}

const ERRORS: Record<string, { status: number; type: string; message: string }> = {
  throttling: { status: 429, type: 'ThrottlingException', message: 'Too many requests, please wait before trying again.' },
  quota: { status: 400, type: 'ServiceQuotaExceededException', message: 'Your request exceeds the service quota for your account.' },
  access_denied: { status: 403, type: 'AccessDeniedException', message: "You don't have access to the model with the specified model ID." },
  expired_token: { status: 403, type: 'ExpiredTokenException', message: 'The security token included in the request is expired' },
  validation: { status: 400, type: 'ValidationException', message: 'Malformed input request: #: extraneous key [foo] is not permitted, please reformat your input and try again.' },
  not_found: { status: 404, type: 'ResourceNotFoundException', message: 'Could not resolve the foundation model from the provided model identifier.' },
  model_error: { status: 424, type: 'ModelErrorException', message: 'The model returned an error.' },
  model_timeout: { status: 408, type: 'ModelTimeoutException', message: 'The request took too long to process.' },
  model_not_ready: { status: 429, type: 'ModelNotReadyException', message: 'Model is not ready for inference. Please retry your request.' },
  server_error: { status: 500, type: 'InternalServerException', message: 'The server encountered an internal error.' },
  unavailable: { status: 503, type: 'ServiceUnavailableException', message: 'The service is currently unavailable.' },
};

const CORAL = 'http://internal.amazon.com/coral/com.amazon.bedrock/';
const enc = new TextEncoder();
const dec = new TextDecoder();

/**
 * A fake of AWS Bedrock Runtime's Converse and ConverseStream API on 127.0.0.1. It verifies SigV4 signatures
 * exactly as AWS does (recomputed with `@smithy/signature-v4` from the known secret over the path, signed
 * headers and body it received) and accepts known Bedrock API keys as bearer tokens. Streams are real
 * `application/vnd.amazon.eventstream` frames encoded with `@smithy/eventstream-codec`.
 * Behaviour is scripted per access key id or API key: `script(id, 'throttling', 'ok')` answers the first request
 * with a ThrottlingException, then 'ok' (the last entry repeats). Identities without a script answer 'ok'.
 */
export class BedrockFake extends ScriptedFake<BedrockBehavior> {
  readonly calls: BedrockCall[] = [];
  private readonly codec = new EventStreamCodec((b) => dec.decode(b), (s) => enc.encode(s));

  protected constructor(
    http: FakeHttpServer,
    readonly options: BedrockFakeOptions,
  ) {
    super(http, 'ok');
  }

  static start(options: BedrockFakeOptions = {}): Promise<BedrockFake> {
    return ScriptedFake.boot((http) => new BedrockFake(http, options));
  }

  /** How many authenticated requests were made with an access key id or API key. */
  hits(identity: string): number {
    return this.calls.filter((c) => c.identity === identity).length;
  }

  protected override async handle(req: RecordedRequest, res: ServerResponse): Promise<void> {
    const m = /^\/model\/([^/?]+)\/(converse|converse-stream)(?:\?|$)/.exec(req.path);
    if (req.method !== 'POST' || m === null) {
      sendError(res, 404, 'UnknownOperationException', `Unknown operation ${req.method} ${req.path}`);
      return;
    }
    const who = await this.authenticate(req, res);
    if (who === undefined) return;
    let body: BedrockCall['body'];
    try {
      body = JSON.parse(req.body) as BedrockCall['body'];
    } catch {
      sendError(res, 400, 'ValidationException', 'Malformed input request, please reformat your input and try again.');
      return;
    }
    const call: BedrockCall = { ...who, modelId: decodeURIComponent(m[1]), operation: m[2] as BedrockCall['operation'], body, rawPath: req.path };
    this.calls.push(call);
    if (!Array.isArray(body.messages) || body.messages.length === 0 || body.messages[0].role !== 'user') {
      sendError(res, 400, 'ValidationException', 'A conversation must start with a user message. Try again with a conversation that starts with a user message.');
      return;
    }
    const b = this.scripts.next(who.identity);
    if (isFault(b)) {
      await serveFault(res, b, bedrockWire(), call.operation === 'converse-stream');
      return;
    }
    if (typeof b === 'object') {
      sendError(res, b.status, b.errorType, b.message ?? `scripted ${b.errorType}`, b.headers);
      return;
    }
    const err = ERRORS[b];
    if (err !== undefined) {
      sendError(res, err.status, err.type, err.message, b === 'throttling' ? this.options.throttleHeaders : undefined);
      return;
    }
    switch (b) {
      case 'timeout':
        return; // never answers; the client's deadline ends it
      case 'reset':
        res.socket?.destroy();
        return;
      case 'malformed':
        res.writeHead(200, { 'content-type': 'application/json' });
        res.end('{"output": {"message": {"role": "assistant", "cont');
        return;
      default:
        break;
    }
    const reply = this.options.reply ?? `Hello from ${call.modelId}`;
    const usage = { inputTokens: 11, outputTokens: reply.split(' ').length, totalTokens: 11 + reply.split(' ').length };
    const stopReason = this.options.stopReason ?? 'end_turn';
    if (call.operation === 'converse') {
      sendJson(
        res,
        200,
        { output: { message: { role: 'assistant', content: [{ text: reply }] } }, stopReason, usage, metrics: { latencyMs: 42 } },
        { 'x-amzn-requestid': 'fake-request-id' },
      );
      return;
    }
    await this.stream(res, b, reply, stopReason, usage);
  }

  /** SigV4 (recomputed and compared) or a known bearer API key; answers 403 itself when neither holds. */
  protected async authenticate(req: RecordedRequest, res: ServerResponse): Promise<{ auth: 'sigv4' | 'bearer'; identity: string; region?: string } | undefined> {
    const authz = typeof req.headers.authorization === 'string' ? req.headers.authorization : '';
    if (authz.startsWith('Bearer ')) {
      const token = authz.slice(7);
      if (!(this.options.apiKeys ?? []).includes(token)) {
        sendError(res, 403, 'UnrecognizedClientException', 'Authentication failed: Please make sure your API Key is valid.');
        return undefined;
      }
      return { auth: 'bearer', identity: token };
    }
    const sig = /^AWS4-HMAC-SHA256 Credential=([^/]+)\/(\d{8})\/([^/]+)\/([^/]+)\/aws4_request, SignedHeaders=([^,]+), Signature=([0-9a-f]{64})$/.exec(authz);
    if (sig === null) {
      sendError(res, 403, 'MissingAuthenticationTokenException', 'Missing Authentication Token');
      return undefined;
    }
    const [, accessKeyId, scopeDate, region, service, signedList, signature] = sig;
    const cred = (this.options.credentials ?? []).find((c) => c.accessKeyId === accessKeyId);
    if (cred === undefined) {
      sendError(res, 403, 'UnrecognizedClientException', 'The security token included in the request is invalid.');
      return undefined;
    }
    const amzDate = header(req, 'x-amz-date');
    const signedHeaders = signedList.split(';');
    const problems: string[] = [];
    if (service !== 'bedrock') problems.push(`credential scope service is ${service}, not bedrock`);
    if (amzDate === undefined || !amzDate.startsWith(scopeDate)) problems.push('x-amz-date missing or not in the credential scope date');
    for (const h of ['host', 'x-amz-date']) if (!signedHeaders.includes(h)) problems.push(`${h} is not signed`);
    const payloadHash = header(req, 'x-amz-content-sha256');
    if (payloadHash !== undefined && payloadHash !== (await sha256Hex(req.body))) problems.push('x-amz-content-sha256 does not match the body');
    if (cred.sessionToken !== undefined && header(req, 'x-amz-security-token') !== cred.sessionToken) {
      sendError(res, 403, 'UnrecognizedClientException', 'The security token included in the request is invalid.');
      return undefined;
    }
    if (problems.length === 0) {
      const headers: Record<string, string> = {};
      for (const h of signedHeaders) headers[h] = header(req, h) ?? '';
      const [path, search = ''] = req.path.split('?');
      const query: Record<string, string> = {};
      for (const [k, v] of new URLSearchParams(search)) query[k] = v;
      const url = new URL(this.http.url);
      const signer = new SignatureV4({ credentials: cred, region, service: 'bedrock', sha256: Sha256, applyChecksum: false });
      const expected = await signer.sign(
        { method: req.method, protocol: 'http:', hostname: url.hostname, port: Number(url.port), path, query, headers, body: req.body },
        { signingDate: parseAmzDate(amzDate as string) },
      );
      const got = /Signature=([0-9a-f]{64})$/.exec(String(expected.headers.authorization))?.[1];
      if (got !== signature) problems.push('signature mismatch');
    }
    if (problems.length > 0) {
      sendError(
        res,
        403,
        'InvalidSignatureException',
        `The request signature we calculated does not match the signature you provided. Check your AWS Secret Access Key and signing method. (${problems.join('; ')})`,
      );
      return undefined;
    }
    return { auth: 'sigv4', identity: accessKeyId, region };
  }

  private async stream(res: ServerResponse, b: BedrockBehavior, reply: string, stopReason: string, usage: Record<string, number>): Promise<void> {
    const words = reply.split(/(?<= )/);
    const frames: Uint8Array[] = [this.event('messageStart', { role: 'assistant' }), this.event('contentBlockStart', { start: {}, contentBlockIndex: 0 })];
    if (b === 'stream_throttled_at_start') {
      frames.push(this.exception('throttlingException', 'Too many tokens, please wait before trying again.'));
    } else if (b === 'stream_validation_at_start') {
      frames.push(this.exception('validationException', 'The maximum tokens you requested exceeds the model limit.'));
    } else {
      // Real Bedrock pads events with a random `p` field; clients must ignore unknown members.
      for (const w of words) frames.push(this.event('contentBlockDelta', { contentBlockIndex: 0, delta: { text: w }, p: 'abcdefghij' }));
      if (b === 'stream_exception_midway') {
        frames.splice(3, frames.length, this.exception('throttlingException', 'Too many tokens, please wait before trying again.'));
      } else {
        frames.push(
          this.event('contentBlockStop', { contentBlockIndex: 0 }),
          this.event('messageStop', { stopReason }),
          this.event('metadata', { usage, metrics: { latencyMs: 42 } }),
        );
      }
    }
    if (b === 'stream_bad_crc') {
      const f = frames[2];
      f[f.length - 1] ^= 0xff;
    }
    res.writeHead(200, { 'content-type': 'application/vnd.amazon.eventstream', 'x-amzn-requestid': 'fake-request-id' });
    if (b === 'stream_truncated') {
      res.write(Buffer.concat(frames.slice(0, 3)));
      await pause(5);
      res.end(frames[3].subarray(0, Math.floor(frames[3].length / 2)));
      return;
    }
    const chunking = this.options.chunking ?? 'frame';
    if (chunking === 'coalesced') {
      res.end(Buffer.concat(frames));
      return;
    }
    for (const f of frames) {
      if (res.destroyed) return;
      if (chunking === 'split') {
        // Cut each frame inside its prelude and inside its headers, so frames span chunk boundaries.
        for (const piece of [f.subarray(0, 3), f.subarray(3, 17), f.subarray(17)]) {
          res.write(piece);
          await pause(this.options.gapMs ?? 2);
        }
      } else {
        res.write(f);
        await pause(this.options.gapMs ?? 2);
      }
    }
    res.end();
  }

  private event(type: string, body: unknown): Uint8Array {
    return this.codec.encode({
      headers: {
        ':event-type': { type: 'string', value: type },
        ':content-type': { type: 'string', value: 'application/json' },
        ':message-type': { type: 'string', value: 'event' },
      },
      body: enc.encode(JSON.stringify(body)),
    });
  }

  private exception(type: string, message: string): Uint8Array {
    return this.codec.encode({
      headers: {
        ':exception-type': { type: 'string', value: type },
        ':content-type': { type: 'string', value: 'application/json' },
        ':message-type': { type: 'string', value: 'exception' },
      },
      body: enc.encode(JSON.stringify({ message })),
    });
  }
}

/** Bedrock's error answer: `{ message }` with the type in `x-amzn-errortype`. */
function sendError(res: ServerResponse, status: number, type: string, message: string, headers: Record<string, string> = {}): void {
  sendJson(res, status, { message }, { 'x-amzn-errortype': `${type}:${CORAL}`, 'x-amzn-requestid': 'fake-request-id', ...headers });
}

function header(req: RecordedRequest, name: string): string | undefined {
  const v = req.headers[name];
  return Array.isArray(v) ? v.join(',') : v;
}

async function sha256Hex(body: string): Promise<string> {
  const h = new Sha256();
  h.update(enc.encode(body));
  return Buffer.from(await h.digest()).toString('hex');
}

/** `20240101T120000Z` → Date. */
function parseAmzDate(s: string): Date {
  return new Date(`${s.slice(0, 4)}-${s.slice(4, 6)}-${s.slice(6, 8)}T${s.slice(9, 11)}:${s.slice(11, 13)}:${s.slice(13, 15)}Z`);
}

function pause(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}
