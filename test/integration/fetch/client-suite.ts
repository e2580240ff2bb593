import type { LlmRotate, RotatingFetch, UsageEvent } from '../../../lib';
import { OpenAiSdkFake, TOOL_ARGS } from '../../fakes/sdk/openai-sdk-fake';
import { keyRow } from '../../support/engine';
import { TOOL, type ClientDriver } from './clients';
import { awsCredentials, eventually, fetchEngine, fetchOptions, startFake, twoKeys, type FakeHandle, type FetchKey } from './harness';

/** The body a client handed to its fetch, as text (what the fake must receive byte for byte). */
export async function sentBody(input: string | URL | Request, init?: RequestInit): Promise<string> {
  const b = init?.body;
  if (typeof b === 'string') return b;
  if (b instanceof Uint8Array) return new TextDecoder().decode(b);
  if (b === undefined && input instanceof Request) return input.clone().text();
  return new Request('http://x/', { method: 'POST', body: b ?? null }).text();
}

/** A rotating fetch that also records the body of every request the client made. */
export function recording(f: RotatingFetch): { fetch: RotatingFetch; sent: string[] } {
  const sent: string[] = [];
  return {
    sent,
    fetch: async (input, init) => {
      sent.push(await sentBody(input, init));
      return f(input, init);
    },
  };
}

/**
 * What issue 11 asks of every client: the rate-limited key is hit once and then skipped while it cools; a tool call,
 * embeddings (where the client has them) and a streamed answer pass through unchanged; an abort through the client's
 * own signal cancels the upstream call and releases the lease without penalising the key. (Two processes sharing the
 * cooldown through Redis: `redis-shared-cooldown.fetch.spec.ts`, one child process for every client.)
 */
export function clientSuite(driver: ClientDriver): void {
  describe(`${driver.name} with fetch: llm.fetchFor('${driver.provider}')`, () => {
    let keys: [FetchKey, FetchKey];
    let fake: FakeHandle;
    let lr: LlmRotate;
    let events: UsageEvent[];
    const reply = `Hello from ${driver.model}`;

    beforeAll(async () => {
      keys = twoKeys(driver, driver.name);
      fake = await startFake(driver.fake, { credentials: driver.fake === 'bedrock' ? awsCredentials(keys) : undefined });
    });
    afterAll(() => fake.close());
    beforeEach(async () => {
      fake.reset();
      ({ lr, events } = await fetchEngine(fetchOptions(driver.provider, keys)));
    });
    afterEach(() => lr.close());

    it('a rate-limited key is hit once, then skipped while it cools; the client never sees the 429', async () => {
      const [k1, k2] = keys;
      fake.rateLimitOnce(k1.identity);
      const client = driver.open(fake.url, lr.fetchFor(driver.provider));
      expect(await client.chat()).toBe(reply);
      expect(await client.chat()).toBe(reply);
      expect(fake.hits(k1.identity)).toBe(1);
      expect(fake.hits(k2.identity)).toBe(2);
      expect((await keyRow(lr, 'k1')).state).toBe('COOLDOWN');
      expect(events.map((e) => [e.source, e.keyId, e.outcome, e.attempt])).toEqual([
        ['fetch', 'k1', 'rate_limit', 1],
        ['fetch', 'k2', 'success', 2],
        ['fetch', 'k2', 'success', 1],
      ]);
      expect(events[1].requestId).toBe(events[0].requestId);
      expect(events.every((e) => e.provider === driver.provider)).toBe(true);
      // The key's credential replaced the client's placeholder in every request.
      for (const r of fake.http.requests) expect(JSON.stringify(r.headers)).not.toContain('managed');
    });

    it('a tool call passes through unchanged (the request body byte for byte, the call as the vendor sent it)', async () => {
      const rec = recording(lr.fetchFor(driver.provider));
      const call = await driver.open(fake.url, rec.fetch).toolCall();
      expect(call).toEqual({ name: TOOL.name, args: TOOL_ARGS });
      const got = fake.http.requests.at(-1);
      expect(got?.body).toBe(rec.sent.at(-1));
      expect(JSON.stringify(got?.body)).toContain(TOOL.name);
      expect(events.at(-1)).toMatchObject({ source: 'fetch', keyId: 'k1', outcome: 'success' });
    });

    // Only clients that have embeddings get this test (Anthropic's have none).
    if (driver.embeddings) it('an embeddings request passes through unchanged', async () => {
      const rec = recording(lr.fetchFor(driver.provider));
      const client = driver.open(fake.url, rec.fetch);
      const values = ['hello world', 'abc'];
      const vectors = await (client.embed as (v: string[]) => Promise<number[][]>)(values);
      // Titan embeds one text per request (each answer is its index 0); the others answer the batch.
      expect(vectors).toEqual(values.map((v, i) => OpenAiSdkFake.vectorFor(driver.fake === 'bedrock' ? 0 : i, v)));
      expect(fake.http.requests.at(-1)?.body).toBe(rec.sent.at(-1));
      const last = events.at(-1) as UsageEvent;
      expect(last).toMatchObject({ source: 'fetch', outcome: 'success' });
      // Every wire format but Gemini's reports the tokens an embedding used.
      if (driver.fake !== 'gemini') expect(last.inputTokens).toBeGreaterThan(0);
    });

    it('a streamed answer passes through unchanged; its usage is reported once the body has been read', async () => {
      const deltas: string[] = [];
      const text = await driver.open(fake.url, lr.fetchFor(driver.provider)).stream((d) => deltas.push(d));
      expect(text).toBe(reply);
      expect(deltas.length).toBeGreaterThan(1);
      const last = events.at(-1) as UsageEvent;
      expect(last).toMatchObject({ source: 'fetch', keyId: 'k1', outcome: 'success' });
      expect(last.inputTokens).toBeGreaterThan(0);
      expect(last.outputTokens).toBeGreaterThan(0);
      expect((await keyRow(lr, 'k1')).leasesInUse).toBe(0);
      expect(lr.callsInFlight).toBe(0);
    });

    it("an abort through the client's own signal cancels the upstream call and releases the key, which is not penalised", async () => {
      const slow = await startFake(driver.fake, {
        gapMs: 40,
        reply: Array.from({ length: 40 }, (_, i) => `word${i}`).join(' '),
        credentials: driver.fake === 'bedrock' ? awsCredentials(keys) : undefined,
      });
      try {
        const ctrl = new AbortController();
        let leasesWhileStreaming = -1;
        let first = true;
        const client = driver.open(slow.url, lr.fetchFor(driver.provider));
        const done = client
          .stream((d) => {
            if (!first || d === '') return;
            first = false;
            void keyRow(lr, 'k1')
              .then((r) => (leasesWhileStreaming = r.leasesInUse))
              .finally(() => ctrl.abort());
          }, ctrl.signal)
          .then(
            () => undefined,
            (e: unknown) => e,
          );
        await done;
        expect(first).toBe(false);
        expect(leasesWhileStreaming).toBe(1);
        await eventually(async () => (await keyRow(lr, 'k1')).leasesInUse === 0, 'the lease to be released');
        const row = await keyRow(lr, 'k1');
        expect(row.state).toBe('ACTIVE');
        expect(row.consecutiveFailures).toBe(0);
        await eventually(() => events.length > 0, 'the usage event');
        expect(events.at(-1)).toMatchObject({ source: 'fetch', keyId: 'k1', outcome: 'cancelled' });
        await eventually(() => slow.http.abortedResponses > 0, 'the upstream response to be cancelled');
        expect(lr.callsInFlight).toBe(0);
      } finally {
        await slow.close();
      }
    });
  });
}
