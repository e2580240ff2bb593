import type { ServerResponse } from 'node:http';
import { sendJson, type RecordedRequest } from '../fake-http';
import { GeminiFake, type GeminiFakeOptions } from '../gemini-fake';
import { OpenAiSdkFake, TOOL_ARGS } from './openai-sdk-fake';

const EMBED = /^\/(v1|v1beta)\/models\/([^/:?]+):(embedContent|batchEmbedContents)$/;
const GENERATE = /^\/(v1|v1beta)\/models\/([^/:?]+):(generateContent|streamGenerateContent)$/;

/**
 * The Gemini fake (AI Studio URLs) extended with embeddings (`:embedContent`, `:batchEmbedContents`; vectors from
 * {@link OpenAiSdkFake.vectorFor}) and function calling: a generateContent request with `tools` (and a script that
 * says 'ok') is answered with a `functionCall` part calling the first declared function with {@link TOOL_ARGS}.
 * Everything else is the base fake's.
 */
export class GeminiSdkFake extends GeminiFake {
  static override start(options: GeminiFakeOptions = {}): Promise<GeminiSdkFake> {
    return GeminiSdkFake.boot((http) => new GeminiSdkFake(http, options));
  }

  protected override async handle(req: RecordedRequest, res: ServerResponse): Promise<void> {
    const [path, search = ''] = req.path.split('?');
    const embed = EMBED.exec(path);
    const generate = GENERATE.exec(path);
    const body = (req.json ?? {}) as { tools?: Array<{ functionDeclarations?: Array<{ name?: string }> }>; content?: { parts?: Array<{ text?: string }> }; requests?: Array<{ content?: { parts?: Array<{ text?: string }> } }> };
    const tools = generate !== null && Array.isArray(body.tools) && body.tools.length > 0;
    if (req.method !== 'POST' || (embed === null && !tools)) {
      await super.handle(req, res);
      return;
    }
    const m = (embed ?? generate) as RegExpExecArray;
    const key = header(req, 'x-goog-api-key') ?? new URLSearchParams(search).get('key') ?? undefined;
    if (key === undefined) {
      sendJson(res, 403, { error: { code: 403, message: "Method doesn't allow unregistered callers.", status: 'PERMISSION_DENIED' } });
      return;
    }
    this.calls.push({ api: 'ai_studio', version: m[1], model: decodeURIComponent(m[2]), stream: m[3] === 'streamGenerateContent', sse: false, identity: key, request: req });
    if (this.scripts.next(key) !== 'ok') {
      sendJson(res, 429, { error: { code: 429, message: 'Resource has been exhausted (e.g. check quota).', status: 'RESOURCE_EXHAUSTED' } }, { 'retry-after': '30' });
      return;
    }
    if (embed !== null) {
      if (embed[3] === 'embedContent') {
        sendJson(res, 200, { embedding: { values: OpenAiSdkFake.vectorFor(0, textOf(body.content)) } });
      } else {
        sendJson(res, 200, { embeddings: (body.requests ?? []).map((r, i) => ({ values: OpenAiSdkFake.vectorFor(i, textOf(r.content)) })) });
      }
      return;
    }
    const name = body.tools?.[0]?.functionDeclarations?.[0]?.name ?? 'unknown_tool';
    const answer = {
      candidates: [{ content: { role: 'model', parts: [{ functionCall: { name, args: TOOL_ARGS } }] }, finishReason: 'STOP', index: 0 }],
      usageMetadata: { promptTokenCount: 21, candidatesTokenCount: 5, totalTokenCount: 26 },
      modelVersion: decodeURIComponent(m[2]),
    };
    if (m[3] === 'streamGenerateContent') {
      res.writeHead(200, { 'content-type': 'text/event-stream' });
      res.end(`data: ${JSON.stringify(answer)}\r\n\r\n`);
      return;
    }
    sendJson(res, 200, answer);
  }
}

function textOf(content: { parts?: Array<{ text?: string }> } | undefined): string {
  return (content?.parts ?? []).map((p) => p.text ?? '').join('');
}

function header(req: RecordedRequest, name: string): string | undefined {
  const v = req.headers[name];
  return typeof v === 'string' ? v : undefined;
}
