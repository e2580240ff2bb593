import { Body, Controller, Get, HttpCode, Logger, Module, Param, Post, Query, Req, Res, Sse, type INestApplication, type LoggerService } from '@nestjs/common';
import { APP_FILTER, HttpAdapterHost } from '@nestjs/core';
import { Test } from '@nestjs/testing';
import { get as httpGet, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Observable } from 'rxjs';
import request from 'supertest';
import {
  ClosedError,
  ConfigurationError,
  InvalidRequestError,
  LLM_ROTATE_FILTER_OPTIONS,
  LlmRotateError,
  LlmRotateExceptionFilter,
  LlmRotateModule,
  LlmRotateService,
  NoAvailableKeyError,
  ProviderBadRequestError,
  ProviderHttpError,
  ProviderTimeoutError,
  ProviderTransportError,
  RequestBuildError,
  SecretResolutionError,
  StreamInterruptedError,
  UnknownModelError,
  UnsupportedFeatureError,
  type ChatChunk,
  type ChatMessage,
  type ChatSseEvent,
  type LlmRotateExceptionFilterOptions,
} from '../../lib';
import { OpenAiFake } from '../fakes/openai-fake';
import { makeOptions } from '../support/options';
import { eventSourceGet } from './event-stream-client';

const HI: ChatMessage[] = [{ role: 'user', content: 'hi' }];

/** Errors the engine raises only in situations a test cannot stage cheaply; thrown as they are by a route. */
const THROWN: Record<string, () => LlmRotateError> = {
  unknownModel: () => new UnknownModelError('gpt-9-turbo', 'no used key serves it'),
  configuration: () => new ConfigurationError(['registry.keys(k-secret-id).baseUrl: must be a URL']),
  timeout: () => new ProviderTimeoutError('anthropic', 30_000),
  interrupted: () => new StreamInterruptedError('openai', 'k-hidden-id', 'transient', 'stream of key k-hidden-id cut after 3 chunks', { cause: new ProviderTransportError('openai', 'socket hang up', 'ECONNRESET') }),
  interruptedTimeout: () => new StreamInterruptedError('openai', 'k-hidden-id', 'transient', 'stream of key k-hidden-id timed out', { cause: new ProviderTimeoutError('openai', 1000) }),
  transport: () => new ProviderTransportError('openai', 'connect ECONNREFUSED', 'ECONNREFUSED'),
  upstream500: () => new ProviderHttpError('openai', 500, 'transient', 'openai answered 500: The server had an error'),
  closed: () => new ClosedError(),
  requestBuild: () => new RequestBuildError('bedrock', 'invalid header value for key k-hidden-id'),
  secret: () => new SecretResolutionError('k-hidden-id', 'environment variable OPENAI_API_KEY is not set (secretRef env://OPENAI_API_KEY)'),
  badRequest404: () => new ProviderBadRequestError('openai', 404, 'bad_request', 'openai answered 404: The model `gpt-x` does not exist'),
  badRequest413: () => new ProviderBadRequestError('anthropic', 413, 'bad_request', 'anthropic answered 413: request_too_large'),
  badRequest422: () => new ProviderBadRequestError('openai', 422, 'bad_request', 'openai answered 422: unprocessable'),
  badRequest200: () => new ProviderBadRequestError('google_ai_studio', 200, 'bad_request', 'google_ai_studio blocked the prompt (SAFETY)'),
  unsupported: () => new UnsupportedFeatureError('bedrock', 'a conversation without user text'),
  invalid: () => new InvalidRequestError('messages: must be a non-empty array'),
  noKey: () => new NoAvailableKeyError('No key of provider "openai" is available; the soonest is back in 1200 ms', [], 1200),
  noKeyUnknownWait: () => new NoAvailableKeyError('No configured key serves model "x"', [], undefined),
};

@Controller()
class LlmController {
  constructor(private readonly llm: LlmRotateService) {}

  @Post('chat')
  @HttpCode(200)
  chat(@Body() body: { messages?: ChatMessage[]; model?: string }, @Req() req: IncomingMessage): Promise<unknown> {
    // A client that goes away aborts the call (CallCancelledError).
    const ctrl = new AbortController();
    req.socket.once('close', () => ctrl.abort());
    return this.llm.chat(body.model ?? 'gpt-4o-mini', body.messages ?? HI, { signal: ctrl.signal });
  }

  @Get('stream')
  @Sse()
  stream(@Query('model') model?: string): Observable<ChatSseEvent> {
    return this.llm.sse$(model ?? 'gpt-4o-mini', HI);
  }

  @Get('throw/:name')
  throwIt(@Param('name') name: string): never {
    throw THROWN[name]();
  }

  /** Hand-written SSE (as the sample's POST /chat does) that fails after its first event. */
  @Get('raw-sse')
  async rawSse(@Res() res: ServerResponse): Promise<void> {
    res.writeHead(200, { 'content-type': 'text/event-stream; charset=utf-8' });
    res.write('data: {"delta":"Hel"}\n\n');
    await new Promise((r) => setTimeout(r, 20));
    throw THROWN.interruptedTimeout();
  }

  /** A JSON answer already under way when the error comes: it must not look complete. */
  @Get('half-json')
  async halfJson(@Res() res: ServerResponse): Promise<void> {
    res.writeHead(200, { 'content-type': 'application/json' });
    res.write('{"content":"Hel');
    await new Promise((r) => setTimeout(r, 20));
    throw THROWN.transport();
  }

  @Get('plain')
  plain(): never {
    throw new Error('not ours');
  }
}

function recordingSink(): { sink: LoggerService; lines: string[] } {
  const lines: string[] = [];
  const record = (level: string) => (m: unknown, ...rest: unknown[]) => lines.push(`${level} ${String(rest.at(-1))}: ${String(m)}`);
  return { lines, sink: { log: record('log'), error: record('error'), warn: record('warn'), debug: record('debug'), verbose: record('verbose') } };
}

type Registration = 'useGlobalFilters' | 'APP_FILTER';

async function startApp(fake: OpenAiFake, how: Registration, options?: LlmRotateExceptionFilterOptions): Promise<{ app: INestApplication; url: string; lines: string[] }> {
  const providers =
    how === 'APP_FILTER'
      ? [{ provide: APP_FILTER, useClass: LlmRotateExceptionFilter }, ...(options ? [{ provide: LLM_ROTATE_FILTER_OPTIONS, useValue: options }] : [])]
      : [];
  @Module({
    imports: [
      LlmRotateModule.forRoot(
        makeOptions(fake.baseUrl, [
          { keyId: 'key-a', priority: 1, secret: 'sk-filter-a' },
          { keyId: 'key-b', secret: 'sk-filter-b' },
        ]),
      ),
    ],
    controllers: [LlmController],
    providers,
  })
  class AppModule {}
  const { sink, lines } = recordingSink();
  const mod = await Test.createTestingModule({ imports: [AppModule] }).compile();
  const app = mod.createNestApplication({ logger: sink });
  Logger.overrideLogger(sink);
  if (how === 'useGlobalFilters') app.useGlobalFilters(new LlmRotateExceptionFilter(app.get(HttpAdapterHost), options));
  await app.listen(0, '127.0.0.1');
  const { port } = app.getHttpServer().address() as AddressInfo;
  return { app, url: `http://127.0.0.1:${port}`, lines };
}

function expectNoKeyIds(text: string): void {
  expect(text).not.toMatch(/key-a|key-b|k-hidden-id|k-secret-id|sk-filter|OPENAI_API_KEY|env:\/\//);
}

describe.each<Registration>(['useGlobalFilters', 'APP_FILTER'])('LlmRotateExceptionFilter registered with %s (Express)', (how) => {
  let fake: OpenAiFake;
  let app: INestApplication;
  let url: string;
  let lines: string[];

  beforeAll(async () => {
    fake = await OpenAiFake.start({ rateLimitHeaders: { 'retry-after': '7' } });
    ({ app, url, lines } = await startApp(fake, how));
  });
  afterAll(async () => {
    await app?.close();
    await fake?.close();
  });
  beforeEach(async () => {
    fake.reset();
    // Each test starts with both keys ACTIVE (a test before may have cooled them).
    const llm = app.get(LlmRotateService);
    await llm.engine.resetKey('key-a');
    await llm.engine.resetKey('key-b');
    lines.length = 0;
  });

  it('every key rate limited: 503 with Retry-After (seconds, rounded up) and retryAfterMs, no key id', async () => {
    fake.script('sk-filter-a', 'rate_limit', 'ok');
    fake.script('sk-filter-b', 'rate_limit', 'ok');
    const res = await request(url).post('/chat').send({}).expect(503).expect('content-type', /application\/json/);
    expect(res.body).toMatchObject({ statusCode: 503, error: 'Service Unavailable', type: 'AllKeysExhaustedError' });
    expect(Object.keys(res.body).sort()).toEqual(['error', 'message', 'retryAfterMs', 'statusCode', 'type']);
    expect(res.body.retryAfterMs).toBeGreaterThan(5_000);
    expect(res.body.retryAfterMs).toBeLessThanOrEqual(7_000);
    expect(res.headers['retry-after']).toBe(String(Math.ceil(res.body.retryAfterMs / 1000)));
    expect(res.body.message).toMatch(/^Every key tried for openai\/gpt-4o-mini failed \(rate_limit 429 ×2\); retry in [67] s$/);
    expectNoKeyIds(res.text);
    // The keys come back in ≤ 7 s: the next call, before that, is refused without calling the upstream.
    const again = await request(url).post('/chat').send({}).expect(503);
    expect(again.body.type).toBe('NoAvailableKeyError');
    expect(Number(again.headers['retry-after'])).toBeGreaterThanOrEqual(1);
  });

  it.each([
    ['bad_request', 400, /Invalid value for 'temperature'/],
    ['context_length', 400, /maximum context length/],
  ] as const)("the provider's %s (the caller's fault): %i with the provider's message", async (behavior, status, message) => {
    fake.script('sk-filter-a', behavior);
    const res = await request(url).post('/chat').send({}).expect(status);
    expect(res.body).toMatchObject({ statusCode: status, error: 'Bad Request', type: 'ProviderBadRequestError' });
    expect(res.body.message).toMatch(message);
    expect(res.body.retryAfterMs).toBeUndefined();
    expect(res.headers['retry-after']).toBeUndefined();
    expectNoKeyIds(res.text);
  });

  it('a model no configured key serves, asked through chat(): 404 UnknownModelError, not a retryable 503', async () => {
    const res = await request(url).post('/chat').send({ model: 'claude-opus-9' }).expect(404);
    expect(res.body).toMatchObject({ statusCode: 404, type: 'UnknownModelError', message: 'Unknown model "claude-opus-9": no configured key serves it' });
    expect(res.headers['retry-after']).toBeUndefined();
  });

  it("the call's own arguments are wrong (InvalidRequestError): 400", async () => {
    const res = await request(url).post('/chat').send({ messages: [] }).expect(400);
    expect(res.body).toEqual({ statusCode: 400, error: 'Bad Request', type: 'InvalidRequestError', message: 'messages: must be a non-empty array' });
  });

  it.each([
    ['unknownModel', 404, 'UnknownModelError', /^Unknown model "gpt-9-turbo": no configured key serves it$/, undefined],
    ['badRequest404', 404, 'ProviderBadRequestError', /does not exist/, undefined],
    ['badRequest413', 413, 'ProviderBadRequestError', /request_too_large/, undefined],
    ['badRequest422', 422, 'ProviderBadRequestError', /unprocessable/, undefined],
    ['badRequest200', 400, 'ProviderBadRequestError', /blocked the prompt/, undefined],
    ['unsupported', 400, 'UnsupportedFeatureError', /bedrock does not support/, undefined],
    ['invalid', 400, 'InvalidRequestError', /messages/, undefined],
    ['configuration', 500, 'ConfigurationError', /^The LLM key pool is misconfigured$/, 'error'],
    ['secret', 500, 'SecretResolutionError', /^Internal error \(SecretResolutionError\)$/, 'error'],
    ['requestBuild', 500, 'RequestBuildError', /^Internal error \(RequestBuildError\)$/, 'error'],
    ['upstream500', 502, 'ProviderHttpError', /answered 500/, 'warn'],
    ['transport', 502, 'ProviderTransportError', /ECONNREFUSED/, 'warn'],
    ['interrupted', 502, 'StreamInterruptedError', /^The openai stream was interrupted$/, 'warn'],
    ['timeout', 504, 'ProviderTimeoutError', /did not answer within 30000 ms/, 'warn'],
    ['interruptedTimeout', 504, 'StreamInterruptedError', /^The openai stream was interrupted \(timeout\)$/, 'warn'],
    ['closed', 503, 'ClosedError', /^The service is shutting down$/, undefined],
    ['noKey', 503, 'NoAvailableKeyError', /^No API key is available for this request now; retry in 2 s$/, undefined],
    ['noKeyUnknownWait', 503, 'NoAvailableKeyError', /^No API key is available for this request now$/, undefined],
  ] as const)('%s → %i %s', async (name, status, type, message, logged) => {
    const res = await request(url).get(`/throw/${name}`).expect(status).expect('content-type', /application\/json/);
    expect(res.body).toMatchObject({ statusCode: status, type });
    expect(res.body.message).toMatch(message);
    expectNoKeyIds(res.text);
    if (name === 'noKey') {
      expect(res.headers['retry-after']).toBe('2');
      expect(res.body.retryAfterMs).toBe(1200);
    } else {
      expect(res.headers['retry-after']).toBeUndefined();
      expect(res.body.retryAfterMs).toBeUndefined();
    }
    const filterLines = lines.filter((l) => l.includes('LlmRotateExceptionFilter'));
    if (logged === undefined) expect(filterLines).toEqual([]);
    else expect(filterLines).toEqual([expect.stringMatching(new RegExp(`^${logged} LlmRotateExceptionFilter: ${type}: `))]);
  });

  it('leaves errors that are not the library\'s to Nest (a plain 500)', async () => {
    const res = await request(url).get('/plain').expect(500);
    expect(res.body).toEqual({ statusCode: 500, message: 'Internal server error' });
  });

  it('after the headers: an event stream gets an error event and ends; any other answer is cut, not ended as if whole', async () => {
    const sse = await eventSourceGet(`${url}/raw-sse`);
    expect(sse.status).toBe(200);
    expect(sse.events.map((e) => e.type)).toEqual(['message', 'error']);
    expect(JSON.parse(sse.events[1].data)).toEqual({ type: 'StreamInterruptedError', message: 'The openai stream was interrupted (timeout)' });

    const outcome = await new Promise<string>((done) => {
      httpGet(`${url}/half-json`, (res) => {
        res.on('data', () => undefined);
        res.on('end', () => done('ended'));
        res.on('error', () => done('cut'));
        res.on('aborted', () => done('cut'));
      }).on('error', () => done('cut'));
    });
    expect(outcome).toBe('cut');
  });

  it('the caller went away (CallCancelledError): nothing is written, one debug line', async () => {
    fake.script('sk-filter-a', 'timeout'); // the upstream never answers; the client gives up first
    await new Promise<void>((done) => {
      const req = request(url).post('/chat').send({}).timeout(300);
      req.end(() => done());
    });
    const started = Date.now();
    while (!lines.some((l) => l.includes('CallCancelledError')) && Date.now() - started < 10_000) await new Promise((r) => setTimeout(r, 20));
    const filterLines = lines.filter((l) => l.includes('LlmRotateExceptionFilter'));
    expect(filterLines).toEqual([expect.stringMatching(/^debug LlmRotateExceptionFilter: CallCancelledError: /)]);
    expect(lines.filter((l) => l.startsWith('error '))).toEqual([]);
  });

  describe('SSE (sse$ from an @Sse() route, read by an EventSource-style client)', () => {
    it('an upstream error after the first chunks: the chunks, then one error event with a JSON body, then the end', async () => {
      fake.script('sk-filter-a', 'stream_error_midway');
      const res = await eventSourceGet(`${url}/stream`);
      expect(res.status).toBe(200);
      const types = res.events.map((e) => e.type);
      expect(types.at(-1)).toBe('error');
      expect(types.slice(0, -1).every((t) => t === 'message')).toBe(true);
      expect(types.length).toBeGreaterThan(1);
      const chunks = res.events.slice(0, -1).map((e) => JSON.parse(e.data) as ChatChunk);
      expect(chunks.map((c) => c.delta).join('')).toBe('Hello from ');
      const error = JSON.parse(res.events.at(-1)?.data ?? '') as Record<string, unknown>;
      expect(Object.keys(error).sort()).toEqual(['message', 'type']);
      expect(error.type).toMatch(/^(StreamInterruptedError|ProviderHttpError|ProviderTransportError)$/);
      expect(error.message).toEqual(expect.any(String));
      expect(res.body).not.toMatch(/Internal server error/);
      expect(res.body).not.toMatch(/sk-filter/);
      // Logged on the server as the filter would (an upstream failure: warn).
      expect(lines.filter((l) => l.startsWith('warn LlmRotate: A stream failed: '))).toHaveLength(1);
    });

    it('no key available before the first chunk: 200, then one error event with type, message and retryAfterMs', async () => {
      fake.script('sk-filter-a', 'rate_limit', 'ok');
      fake.script('sk-filter-b', 'rate_limit', 'ok');
      const res = await eventSourceGet(`${url}/stream?model=gpt-4o-mini`);
      expect(res.status).toBe(200);
      expect(res.events.map((e) => e.type)).toEqual(['error']);
      const error = JSON.parse(res.events[0].data) as Record<string, unknown>;
      expect(error).toMatchObject({ type: 'AllKeysExhaustedError', message: expect.stringMatching(/^Every key tried/) });
      expect(error.retryAfterMs).toBeGreaterThan(0);
      expectNoKeyIds(res.body);
    });
  });
});

describe('LlmRotateExceptionFilter options and fallbacks', () => {
  let fake: OpenAiFake;
  beforeAll(async () => {
    fake = await OpenAiFake.start({ rateLimitHeaders: { 'retry-after': '7' } });
  });
  afterAll(() => fake.close());

  it.each<Registration>(['useGlobalFilters', 'APP_FILTER'])('exposeKeyIds (%s): the attempts by key id and the library\'s own message', async (how) => {
    fake.script('sk-filter-a', 'rate_limit');
    fake.script('sk-filter-b', 'auth');
    const { app, url } = await startApp(fake, how, { exposeKeyIds: true });
    try {
      const res = await request(url).post('/chat').send({}).expect(503);
      expect(res.body.type).toBe('AllKeysExhaustedError');
      expect(res.body.message).toMatch(/key-a/);
      expect(res.body.attempts).toEqual([
        { keyId: 'key-a', provider: 'openai', model: 'gpt-4o-mini', outcome: 'rate_limit', status: 429, errorClass: 'ProviderHttpError' },
        { keyId: 'key-b', provider: 'openai', model: 'gpt-4o-mini', outcome: 'auth', status: 401, errorClass: 'ProviderHttpError' },
      ]);
      expect(res.text).not.toMatch(/sk-filter/);
    } finally {
      await app.close();
    }
  });

  it('without an HttpAdapterHost it answers through the Node response', async () => {
    @Module({ imports: [LlmRotateModule.forRoot(makeOptions(fake.baseUrl, [{ keyId: 'key-a' }]))], controllers: [LlmController] })
    class AppModule {}
    const mod = await Test.createTestingModule({ imports: [AppModule] }).compile();
    const app = mod.createNestApplication({ logger: false });
    app.useGlobalFilters(new LlmRotateExceptionFilter());
    await app.init();
    try {
      const res = await request(app.getHttpServer()).get('/throw/noKey').expect(503).expect('content-type', /application\/json/);
      expect(res.headers['retry-after']).toBe('2');
      expect(res.body).toMatchObject({ statusCode: 503, type: 'NoAvailableKeyError', retryAfterMs: 1200 });
    } finally {
      await app.close();
    }
  });

});
