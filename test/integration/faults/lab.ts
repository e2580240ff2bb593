import { randomBytes } from 'node:crypto';
import type { ProviderName, ProviderOptions } from '../../../lib';
import { AnthropicFake } from '../../fakes/anthropic-fake';
import { BedrockFake } from '../../fakes/bedrock-fake';
import type { Fault } from '../../fakes/faults';
import { GeminiFake } from '../../fakes/gemini-fake';
import { GoogleOAuthFake } from '../../fakes/google-oauth-fake';
import { OpenAiFake } from '../../fakes/openai-fake';
import type { TestKey } from '../../support/options';

export type Slot = 'a' | 'b';

/** One provider's wire format, reached through its vendor fake with two keys: `a` (tried first) and `b`. */
export interface ProviderCase {
  readonly provider: ProviderName;
  readonly model: string;
  /** The two keys, `a` with the higher priority. */
  readonly keys: readonly [TestKey, TestKey];
  /** Provider settings the wire format needs (a region, …). */
  readonly settings: ProviderOptions;
  /** Scripts what the fake does for the key in `slot`. */
  script(slot: Slot, ...faults: Fault[]): void;
  /** Requests that reached the fake with the key in `slot`. */
  hits(slot: Slot): number;
  /** Strings that must never appear in anything the library hands out (secrets, parts of a key file). */
  readonly secrets: readonly string[];
  /** What an upstream can echo of key `a`'s credential in an error: its API key, or for Vertex its OAuth token. */
  readonly echo: string;
  /** What the fake answers when nothing is scripted. */
  readonly reply: RegExp;
}

const hex = (n: number): string => randomBytes(n).toString('hex');

/** The vendor fakes shared by the fault matrix (one server each), and the seven provider cases over them. */
export class FaultLab {
  private constructor(
    readonly openai: OpenAiFake,
    readonly anthropic: AnthropicFake,
    readonly gemini: GeminiFake,
    readonly oauth: GoogleOAuthFake,
    readonly bedrock: BedrockFake,
    private readonly bedrockKeys: readonly [string, string],
  ) {}

  static async start(): Promise<FaultLab> {
    const oauth = await GoogleOAuthFake.start();
    const bedrockKeys = [`ABSK${hex(24)}`, `ABSK${hex(24)}`] as const;
    const [openai, anthropic, gemini, bedrock] = await Promise.all([
      OpenAiFake.start(),
      AnthropicFake.start(),
      GeminiFake.start({ authorize: (token) => oauth.identityOf(token) }),
      BedrockFake.start({ apiKeys: [...bedrockKeys] }),
    ]);
    return new FaultLab(openai, anthropic, gemini, oauth, bedrock, bedrockKeys);
  }

  reset(): void {
    this.openai.reset();
    this.anthropic.reset();
    this.gemini.reset();
    this.bedrock.reset();
  }

  async close(): Promise<void> {
    await Promise.all([this.openai.close(), this.anthropic.close(), this.gemini.close(), this.oauth.close(), this.bedrock.close()]);
  }

  /** The seven providers, each with fresh secrets. */
  cases(): ProviderCase[] {
    const two = (prefix: string): [string, string] => [`${prefix}${hex(20)}`, `${prefix}${hex(20)}`];
    const keysOf = (provider: ProviderName, model: string, secrets: readonly [string, string], baseUrl: string): [TestKey, TestKey] => [
      { keyId: 'a', provider, models: [model], secret: secrets[0], baseUrl, priority: 2 },
      { keyId: 'b', provider, models: [model], secret: secrets[1], baseUrl, priority: 1 },
    ];
    const bySecret = <B>(secrets: readonly [string, string], fake: { script(id: string, ...b: B[]): unknown; hits(id: string): number }) => ({
      script: (slot: Slot, ...faults: B[]): void => void fake.script(secrets[slot === 'a' ? 0 : 1], ...faults),
      hits: (slot: Slot): number => fake.hits(secrets[slot === 'a' ? 0 : 1]),
    });
    const out: ProviderCase[] = [];

    const openAiLike = (provider: ProviderName, model: string, prefix: string, baseUrl: string, settings: ProviderOptions = {}): ProviderCase => {
      const secrets = two(prefix);
      return { provider, model, keys: keysOf(provider, model, secrets, baseUrl), settings, secrets, echo: secrets[0], reply: /^Hello from /, ...bySecret(secrets, this.openai) };
    };
    out.push(openAiLike('openai', 'gpt-4o-mini', 'sk-proj-', this.openai.baseUrl));
    out.push(openAiLike('openrouter', 'openai/gpt-4o-mini', 'sk-or-v1-', this.openai.baseUrl));
    out.push(openAiLike('azure_openai', 'gpt-4o-mini', '', this.openai.url, { apiVersion: '2024-10-21' }));

    const ant = two('sk-ant-api03-');
    out.push({ provider: 'anthropic', model: 'claude-3-5-haiku-latest', keys: keysOf('anthropic', 'claude-3-5-haiku-latest', ant, this.anthropic.baseUrl), settings: {}, secrets: ant, echo: ant[0], reply: /^Hello from /, ...bySecret(ant, this.anthropic) });

    const studio = two('AIza');
    out.push({ provider: 'google_ai_studio', model: 'gemini-2.0-flash', keys: keysOf('google_ai_studio', 'gemini-2.0-flash', studio, this.gemini.url), settings: {}, secrets: studio, echo: studio[0], reply: /^Hello from /, ...bySecret(studio, this.gemini) });

    const sa = [this.oauth.createServiceAccount(`fault-a-${hex(3)}`, 'fault-proj'), this.oauth.createServiceAccount(`fault-b-${hex(3)}`, 'fault-proj')] as const;
    const saJson = sa.map((s) => JSON.stringify(JSON.parse(s.json))) as [string, string];
    const emails = sa.map((s) => s.email) as [string, string];
    // The key file itself and the body of its private key (any line of it identifies the key).
    const keyBodies = sa.map((s) => s.privateKey.split('\n')[2]);
    // Gemini sees an OAuth access token, never the key file: that is what it could echo.
    const token = `ya29.c.${hex(40)}`;
    out.push({
      provider: 'google_vertex',
      model: 'gemini-2.0-flash',
      keys: keysOf('google_vertex', 'gemini-2.0-flash', saJson, this.gemini.url),
      settings: {},
      secrets: [...saJson, ...keyBodies, token],
      echo: token,
      reply: /^Hello from /,
      ...bySecret(emails, this.gemini),
    });

    out.push({
      provider: 'bedrock',
      model: 'anthropic.claude-3-haiku-20240307-v1:0',
      keys: keysOf('bedrock', 'anthropic.claude-3-haiku-20240307-v1:0', this.bedrockKeys, this.bedrock.url),
      settings: { region: 'us-east-1' },
      secrets: this.bedrockKeys,
      echo: this.bedrockKeys[0],
      reply: /^Hello from /,
      ...bySecret(this.bedrockKeys, this.bedrock),
    });
    return out;
  }
}
