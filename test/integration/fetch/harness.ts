import { LlmRotate, type KeyOptions, type LlmRotateOptions, type StateStoreOptions, type UsageEvent } from '../../../lib';
import type { FakeHttpServer } from '../../fakes/fake-http';
import { AnthropicSdkFake } from '../../fakes/sdk/anthropic-sdk-fake';
import { BedrockSdkFake } from '../../fakes/sdk/bedrock-sdk-fake';
import { GeminiSdkFake } from '../../fakes/sdk/gemini-sdk-fake';
import { OpenAiSdkFake } from '../../fakes/sdk/openai-sdk-fake';
import { recordingLogger } from '../../support/options';
import type { ClientDriver, FakeKind } from './clients';

/** The vendor fakes behind one small interface: their URL, hits per key, and the scripts the client tests need. */
export interface FakeHandle {
  readonly kind: FakeKind;
  readonly url: string;
  readonly http: FakeHttpServer;
  hits(identity: string): number;
  /** The key's next request draws the vendor's rate-limit answer; the ones after succeed. */
  rateLimitOnce(identity: string): void;
  reset(): void;
  close(): Promise<void>;
}

export interface FakeOptions {
  gapMs?: number;
  reply?: string;
  /** Bedrock: the AWS credentials the fake verifies signatures for. */
  credentials?: Array<{ accessKeyId: string; secretAccessKey: string }>;
}

export async function startFake(kind: FakeKind, o: FakeOptions = {}): Promise<FakeHandle> {
  switch (kind) {
    case 'openai': {
      const f = await OpenAiSdkFake.start({ gapMs: o.gapMs, reply: o.reply });
      return handle(kind, f, (id) => f.script(id, 'rate_limit', 'ok'), (id) => f.hits(id));
    }
    case 'anthropic': {
      const f = await AnthropicSdkFake.start({ gapMs: o.gapMs, reply: o.reply });
      return handle(kind, f, (id) => f.script(id, 'rate_limit', 'ok'), (id) => f.hits(id));
    }
    case 'gemini': {
      const f = await GeminiSdkFake.start({ gapMs: o.gapMs, reply: o.reply });
      return handle(kind, f, (id) => f.script(id, 'rate_limit', 'ok'), (id) => f.hits(id));
    }
    case 'bedrock': {
      const f = await BedrockSdkFake.start({ gapMs: o.gapMs, reply: o.reply, credentials: o.credentials, apiKeys: ['bedrock-api-key-k1', 'bedrock-api-key-k2'] });
      return handle(kind, f, (id) => f.script(id, 'throttling', 'ok'), (id) => f.hits(id));
    }
  }
}

function handle(kind: FakeKind, f: { url: string; http: FakeHttpServer; reset(): void; close(): Promise<void> }, limit: (id: string) => void, hits: (id: string) => number): FakeHandle {
  return { kind, url: f.url, http: f.http, hits, rateLimitOnce: limit, reset: () => f.reset(), close: () => f.close() };
}

/** A test key: its id, the identity the fake sees (the API key, or the AWS access key id), and its secret. */
export interface FetchKey {
  readonly keyId: string;
  readonly identity: string;
  readonly secret: string;
}

/** Two keys of the driver's provider: `k1` (tried first) and `k2`. */
export function twoKeys(driver: Pick<ClientDriver, 'fake'>, tag = 'fetch'): [FetchKey, FetchKey] {
  const make = (keyId: string, n: number): FetchKey => {
    if (driver.fake === 'bedrock') {
      const accessKeyId = `AKIA${n}${tag.toUpperCase().replace(/[^A-Z0-9]/g, '')}`.padEnd(20, 'X').slice(0, 20);
      return { keyId, identity: accessKeyId, secret: JSON.stringify({ accessKeyId, secretAccessKey: `secret-${tag}-${keyId}-0123456789abcdef` }) };
    }
    const value = `key-${tag}-${keyId}-0123456789abcdef`;
    return { keyId, identity: value, secret: value };
  };
  return [make('k1', 1), make('k2', 2)];
}

/** The AWS credentials of Bedrock test keys (for the fake to verify). */
export function awsCredentials(keys: readonly FetchKey[]): Array<{ accessKeyId: string; secretAccessKey: string }> {
  return keys.map((k) => JSON.parse(k.secret) as { accessKeyId: string; secretAccessKey: string });
}

/**
 * Options for an engine over `keys` of `provider`: `priority` strategy with `k1` first, so the first key tried is
 * known; Bedrock keys carry their region. The keys' `baseUrl` points nowhere on purpose: a rotating fetch keeps the
 * client's URL.
 */
export function fetchOptions(
  provider: KeyOptions['provider'],
  keys: readonly FetchKey[],
  extra: { stateStore?: StateStoreOptions; models?: string[]; providers?: LlmRotateOptions['registry']['providers'] } = {},
): LlmRotateOptions {
  return {
    registry: {
      keys: keys.map((k, i) => ({
        keyId: k.keyId,
        provider,
        secretRef: `literal://${k.secret}`,
        priority: keys.length - i,
        baseUrl: 'http://127.0.0.1:9/never-used',
        ...(extra.models ? { models: extra.models } : {}),
        ...(provider === 'bedrock' ? { metadata: { region: 'us-east-1' } } : {}),
      })),
      stateStore: extra.stateStore,
      providers: extra.providers,
    },
    useKeys: keys.map((k) => k.keyId),
    strategy: 'priority',
  };
}

/** An engine with a recording logger and the usage events it emits. */
export async function fetchEngine(options: LlmRotateOptions): Promise<{ lr: LlmRotate; events: UsageEvent[]; lines: string[] }> {
  const { lines, logger } = recordingLogger();
  const lr = await LlmRotate.create(options, { logger });
  const events: UsageEvent[] = [];
  lr.onUsage((e) => events.push(e));
  return { lr, events, lines };
}

/** Polls until `fn` holds (effects that land after the client returned, e.g. a cancelled upstream). */
export async function eventually(fn: () => boolean | Promise<boolean>, what: string, ms = 10_000): Promise<void> {
  const end = Date.now() + ms;
  for (;;) {
    if (await fn()) return;
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}
