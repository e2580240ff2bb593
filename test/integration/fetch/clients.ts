/**
 * The real client packages, each driven through `fetchFor()` the way a user wires it (the lines the README shows):
 * one driver per client, the same operations for all (a chat, a streamed answer, a tool call, embeddings where the
 * client has them). Shared by the per-client specs and the child process of the Redis spec.
 */
import Anthropic from '@anthropic-ai/sdk';
import { createAmazonBedrock } from '@ai-sdk/amazon-bedrock';
import { createAnthropic } from '@ai-sdk/anthropic';
import { createAzure } from '@ai-sdk/azure';
import { createGoogleGenerativeAI } from '@ai-sdk/google';
import { createOpenAI } from '@ai-sdk/openai';
import { ChatOpenAI, OpenAIEmbeddings } from '@langchain/openai';
import { embedMany, generateText, jsonSchema, streamText, tool, type EmbeddingModel, type LanguageModel } from 'ai';
import OpenAI, { AzureOpenAI } from 'openai';
import type { ProviderName, RotatingFetch } from '../../../lib';

// The AI SDK logs compatibility warnings for the fakes' model names; they say nothing about the code under test.
(globalThis as { AI_SDK_LOG_WARNINGS?: boolean }).AI_SDK_LOG_WARNINGS = false;

export type FakeKind = 'openai' | 'anthropic' | 'gemini' | 'bedrock';

/** One client built on a rotating fetch, pointed at a fake. */
export interface ClientSession {
  chat(signal?: AbortSignal): Promise<string>;
  /** Streams an answer; `onDelta` sees each piece of text as the client yields it. */
  stream(onDelta?: (text: string) => void, signal?: AbortSignal): Promise<string>;
  toolCall(): Promise<{ name: string; args: unknown }>;
  embed?(values: string[]): Promise<number[][]>;
}

export interface ClientDriver {
  readonly name: string;
  readonly provider: ProviderName;
  readonly fake: FakeKind;
  readonly model: string;
  /** Whether the client has embeddings (its session's `embed`). */
  readonly embeddings: boolean;
  /** The client built with `fetch`, against the fake at `fakeUrl` (its root URL). */
  open(fakeUrl: string, fetch: RotatingFetch): ClientSession;
}

export const TOOL = {
  name: 'get_weather',
  description: 'The weather in a city',
  parameters: { type: 'object', properties: { city: { type: 'string' } }, required: ['city'], additionalProperties: false },
} as const;
const PROMPT = 'What is the weather in Paris?';

// ───────────────────────── official clients ─────────────────────────

/** `openai` and `AzureOpenAI` share everything but how they are built. */
function openAiSession(client: OpenAI, model: string, embeddingModel: string): ClientSession {
  return {
    async chat(signal) {
      const r = await client.chat.completions.create({ model, messages: [{ role: 'user', content: 'hi' }] }, { signal });
      return r.choices[0].message.content ?? '';
    },
    async stream(onDelta, signal) {
      const s = await client.chat.completions.create({ model, messages: [{ role: 'user', content: 'hi' }], stream: true, stream_options: { include_usage: true } }, { signal });
      let text = '';
      for await (const chunk of s) {
        const d = chunk.choices[0]?.delta?.content ?? '';
        if (d !== '') {
          text += d;
          onDelta?.(d);
        }
      }
      return text;
    },
    async toolCall() {
      const r = await client.chat.completions.create({ model, messages: [{ role: 'user', content: PROMPT }], tools: [{ type: 'function', function: { ...TOOL, parameters: { ...TOOL.parameters } } }] });
      const call = r.choices[0].message.tool_calls?.[0];
      if (call === undefined || call.type !== 'function') throw new Error('no function call in the answer');
      return { name: call.function.name, args: JSON.parse(call.function.arguments) as unknown };
    },
    async embed(values) {
      const r = await client.embeddings.create({ model: embeddingModel, input: values });
      return r.data.map((d) => d.embedding);
    },
  };
}

export const openaiDriver: ClientDriver = {
  name: 'openai',
  provider: 'openai',
  fake: 'openai',
  model: 'gpt-4o-mini',
  embeddings: true,
  open: (url, fetch) => openAiSession(new OpenAI({ apiKey: 'managed', baseURL: `${url}/v1`, fetch, maxRetries: 0 }), 'gpt-4o-mini', 'text-embedding-3-small'),
};

export const azureOpenaiDriver: ClientDriver = {
  name: 'AzureOpenAI',
  provider: 'azure_openai',
  fake: 'openai',
  model: 'gpt-4o-mini',
  embeddings: true,
  open: (url, fetch) => openAiSession(new AzureOpenAI({ apiKey: 'managed', endpoint: url, apiVersion: '2024-10-21', fetch, maxRetries: 0 }), 'gpt-4o-mini', 'text-embedding-3-small'),
};

export const anthropicDriver: ClientDriver = {
  name: '@anthropic-ai/sdk',
  provider: 'anthropic',
  fake: 'anthropic',
  model: 'claude-3-5-haiku-latest',
  embeddings: false,
  open(url, fetch) {
    const client = new Anthropic({ apiKey: 'managed', baseURL: url, fetch, maxRetries: 0 });
    const model = this.model;
    return {
      async chat(signal) {
        const r = await client.messages.create({ model, max_tokens: 256, messages: [{ role: 'user', content: 'hi' }] }, { signal });
        return r.content.map((b) => (b.type === 'text' ? b.text : '')).join('');
      },
      async stream(onDelta, signal) {
        const s = await client.messages.create({ model, max_tokens: 256, messages: [{ role: 'user', content: 'hi' }], stream: true }, { signal });
        let text = '';
        for await (const ev of s) {
          if (ev.type === 'content_block_delta' && ev.delta.type === 'text_delta') {
            text += ev.delta.text;
            onDelta?.(ev.delta.text);
          }
        }
        return text;
      },
      async toolCall() {
        const r = await client.messages.create({
          model,
          max_tokens: 256,
          messages: [{ role: 'user', content: PROMPT }],
          tools: [{ name: TOOL.name, description: TOOL.description, input_schema: { ...TOOL.parameters, properties: { ...TOOL.parameters.properties }, required: [...TOOL.parameters.required] } }],
        });
        const block = r.content.find((b) => b.type === 'tool_use');
        if (block === undefined || block.type !== 'tool_use') throw new Error('no tool_use block in the answer');
        return { name: block.name, args: block.input };
      },
    };
  },
};

// ───────────────────────── Vercel AI SDK ─────────────────────────

const weatherTool = tool({ description: TOOL.description, inputSchema: jsonSchema<{ city: string }>({ ...TOOL.parameters, properties: { ...TOOL.parameters.properties }, required: [...TOOL.parameters.required] }) });

/** Every AI SDK provider is driven the same way: generateText, streamText, a tool, embedMany. */
function aiSdkSession(model: LanguageModel, embedding: EmbeddingModel | undefined): ClientSession {
  const session: ClientSession = {
    async chat(signal) {
      const r = await generateText({ model, prompt: 'hi', maxRetries: 0, abortSignal: signal });
      return r.text;
    },
    async stream(onDelta, signal) {
      let failure: unknown;
      const r = streamText({ model, prompt: 'hi', maxRetries: 0, abortSignal: signal, onError: ({ error }) => void (failure = error) });
      let text = '';
      for await (const d of r.textStream) {
        text += d;
        onDelta?.(d);
      }
      if (failure !== undefined) throw failure;
      return text;
    },
    async toolCall() {
      const r = await generateText({ model, prompt: PROMPT, tools: { [TOOL.name]: weatherTool }, maxRetries: 0 });
      const call = r.toolCalls[0];
      if (call === undefined) throw new Error('no tool call in the answer');
      return { name: call.toolName, args: call.input };
    },
  };
  if (embedding !== undefined) {
    session.embed = async (values) => (await embedMany({ model: embedding, values, maxRetries: 0 })).embeddings;
  }
  return session;
}

export const aiSdkOpenaiDriver: ClientDriver = {
  name: '@ai-sdk/openai',
  provider: 'openai',
  fake: 'openai',
  model: 'gpt-4o-mini',
  embeddings: true,
  open(url, fetch) {
    const openai = createOpenAI({ apiKey: 'managed', baseURL: `${url}/v1`, fetch });
    return aiSdkSession(openai('gpt-4o-mini'), openai.embedding('text-embedding-3-small'));
  },
};

export const aiSdkAzureDriver: ClientDriver = {
  name: '@ai-sdk/azure',
  provider: 'azure_openai',
  fake: 'openai',
  model: 'gpt-4o-mini',
  embeddings: true,
  open(url, fetch) {
    const azure = createAzure({ apiKey: 'managed', baseURL: `${url}/openai`, fetch });
    return aiSdkSession(azure('gpt-4o-mini'), azure.embedding('text-embedding-3-small'));
  },
};

export const aiSdkAnthropicDriver: ClientDriver = {
  name: '@ai-sdk/anthropic',
  provider: 'anthropic',
  fake: 'anthropic',
  model: 'claude-3-5-haiku-latest',
  embeddings: false,
  open(url, fetch) {
    const anthropic = createAnthropic({ apiKey: 'managed', baseURL: `${url}/v1`, fetch });
    return aiSdkSession(anthropic('claude-3-5-haiku-latest'), undefined);
  },
};

export const aiSdkGoogleDriver: ClientDriver = {
  name: '@ai-sdk/google',
  provider: 'google_ai_studio',
  fake: 'gemini',
  model: 'gemini-2.0-flash',
  embeddings: true,
  open(url, fetch) {
    const google = createGoogleGenerativeAI({ apiKey: 'managed', baseURL: `${url}/v1beta`, fetch });
    return aiSdkSession(google('gemini-2.0-flash'), google.embedding('text-embedding-004'));
  },
};

export const aiSdkBedrockDriver: ClientDriver = {
  name: '@ai-sdk/amazon-bedrock',
  provider: 'bedrock',
  fake: 'bedrock',
  model: 'anthropic.claude-3-haiku-20240307-v1:0',
  embeddings: true,
  open(url, fetch) {
    // The provider signs with the credentials it is given; the rotating fetch re-signs for the leased key.
    const bedrock = createAmazonBedrock({ region: 'us-east-1', accessKeyId: 'managed', secretAccessKey: 'managed', baseURL: url, fetch });
    return aiSdkSession(bedrock('anthropic.claude-3-haiku-20240307-v1:0'), bedrock.embedding('amazon.titan-embed-text-v2:0'));
  },
};

// ───────────────────────── LangChain ─────────────────────────

export const langchainOpenaiDriver: ClientDriver = {
  name: '@langchain/openai',
  provider: 'openai',
  fake: 'openai',
  model: 'gpt-4o-mini',
  embeddings: true,
  open(url, fetch) {
    const configuration = { baseURL: `${url}/v1`, fetch };
    const chat = new ChatOpenAI({ model: 'gpt-4o-mini', apiKey: 'managed', maxRetries: 0, configuration });
    const embeddings = new OpenAIEmbeddings({ model: 'text-embedding-3-small', apiKey: 'managed', maxRetries: 0, configuration });
    return {
      async chat(signal) {
        const r = await chat.invoke('hi', { signal });
        return typeof r.content === 'string' ? r.content : JSON.stringify(r.content);
      },
      async stream(onDelta, signal) {
        let text = '';
        for await (const chunk of await chat.stream('hi', { signal })) {
          const d = typeof chunk.content === 'string' ? chunk.content : '';
          if (d !== '') {
            text += d;
            onDelta?.(d);
          }
        }
        return text;
      },
      async toolCall() {
        const r = await chat.bindTools([{ type: 'function', function: { ...TOOL, parameters: { ...TOOL.parameters } } }]).invoke(PROMPT);
        const call = r.tool_calls?.[0];
        if (call === undefined) throw new Error('no tool call in the answer');
        return { name: call.name, args: call.args };
      },
      embed: (values) => embeddings.embedDocuments(values),
    };
  },
};

export const DRIVERS: readonly ClientDriver[] = [
  openaiDriver,
  azureOpenaiDriver,
  anthropicDriver,
  aiSdkOpenaiDriver,
  aiSdkAzureDriver,
  aiSdkAnthropicDriver,
  aiSdkGoogleDriver,
  aiSdkBedrockDriver,
  langchainOpenaiDriver,
];

export function driverNamed(name: string): ClientDriver {
  const d = DRIVERS.find((x) => x.name === name);
  if (d === undefined) throw new Error(`no client driver named ${name}`);
  return d;
}
