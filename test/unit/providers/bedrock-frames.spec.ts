import { EventStreamCodec } from '@smithy/eventstream-codec';
import { ProviderTransportError, type StreamInterruptedError } from '../../../lib';
import { readConverseStream } from '../../../lib/core/providers/bedrock/bedrock-event-stream';
import type { StreamDelta } from '../../../lib/core/providers/provider.interfaces';
import { Exchange } from '../../../lib/core/transport/http';

const enc = new TextEncoder();
const codec = new EventStreamCodec((b) => new TextDecoder().decode(b), (s) => enc.encode(s));
const KiB = 1024;

function frame(type: string, body: unknown): Uint8Array {
  return codec.encode({
    headers: { ':event-type': { type: 'string', value: type }, ':content-type': { type: 'string', value: 'application/json' }, ':message-type': { type: 'string', value: 'event' } },
    body: enc.encode(JSON.stringify(body)),
  });
}

/** A prelude declaring `length` bytes, followed by a little filler; `pulls` counts the chunks read. */
function declaring(length: number, lead: Uint8Array[] = []): { body: ReadableStream<Uint8Array>; pulls: () => number } {
  const prelude = new Uint8Array(12);
  new DataView(prelude.buffer).setUint32(0, length, false);
  const chunks = [...lead, prelude, ...Array.from({ length: 64 }, () => new Uint8Array(16 * KiB))];
  let i = 0;
  return {
    body: new ReadableStream({ pull: (c) => (i < chunks.length ? c.enqueue(chunks[i++]) : c.close()) }, { highWaterMark: 0 }),
    pulls: () => i,
  };
}

async function run(body: ReadableStream<Uint8Array>, maxEventBytes: number): Promise<{ deltas: StreamDelta[]; error?: unknown }> {
  const ex = new Exchange('bedrock', { timeoutMs: 5000, maxEventBytes }, undefined);
  const deltas: StreamDelta[] = [];
  try {
    for await (const d of readConverseStream(ex, body)) deltas.push(d);
    return { deltas };
  } catch (error) {
    return { deltas, error };
  } finally {
    ex.finish(true);
  }
}

describe('bedrock event-stream: frame sizes are checked before the frame splitter allocates them', () => {
  it('a frame declaring more than maxEventBytes is refused at its prelude (ETOOLARGE), not buffered', async () => {
    const src = declaring(64 * 1024 * KiB);
    const { error } = await run(src.body, 256 * KiB);
    expect(error).toBeInstanceOf(ProviderTransportError);
    expect(error).toMatchObject({ code: 'ETOOLARGE', provider: 'bedrock' });
    expect((error as Error).message).toMatch(/frame of 67108864 bytes, over 262144 \(maxEventBytes\)/);
    expect(src.pulls()).toBeLessThanOrEqual(2);
  });

  it('after valid frames too (the boundaries are followed across chunks)', async () => {
    const lead = [frame('messageStart', { role: 'assistant' }), frame('contentBlockDelta', { contentBlockIndex: 0, delta: { text: 'Hi' } })];
    const joined = Uint8Array.from(Buffer.concat(lead));
    // Split the valid frames at odd places, so a prelude spans two chunks.
    const pieces = [joined.subarray(0, 3), joined.subarray(3, 50), joined.subarray(50)];
    const src = declaring(0xfffffff0, pieces);
    const { deltas, error } = await run(src.body, 256 * KiB);
    expect(deltas).toEqual([{ delta: 'Hi' }]);
    expect(error).toMatchObject({ name: 'ProviderTransportError', code: 'ETOOLARGE' });
  });

  it('a frame declaring fewer bytes than a prelude and checksum is malformed', async () => {
    const { error } = await run(declaring(3).body, 256 * KiB);
    expect(error).toMatchObject({ name: 'ProviderTransportError', code: 'EMALFORMED' });
  });

  it('a stream cut after messageStop is complete (only the usage frame is lost)', async () => {
    const frames = [frame('messageStart', { role: 'assistant' }), frame('contentBlockDelta', { delta: { text: 'Hi' } }), frame('messageStop', { stopReason: 'end_turn' })];
    let i = 0;
    const body = new ReadableStream<Uint8Array>({
      pull(c) {
        if (i < frames.length) c.enqueue(frames[i++]);
        else c.error(Object.assign(new TypeError('terminated'), { cause: { code: 'ECONNRESET' } }));
      },
    });
    const { deltas, error } = await run(body, 256 * KiB);
    expect(error as StreamInterruptedError | undefined).toBeUndefined();
    expect(deltas).toEqual([{ delta: 'Hi' }, { finishReason: 'stop' }]);
  });
});
