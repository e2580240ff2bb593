import { Body, Controller, Headers, Post, Res } from '@nestjs/common';
import { ConfigService } from '@nestjs/config';
import type { ServerResponse } from 'node:http';
import { LlmRotateError, LlmRotateService, type ChatChunk, type ChatMessage, type ChatOptions } from '../../lib';
import { defaultModel } from '../config/llm.config';
import { httpErrorOf } from '../errors/llm-error.mapping';
import { ChatRequestDto } from './chat-request.dto';
import { startSse, writeSse } from './sse';

/**
 * `POST /chat`: JSON `ChatResult`, or Server-Sent Events (`data: <ChatChunk>` per chunk, the last with
 * `finishReason` and `usage`) when the body says `stream: true` or the request accepts `text/event-stream`.
 * Library errors become HTTP answers in `LlmExceptionFilter`.
 */
@Controller('chat')
export class ChatController {
  private readonly defaultModel: string;

  constructor(
    private readonly llm: LlmRotateService,
    config: ConfigService,
  ) {
    this.defaultModel = defaultModel(config);
  }

  @Post()
  async chat(@Body() body: ChatRequestDto, @Headers('accept') accept: string | undefined, @Res() res: ServerResponse): Promise<void> {
    const model = body.model ?? this.defaultModel;
    const messages: ChatMessage[] = body.messages.map((m) => ({ role: m.role, content: m.content }));
    // A client that goes away aborts the call: the upstream request is cancelled and the key released,
    // without counting against the key.
    const ctrl = new AbortController();
    const onClose = (): void => {
      if (!res.writableFinished) ctrl.abort();
    };
    res.once('close', onClose);
    const opts: ChatOptions = { temperature: body.temperature, maxTokens: body.maxTokens, signal: ctrl.signal };
    try {
      if (body.stream === true || accept?.includes('text/event-stream')) {
        await this.stream(model, messages, opts, ctrl.signal, res);
        return;
      }
      const result = await this.llm.chat(model, messages, opts);
      const text = JSON.stringify(result);
      res.writeHead(200, { 'content-type': 'application/json; charset=utf-8', 'content-length': Buffer.byteLength(text) });
      res.end(text);
    } finally {
      res.off('close', onClose);
    }
  }

  /**
   * The first chunk is awaited before anything is written, so a failure before it (every key rate limited,
   * the caller's bad request) still gets its proper HTTP status from the exception filter.
   */
  private async stream(model: string, messages: ChatMessage[], opts: ChatOptions, signal: AbortSignal, res: ServerResponse): Promise<void> {
    const chunks = this.llm.stream(model, messages, opts)[Symbol.asyncIterator]();
    try {
      const first = await chunks.next();
      startSse(res);
      for (let r: IteratorResult<ChatChunk> = first; !r.done; r = await chunks.next()) {
        await writeSse(res, r.value, signal);
      }
      res.end();
    } catch (e) {
      if (!res.headersSent) throw e;
      // Failed after the stream started: say so in-band, then end. (A client that left gets nothing.)
      if (!signal.aborted && !res.destroyed) {
        const body = e instanceof LlmRotateError ? httpErrorOf(e).body : { statusCode: 500, error: 'Internal Server Error', message: 'The stream failed' };
        res.end(`event: error\ndata: ${JSON.stringify(body)}\n\n`);
      }
    } finally {
      // Stops the engine's generator if we left it mid-stream (e.g. while waiting for a slow client).
      await chunks.return?.(undefined);
    }
  }
}
