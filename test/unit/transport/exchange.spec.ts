import { ProviderTransportError, RequestBuildError } from '../../../lib';
import { classifyThrown } from '../../../lib/core/classify';
import { expectStream, Exchange, readText } from '../../../lib/core/transport/http';
import { FakeHttpServer } from '../../fakes/fake-http';

const KiB = 1024;

describe('Exchange: requests that cannot be built are never sent', () => {
  let server: FakeHttpServer;
  beforeAll(async () => {
    server = await FakeHttpServer.start((_req, res) => {
      res.writeHead(200, { 'content-type': 'application/json' });
      res.end('{}');
    });
  });
  afterAll(() => server.close());
  beforeEach(() => {
    server.requests.length = 0;
  });

  async function send(url: string, headers: Record<string, string>): Promise<unknown> {
    const ex = new Exchange('openai', 2000, undefined);
    try {
      return await ex.send({ url, headers, body: '{}' });
    } catch (e) {
      return e;
    } finally {
      ex.finish(true);
    }
  }

  it.each([
    ['CR/LF in a value', { 'x-title': 'my app\r\nx-injected: 1' }, /header "x-title" cannot be sent: its value holds a character/],
    ['a lone LF in a value', { 'http-referer': 'https://a\nb' }, /header "http-referer" cannot be sent/],
    ['NUL in a value', { 'x-a': 'a\u0000b' }, /header "x-a" cannot be sent/],
    ['a character beyond Latin-1 in a value', { 'x-a': 'caf\u20ac' }, /header "x-a" cannot be sent/],
    ['a name that is not a token', { 'bad header': 'value-7f3a' }, /header "bad header" cannot be sent: its name is not a valid HTTP token/],
    ['an empty name', { '': 'value-7f3a' }, /header "" cannot be sent/],
  ])('%s: RequestBuildError naming the header, never its value; nothing sent', async (_what, headers, message) => {
    const err = await send(`${server.url}/v1/chat/completions`, { 'content-type': 'application/json', ...headers });
    expect(err).toBeInstanceOf(RequestBuildError);
    expect((err as Error).message).toMatch(message);
    for (const v of Object.values(headers)) expect((err as Error).message).not.toContain(v);
    expect(server.requests).toHaveLength(0);
    // Never counted against the key.
    expect(classifyThrown(err, 0)).toEqual({ kind: 'bad_request' });
  });

  it.each([
    ['not a URL', 'http//:nope'],
    ['not http(s)', 'file:///etc/passwd'],
  ])('an invalid URL (%s): RequestBuildError that does not repeat the URL', async (_what, url) => {
    const err = await send(url, {});
    expect(err).toBeInstanceOf(RequestBuildError);
    expect((err as Error).message).not.toContain(url);
    expect(server.requests).toHaveLength(0);
  });
});

describe('readText: bounded bodies', () => {
  const body = (size: number, chunk = 16 * KiB): ReadableStream<Uint8Array> => {
    let left = size;
    return new ReadableStream({
      pull(c) {
        if (left <= 0) return c.close();
        const n = Math.min(chunk, left);
        left -= n;
        c.enqueue(new Uint8Array(n).fill(0x61));
      },
    });
  };
  const read = async (res: Response, maxResponseBytes: number): Promise<string | unknown> => {
    const ex = new Exchange('anthropic', { timeoutMs: 2000, maxResponseBytes }, undefined);
    try {
      return await readText(ex, res);
    } catch (e) {
      return e;
    } finally {
      ex.finish(false);
    }
  };

  it('a successful body over maxResponseBytes is ETOOLARGE, whether its content-length says so or not', async () => {
    for (const headers of [{ 'content-length': String(10 * 1024 * KiB) }, {}] as Array<Record<string, string>>) {
      const err = await read(new Response(body(300 * KiB), { status: 200, headers }), 100 * KiB);
      expect(err).toBeInstanceOf(ProviderTransportError);
      expect(err).toMatchObject({ code: 'ETOOLARGE', provider: 'anthropic' });
      expect((err as Error).message).toMatch(/over 102400 bytes \(maxResponseBytes\)/);
    }
  });

  it('a body within the cap is read whole', async () => {
    expect(await read(new Response(body(90 * KiB), { status: 200 }), 100 * KiB)).toHaveLength(90 * KiB);
  });

  it('an error body is cut at 64 KiB (or maxResponseBytes when smaller); the rest is not needed to classify', async () => {
    expect(await read(new Response(body(10 * 1024 * KiB), { status: 500 }), 32 * 1024 * KiB)).toHaveLength(64 * KiB);
    expect(await read(new Response(body(10 * 1024 * KiB), { status: 429 }), 2 * KiB)).toHaveLength(2 * KiB);
  });
});

describe('expectStream: a stream request answered with something that is not a stream', () => {
  it.each(['text/html; charset=utf-8', 'application/json', 'application/problem+json'])('%s is EMALFORMED (transient), unread', async (type) => {
    const ex = new Exchange('openrouter', 2000, undefined);
    const err = await expectStream(ex, new Response('{"choices":[]}', { headers: { 'content-type': type } })).catch((e: unknown) => e);
    ex.finish(false);
    expect(err).toBeInstanceOf(ProviderTransportError);
    expect(err).toMatchObject({ code: 'EMALFORMED' });
    expect(classifyThrown(err, 0)).toEqual({ kind: 'transient' });
  });

  it('an event stream, or a missing content type, is decoded (its terminator decides)', async () => {
    const ex = new Exchange('openrouter', 2000, undefined);
    await expect(expectStream(ex, new Response('data: x\n\n', { headers: { 'content-type': 'text/event-stream; charset=utf-8' } }))).resolves.toBeDefined();
    await expect(expectStream(ex, new Response(new Uint8Array(0)))).resolves.toBeDefined();
    ex.finish(false);
  });
});
