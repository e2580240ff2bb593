import type { ServerResponse } from 'node:http';
import { BedrockFake, type BedrockFakeOptions } from '../bedrock-fake';
import { sendJson, type RecordedRequest } from '../fake-http';
import { OpenAiSdkFake, TOOL_ARGS } from './openai-sdk-fake';

const INVOKE = /^\/model\/([^/?]+)\/invoke(?:\?|$)/;
const CONVERSE = /^\/model\/([^/?]+)\/converse(?:\?|$)/;

/**
 * The Bedrock fake (SigV4 verified exactly as AWS does, or a known API key) extended with what the AI SDK's Bedrock
 * provider also calls: `InvokeModel` for Titan text embeddings (`POST /model/{id}/invoke`, `{ inputText }` →
 * `{ embedding, inputTextTokenCount }`, vectors from {@link OpenAiSdkFake.vectorFor}) and Converse with a
 * `toolConfig`, answered with a `toolUse` block calling the first tool with {@link TOOL_ARGS}. Scripts apply to these
 * too ('ok', anything else a ThrottlingException). Everything else is the base fake's.
 */
export class BedrockSdkFake extends BedrockFake {
  readonly invokes: Array<{ identity: string; modelId: string; body: unknown }> = [];

  static override start(options: BedrockFakeOptions = {}): Promise<BedrockSdkFake> {
    return BedrockSdkFake.boot((http) => new BedrockSdkFake(http, options));
  }

  override hits(identity: string): number {
    return super.hits(identity) + this.invokes.filter((i) => i.identity === identity).length;
  }

  protected override async handle(req: RecordedRequest, res: ServerResponse): Promise<void> {
    const invoke = INVOKE.exec(req.path);
    const converse = CONVERSE.exec(req.path);
    const body = req.json as { toolConfig?: { tools?: Array<{ toolSpec?: { name?: string } }> }; inputText?: string } | undefined;
    const tools = converse !== null && Array.isArray(body?.toolConfig?.tools) && body.toolConfig.tools.length > 0;
    if (req.method !== 'POST' || (invoke === null && !tools)) {
      await super.handle(req, res);
      return;
    }
    const who = await this.authenticate(req, res);
    if (who === undefined) return;
    const modelId = decodeURIComponent(((invoke ?? converse) as RegExpExecArray)[1]);
    if (invoke !== null) this.invokes.push({ identity: who.identity, modelId, body });
    else this.calls.push({ ...who, modelId, operation: 'converse', body: body as never, rawPath: req.path });
    if (this.scripts.next(who.identity) !== 'ok') {
      sendJson(res, 429, { message: 'Too many requests, please wait before trying again.' }, { 'x-amzn-errortype': 'ThrottlingException:http://internal.amazon.com/coral/com.amazon.bedrock/' });
      return;
    }
    if (invoke !== null) {
      const text = String(body?.inputText ?? '');
      sendJson(res, 200, { embedding: OpenAiSdkFake.vectorFor(0, text), inputTextTokenCount: text.split(/\s+/).filter(Boolean).length }, { 'x-amzn-requestid': 'fake-request-id' });
      return;
    }
    const name = body?.toolConfig?.tools?.[0]?.toolSpec?.name ?? 'unknown_tool';
    sendJson(res, 200, {
      output: { message: { role: 'assistant', content: [{ toolUse: { toolUseId: 'tooluse_fake1', name, input: TOOL_ARGS } }] } },
      stopReason: 'tool_use',
      usage: { inputTokens: 30, outputTokens: 8, totalTokens: 38 },
      metrics: { latencyMs: 42 },
    });
  }
}
