import fc from 'fast-check';
import { LlmRotateError } from '../../../lib';
import type { ProviderSettings } from '../../../lib/core/config/resolved-config';
import type { CallTarget, ProviderAdapter, StreamDelta } from '../../../lib/core/providers/provider.interfaces';
import { createAdapters } from '../../../lib/core/providers/registry';
import { Exchange } from '../../../lib/core/transport/http';
import type { ErrorKind, ProviderName } from '../../../lib/core/types';
import { anthropicWire, bedrockWire, geminiWire, openAiWire } from '../../fakes/fault-wires';
import type { FaultWire } from '../../fakes/faults';

/**
 * Whatever JSON an upstream sends, in a non-streamed answer, in a stream event or in an error body, every adapter
 * either decodes it into well-typed values or throws one of the library's errors — never a TypeError, SyntaxError or
 * RangeError. Valid documents are mutated at every path (null, numbers, strings, lists, objects where other things
 * belong) and fast-check adds arbitrary JSON.
 */

const adapters = createAdapters();
const KINDS: ReadonlySet<ErrorKind> = new Set(['rate_limit', 'auth', 'transient', 'bad_request']);
const ODD: readonly unknown[] = [null, 0, -1, 42.5, 1e308, '', 'x', true, [], [null], {}, { constructor: 1 }];

interface Wire {
  provider: ProviderName;
  wire: FaultWire;
  /** A valid stream event payload of this wire format (what gets mutated). */
  event: unknown;
}

const WIRES: Wire[] = [
  { provider: 'openai', wire: openAiWire('m'), event: { id: 'c', choices: [{ index: 0, delta: { role: 'assistant', content: 'hi' }, finish_reason: null }], usage: { prompt_tokens: 1, completion_tokens: 2 } } },
  { provider: 'anthropic', wire: anthropicWire('m'), event: { type: 'content_block_delta', index: 0, delta: { type: 'text_delta', text: 'hi' } } },
  { provider: 'google_ai_studio', wire: geminiWire('m'), event: { candidates: [{ content: { parts: [{ text: 'hi' }], role: 'model' }, finishReason: 'STOP', index: 0 }], usageMetadata: { promptTokenCount: 1 } } },
  { provider: 'bedrock', wire: bedrockWire(), event: { contentBlockIndex: 0, delta: { text: 'hi' } } },
];

function adapterOf(p: ProviderName): ProviderAdapter {
  return adapters[p] as ProviderAdapter;
}

const settings = (provider: ProviderName): ProviderSettings => ({
  provider,
  timeoutMs: 5000,
  headers: {},
  health: { cooldownMs: 1000, quarantineMs: 1000, maxConsecutiveFailures: 3, maxBenchMs: 3_600_000 },
});
const target = (provider: ProviderName): CallTarget => ({ provider, keyId: 'k', model: 'm', secret: 's', baseUrl: 'http://127.0.0.1:1', settings: settings(provider), metadata: {} });

/** Every document obtained by replacing one value (at any depth) of `doc` with one of {@link ODD}. */
function* mutations(doc: unknown): Generator<unknown> {
  for (const v of ODD) yield v;
  if (Array.isArray(doc)) {
    for (let i = 0; i < doc.length; i++) for (const m of mutations(doc[i])) yield doc.map((x, j) => (j === i ? m : x));
  } else if (typeof doc === 'object' && doc !== null) {
    for (const [k, v] of Object.entries(doc)) for (const m of mutations(v)) yield { ...doc, [k]: m };
  }
}

function expectLibraryError(e: unknown): void {
  if (!(e instanceof LlmRotateError)) throw new Error(`a non-library error escaped: ${String(e instanceof Error ? `${e.name}: ${e.message}` : e)}`);
}

function checkDelta(d: StreamDelta): void {
  if (d.delta !== undefined) expect(typeof d.delta).toBe('string');
  if (d.usage !== undefined) {
    for (const n of [d.usage.inputTokens, d.usage.outputTokens]) if (n !== undefined) expect(Number.isFinite(n) && n >= 0).toBe(true);
  }
  if (d.error !== undefined) {
    expect(KINDS.has(d.error.kind)).toBe(true);
    expect(typeof d.error.message).toBe('string');
    expect(Number.isInteger(d.error.status)).toBe(true);
  }
}

/** Runs one adapter's stream decoder over `bytes`; returns 'ok' or 'error' (a library error), fails otherwise. */
async function decode(w: Wire, bytes: Buffer): Promise<'ok' | 'error'> {
  const ex = new Exchange(w.provider, 5000, undefined);
  const res = new Response(new Uint8Array(bytes), { headers: { 'content-type': w.wire.streamContentType } });
  try {
    for await (const d of adapterOf(w.provider).readStream(ex, res, target(w.provider))) checkDelta(d);
    return 'ok';
  } catch (e) {
    expectLibraryError(e);
    return 'error';
  } finally {
    ex.finish(false);
  }
}

describe('odd payloads: only typed library errors, whatever an upstream sends', () => {
  describe.each(WIRES)('$provider stream events', (w) => {
    it('an odd event before or after the first chunk, at any path of a valid event', async () => {
      let n = 0;
      for (const doc of mutations(w.event)) {
        const payload = JSON.stringify(doc);
        for (const afterFirst of [false, true]) {
          const bytes = Buffer.concat([...(afterFirst ? [w.wire.streamStart()] : []), w.wire.rawEvent(payload), ...(afterFirst ? [] : [w.wire.streamStart()]), w.wire.streamEnd()]);
          await decode(w, bytes);
          n++;
        }
      }
      expect(n).toBeGreaterThan(50);
    });

    it('arbitrary JSON events (fast-check)', async () => {
      await fc.assert(
        fc.asyncProperty(fc.jsonValue({ maxDepth: 4 }), async (v) => {
          await decode(w, Buffer.concat([w.wire.streamStart(), w.wire.rawEvent(JSON.stringify(v)), w.wire.streamEnd()]));
        }),
        { numRuns: 150, seed: 8 },
      );
    });

    it('undecodable bytes and non-JSON text', async () => {
      for (const payload of ['{"a":', 'undefined', 'NaN', '\u0000\u0001', '{"a":1}{"b":2}', ' ', '[DONE', '\ud800']) {
        expect(await decode(w, Buffer.concat([w.wire.streamStart(), w.wire.rawEvent(payload), w.wire.streamEnd()]))).toBe('error');
      }
    });
  });

  // google_vertex and the OpenAI flavours share the decoders above; their answers and errors are checked here too.
  describe.each(['openai', 'openrouter', 'azure_openai', 'anthropic', 'google_ai_studio', 'google_vertex', 'bedrock'] as const)('%s answers and error bodies', (p) => {
    const w = WIRES.find((x) => x.provider === (p === 'openrouter' || p === 'azure_openai' ? 'openai' : p === 'google_vertex' ? 'google_ai_studio' : p)) as Wire;
    const adapter = adapterOf(p);

    it('a non-streamed answer mutated at any path decodes to typed values or a library error', () => {
      for (const doc of mutations(w.wire.okJson())) {
        try {
          const r = adapter.parseResponse(doc, target(p));
          expect(typeof r.content).toBe('string');
          expect(Number.isFinite(r.usage.inputTokens) && Number.isFinite(r.usage.outputTokens)).toBe(true);
        } catch (e) {
          expectLibraryError(e);
        }
      }
    });

    it('error bodies of any shape are classified, never thrown', () => {
      const bodies = [
        'null', '[]', '[null]', '42', '"x"', '{}', '{"error":null}', '{"error":42}', '{"error":{"message":42,"code":"x"}}',
        '{"error":{"status":"constructor","details":[null,1,"x",{"@type":"type.googleapis.com/google.rpc.ErrorInfo","reason":"__proto__"}]}}',
        '{"type":"error","error":{"type":"toString","message":null}}', '{"__type":"constructor","message":[1]}', '<html>', '',
      ];
      for (const body of bodies) {
        for (const status of [400, 401, 429, 500, 503]) {
          const c = adapter.classifyError(status, new Headers({ 'x-amzn-errortype': 'hasOwnProperty', 'retry-after': 'soon' }), body, Date.UTC(2026, 0, 1));
          expect(KINDS.has(c.kind)).toBe(true);
          expect(typeof c.message).toBe('string');
        }
      }
    });
  });
});
