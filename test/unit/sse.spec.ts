import { Exchange } from '../../lib/core/transport/http';
import { readSse, type SseEvent } from '../../lib/core/transport/sse';

function bodyOf(chunks: string[]): ReadableStream<Uint8Array> {
  const enc = new TextEncoder();
  return new ReadableStream({
    start(c) {
      for (const ch of chunks) c.enqueue(enc.encode(ch));
      c.close();
    },
  });
}

async function parse(chunks: string[]): Promise<SseEvent[]> {
  const ex = new Exchange('openai', 5000, undefined);
  const out: SseEvent[] = [];
  try {
    for await (const e of readSse(ex, bodyOf(chunks))) out.push(e);
  } finally {
    ex.finish(false);
  }
  return out;
}

describe('SSE parser', () => {
  it('handles events split anywhere, CRLF split across chunks, comments, multi-line data and named events', async () => {
    const events = await parse([': keep-alive\r', '\n', 'event: message_start\r\ndata: {"a"', ':1}\r', '\n\r\n', 'data: line1\ndata: line2\n\n', 'data: [DONE]\n\n']);
    expect(events).toEqual([
      { event: 'message_start', data: '{"a":1}' },
      { event: 'message', data: 'line1\nline2' },
      { event: 'message', data: '[DONE]' },
    ]);
  });

  it('emits a last event without a trailing blank line and ignores empty events', async () => {
    expect(await parse(['\n\nevent: x\n\ndata: tail'])).toEqual([{ event: 'message', data: 'tail' }]);
  });
});
