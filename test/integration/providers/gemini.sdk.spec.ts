import { ApiError, GoogleGenAI } from '@google/genai';
import { JWT } from 'google-auth-library';
import { LlmRotate } from '../../../lib';
import { classifyThrown } from '../../../lib/core/classify';
import { classifyGoogleSdkError } from '../../../lib/core/providers/gemini/google-errors';
import { GeminiFake } from '../../fakes/gemini-fake';
import { GOOGLE_TOKEN_URL, GoogleOAuthFake } from '../../fakes/google-oauth-fake';
import { makeOptions, recordingLogger } from '../../support/options';

const MODEL = 'gemini-2.0-flash';
const KEY = 'sdk-test-key-eeeeeeeeeeeeeeeeeeee';
/**
 * The SDK's own `httpOptions.fetch` option. Without it, on Node it attaches a dispatcher that looks up undici's
 * global dispatcher on `globalThis`, which Jest's per-test VM context does not have ("Undici globalDispatcher is
 * not available"); outside Jest the default works as is.
 */
const sdkFetch = (input: RequestInfo | URL, init?: RequestInit): Promise<Response> => fetch(input, init);

/**
 * The official @google/genai client pointed at the fake: if the fake misspoke the Gemini wire format (paths,
 * headers, JSON shapes, SSE framing, error bodies), the vendor's own parser would say so.
 */
describe('@google/genai against the Gemini fake', () => {
  let fake: GeminiFake;
  let ai: GoogleGenAI;

  beforeAll(async () => {
    fake = await GeminiFake.start();
    ai = new GoogleGenAI({ apiKey: KEY, httpOptions: { baseUrl: fake.url, fetch: sdkFetch } });
  });
  afterAll(() => fake.close());
  beforeEach(() => fake.reset());

  it('generateContent: the SDK parses the fake\'s answer, and sends the same request our adapter sends', async () => {
    const res = await ai.models.generateContent({
      model: MODEL,
      contents: [
        { role: 'user', parts: [{ text: 'hi' }] },
        { role: 'model', parts: [{ text: 'Hello!' }] },
        { role: 'user', parts: [{ text: 'again' }] },
      ],
      config: { systemInstruction: 'Be brief.', temperature: 0.3, maxOutputTokens: 20, topP: 0.8, stopSequences: ['END'] },
    });
    expect(res.text).toBe(`Hello from ${MODEL}`);
    expect(res.candidates?.[0]?.finishReason).toBe('STOP');
    expect(res.usageMetadata).toMatchObject({ promptTokenCount: 11, candidatesTokenCount: 3 });
    const sdkCall = fake.calls[0];
    expect(sdkCall.request.path).toBe(`/v1beta/models/${MODEL}:generateContent`);
    expect(sdkCall.request.headers['x-goog-api-key']).toBe(KEY);

    const lr = await LlmRotate.create(makeOptions(fake.url, [{ keyId: 'k', provider: 'google_ai_studio', models: [MODEL], secret: KEY }]), { logger: recordingLogger().logger });
    try {
      const ours = await lr.chat(MODEL, [
        { role: 'system', content: 'Be brief.' },
        { role: 'user', content: 'hi' },
        { role: 'assistant', content: 'Hello!' },
        { role: 'user', content: 'again' },
      ], { temperature: 0.3, maxTokens: 20, topP: 0.8, stop: ['END'] });
      expect(ours.content).toBe(res.text);
      expect(ours.usage).toEqual({ inputTokens: res.usageMetadata?.promptTokenCount, outputTokens: res.usageMetadata?.candidatesTokenCount });
    } finally {
      await lr.close();
    }
    const ourCall = fake.calls[1];
    expect(ourCall.request.path).toBe(sdkCall.request.path);
    const sdkBody = sdkCall.request.json as Record<string, { parts?: unknown }>;
    const ourBody = ourCall.request.json as Record<string, { parts?: unknown }>;
    expect(ourBody.contents).toEqual(sdkBody.contents);
    expect(ourBody.generationConfig).toEqual(sdkBody.generationConfig);
    expect(ourBody.systemInstruction.parts).toEqual(sdkBody.systemInstruction.parts);
  });

  it('generateContentStream: the SDK reads the fake\'s SSE frames, with the finish reason and usage last', async () => {
    const texts: string[] = [];
    let last: { finishReason?: string; usage?: unknown } = {};
    for await (const chunk of await ai.models.generateContentStream({ model: MODEL, contents: 'hi' })) {
      if (chunk.text) texts.push(chunk.text);
      last = { finishReason: chunk.candidates?.[0]?.finishReason, usage: chunk.usageMetadata };
    }
    expect(texts.join('')).toBe(`Hello from ${MODEL}`);
    expect(texts.length).toBeGreaterThan(1);
    expect(last).toMatchObject({ finishReason: 'STOP', usage: { promptTokenCount: 11, candidatesTokenCount: 3 } });
    expect(fake.calls[0].request.path).toBe(`/v1beta/models/${MODEL}:streamGenerateContent?alt=sse`);
  });

  it('a RESOURCE_EXHAUSTED answer is an ApiError that classifyThrown calls a rate limit', async () => {
    fake.script(KEY, 'rate_limit');
    const err = await ai.models.generateContent({ model: MODEL, contents: 'hi' }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ApiError);
    expect((err as ApiError).status).toBe(429);
    expect((err as Error).message).toContain('RESOURCE_EXHAUSTED');
    expect(classifyThrown(err, 0)).toEqual({ kind: 'rate_limit', retryAfterMs: 37_000 });
    // Reading the body the SDK keeps in its message also recovers RetryInfo's delay.
    expect(classifyGoogleSdkError(err, 0)).toMatchObject({ kind: 'rate_limit', status: 429, retryAfterMs: 37_000 });
  });

  it('an invalid API key is a 400 ApiError whose ErrorInfo makes it an auth failure, and other errors keep their class', async () => {
    const cases: Array<[Parameters<GeminiFake['script']>[1], string, number]> = [
      ['api_key_invalid', 'auth', 400],
      ['permission_denied', 'auth', 403],
      ['unavailable', 'transient', 503],
      ['bad_request', 'bad_request', 400],
    ];
    for (const [behavior, kind, status] of cases) {
      fake.script(KEY, behavior);
      const err = await ai.models.generateContent({ model: MODEL, contents: 'hi' }).catch((e: unknown) => e);
      expect(err).toBeInstanceOf(ApiError);
      expect(classifyGoogleSdkError(err, 0)).toMatchObject({ kind, status });
      expect(classifyThrown(err, 0).kind).toBe(kind);
    }
    fake.script(KEY, 'unavailable');
    const streamErr = await (async () => {
      for await (const c of await ai.models.generateContentStream({ model: MODEL, contents: 'hi' })) void c;
    })().catch((e: unknown) => e);
    expect(classifyThrown(streamErr, 0).kind).toBe('transient');
  });

  it('in Vertex mode (service-account OAuth against the token fake) the SDK accepts the fake\'s Vertex URLs and answers', async () => {
    const oauth = await GoogleOAuthFake.start();
    const vertexFake = await GeminiFake.start({ authorize: (t) => oauth.identityOf(t) });
    try {
      const sa = oauth.createServiceAccount('sdk', 'proj-sdk');
      const authClient = new JWT({ email: sa.email, key: sa.privateKey, scopes: ['https://www.googleapis.com/auth/cloud-platform'] });
      // google-auth-library always posts to Google's endpoint; send this client's token requests to the fake.
      authClient.transporter.interceptors.request.add({
        resolved: async (opts) => {
          if (String(opts.url) === GOOGLE_TOKEN_URL) opts.url = new URL(oauth.tokenUri);
          opts.fetchImplementation = fetch;
          return opts;
        },
      });
      const vertex = new GoogleGenAI({ vertexai: true, project: 'proj-sdk', location: 'europe-west4', httpOptions: { baseUrl: vertexFake.url, apiVersion: 'v1', fetch: sdkFetch }, googleAuthOptions: { authClient } });
      const res = await vertex.models.generateContent({ model: MODEL, contents: 'hi' });
      expect(res.text).toBe(`Hello from ${MODEL}`);
      const call = vertexFake.calls[0];
      expect(call).toMatchObject({ api: 'vertex', project: 'proj-sdk', location: 'europe-west4', model: MODEL, identity: sa.email });
      expect(call.request.path).toBe(`/v1/projects/proj-sdk/locations/europe-west4/publishers/google/models/${MODEL}:generateContent`);
      let streamed = '';
      for await (const c of await vertex.models.generateContentStream({ model: MODEL, contents: 'hi' })) streamed += c.text ?? '';
      expect(streamed).toBe(`Hello from ${MODEL}`);
      expect(oauth.tokenRequests(sa.email)).toBe(1);
    } finally {
      await Promise.all([vertexFake.close(), oauth.close()]);
    }
  });
});
