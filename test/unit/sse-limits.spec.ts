import { ProviderTimeoutError, ProviderTransportError } from '../../lib';
import { Exchange } from '../../lib/core/transport/http';
import { readSse, SseDecoder, type SseEvent } from '../../lib/core/transport/sse';

const enc = new TextEncoder();
const KiB = 1024;
const MiB = 1024 * KiB;

/** A body produced on demand: `next(i)` gives the i-th chunk (undefined ends it); `pulls` counts what was read. */
function lazyBody(next: (i: number) => Uint8Array | undefined): { body: ReadableStream<Uint8Array>; pulls: () => number } {
  let i = 0;
  const body = new ReadableStream<Uint8Array>(
    {
      pull(c) {
        const chunk = next(i++);
        if (chunk === undefined) c.close();
        else c.enqueue(chunk);
      },
    },
    { highWaterMark: 0 },
  );
  return { body, pulls: () => i };
}

async function drain(ex: Exchange, body: ReadableStream<Uint8Array>, onEvent?: (e: SseEvent) => void | Promise<void>): Promise<SseEvent[]> {
  const out: SseEvent[] = [];
  try {
    for await (const e of readSse(ex, body)) {
      out.push(e);
      await onEvent?.(e);
    }
  } finally {
    ex.finish(true);
  }
  return out;
}

describe('SSE decoder: linear time, bounded memory', () => {
  it('examines each byte a bounded number of times, however a long line is chunked (no re-scan of the buffer)', () => {
    const d = new SseDecoder('openai', 8 * MiB);
    const piece = enc.encode('x'.repeat(KiB));
    let total = 0;
    const head = enc.encode('data: ');
    d.push(head);
    total += head.length;
    for (let i = 0; i < 2048; i++) {
      expect(d.push(piece)).toEqual([]);
      total += piece.length;
    }
    const tail = enc.encode('\n\n');
    const events = d.push(tail);
    total += tail.length;
    expect(events).toHaveLength(1);
    expect(events[0].data).toHaveLength(2 * MiB);
    // One search for LF and one for CR per byte at most: quadratic re-scanning would be ~2 GiB here.
    expect(d.scanned).toBeLessThanOrEqual(2 * total);
  });

  it('examines each byte a bounded number of times with many short lines in one chunk', () => {
    const d = new SseDecoder('openai', 8 * MiB);
    const lines = Array.from({ length: 50_000 }, (_, i) => `data: {"i":${i}}\n\n`).join('');
    const bytes = enc.encode(lines);
    expect(d.push(bytes)).toHaveLength(50_000);
    expect(d.scanned).toBeLessThanOrEqual(2 * bytes.length);
  });

  it('rejects a 20 MB line without a newline at the cap, having read only about the cap', async () => {
    const chunk = enc.encode('y'.repeat(64 * KiB));
    const src = lazyBody((i) => (i === 0 ? enc.encode('data: ') : i <= 320 ? chunk : undefined)); // 20 MiB
    const ex = new Exchange('openai', { timeoutMs: 10_000, maxEventBytes: MiB }, undefined);
    const err = await drain(ex, src.body).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ProviderTransportError);
    expect(err).toMatchObject({ code: 'ETOOLARGE', provider: 'openai' });
    expect((err as Error).message).toMatch(/over 1048576 bytes \(maxEventBytes\)/);
    // About 1 MiB of the 20 were pulled from the upstream, not all of them.
    expect(src.pulls()).toBeLessThanOrEqual(MiB / chunk.length + 3);
  });

  it('counts an event as all its data lines: many small lines over the cap are refused too', () => {
    const d = new SseDecoder('anthropic', 64 * KiB);
    const line = enc.encode(`data: ${'z'.repeat(1000)}\n`);
    const push = (): void => {
      for (let i = 0; i < 100; i++) d.push(line);
    };
    expect(push).toThrow(expect.objectContaining({ name: 'ProviderTransportError', code: 'ETOOLARGE' }));
  });

  it('keeps WHATWG rules at byte level: BOM, CR-only and CRLF line ends split anywhere, comments, multi-byte text split mid-character', () => {
    const text = '\uFEFF: hi\rdata: a\r\rdata: é€😀\r\ndata: second\r\n\r\nevent: done\ndata: [DONE]\n\n';
    const bytes = enc.encode(text);
    // Every split point, one byte at a time.
    const d = new SseDecoder('google_ai_studio', MiB);
    const got: SseEvent[] = [];
    for (const b of bytes) got.push(...d.push(Uint8Array.of(b)));
    const last = d.end();
    if (last !== undefined) got.push(last);
    expect(got).toEqual([
      { event: 'message', data: 'a' },
      { event: 'message', data: 'é€😀\nsecond' },
      { event: 'done', data: '[DONE]' },
    ]);
  });
});

describe('Exchange deadlines on streams', () => {
  it('keep-alive comments alone end at firstTokenTimeoutMs (they re-arm the gap deadline, not the first-token one)', async () => {
    const ping = enc.encode(': ping\n\n');
    let timer: NodeJS.Timeout | undefined;
    const body = new ReadableStream<Uint8Array>({
      start(c) {
        timer = setInterval(() => c.enqueue(ping), 10);
      },
      cancel() {
        clearInterval(timer);
      },
    });
    const ex = new Exchange('openrouter', { timeoutMs: 5_000, firstTokenTimeoutMs: 150 }, undefined);
    const err = await drain(ex, body).catch((e: unknown) => e);
    clearInterval(timer);
    expect(err).toBeInstanceOf(ProviderTimeoutError);
    expect(err).toMatchObject({ provider: 'openrouter', timeoutMs: 150 });
    expect((err as Error).message).toMatch(/firstTokenTimeoutMs/);
  });

  it('once the first token arrived, keep-alives between events are fine', async () => {
    let n = 0;
    let timer: NodeJS.Timeout | undefined;
    const body = new ReadableStream<Uint8Array>({
      start(c) {
        c.enqueue(enc.encode('data: first\n\n'));
        timer = setInterval(() => {
          n++;
          if (n < 40) c.enqueue(enc.encode(': ping\n\n'));
          else {
            clearInterval(timer);
            c.enqueue(enc.encode('data: last\n\n'));
            c.close();
          }
        }, 10);
      },
      cancel() {
        clearInterval(timer);
      },
    });
    // 40 pings × 10 ms is well past firstTokenTimeoutMs; the gap deadline (timeoutMs) is re-armed by each one.
    const ex = new Exchange('openai', { timeoutMs: 2_000, firstTokenTimeoutMs: 100 }, undefined);
    const events = await drain(ex, body, () => ex.firstToken());
    expect(events.map((e) => e.data)).toEqual(['first', 'last']);
  });

  it('the gap deadline does not run while the consumer holds a chunk (a slow consumer is not an upstream timeout)', async () => {
    const body = new ReadableStream<Uint8Array>({
      start(c) {
        c.enqueue(enc.encode('data: one\n\n'));
        c.enqueue(enc.encode('data: two\n\n'));
        c.close();
      },
    });
    const ex = new Exchange('anthropic', { timeoutMs: 100 }, undefined);
    const events = await drain(ex, body, async (e) => {
      ex.firstToken();
      if (e.data === 'one') await new Promise((r) => setTimeout(r, 400));
    });
    expect(events.map((e) => e.data)).toEqual(['one', 'two']);
  });
});
