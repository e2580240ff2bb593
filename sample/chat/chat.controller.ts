import { Body, Controller, Get, Headers, Post, Query, Res, Sse } from '@nestjs/common';
import { ConfigService } from '@nestjs/config';
import type { ServerResponse } from 'node:http';
import type { Observable } from 'rxjs';
import { LlmRotateService, llmRotateErrorToSse, type ChatChunk, type ChatMessage, type ChatOptions, type ChatSseEvent } from '../../lib';
import { defaultModel } from '../config/llm.config';
import { ChatRequestDto } from './chat-request.dto';
import { ChatStreamQueryDto } from './chat-stream-query.dto';
import { startSse, writeSse } from './sse';

/**
 * - `POST /chat` (for `fetch()` and servers): JSON `ChatResult`, or Server-Sent Events (`data: <ChatChunk>` per
 *   chunk, the last with `finishReason` and `usage`) when the body says `stream: true` or the request accepts
 *   `text/event-stream`. Answers 200.
 * - `GET /chat/stream?prompt=...` (for a browser's `EventSource`, which can only GET): the same events.
 *
 * Library errors become HTTP answers in the library's `LlmRotateExceptionFilter` (registered in `AppModule`); once
 * a stream has started, as an `event: error` with `data: {"type","message","retryAfterMs"?}`.
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

  /**
   * For `EventSource`: `new EventSource('/chat/stream?prompt=Hello')`. `sse$()` never errors: a failure (even
   * before the first chunk, since `@Sse()` sends the 200 at once) arrives as an `error` event, then the stream
   * ends. Close the EventSource on the last chunk (`finishReason`) or on `error`, or it reconnects and asks again.
   * A client that disconnects cancels the upstream call.
   */
  @Get('stream')
  @Sse()
  streamGet(@Query() query: ChatStreamQueryDto): Observable<ChatSseEvent> {
    const messages: ChatMessage[] = query.system !== undefined ? [{ role: 'system', content: query.system }] : [];
    messages.push({ role: 'user', content: query.prompt });
    return this.llm.sse$(query.model ?? this.defaultModel, messages, { temperature: query.temperature, maxTokens: query.maxTokens });
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
      // Failed after the stream started: say so in-band (the library's error event), then end. A client that
      // left gets nothing.
      const event = llmRotateErrorToSse(e);
      if (!signal.aborted && !res.destroyed && event !== undefined) res.end(`event: error\ndata: ${JSON.stringify(event.data)}\n\n`);
      else res.end();
    } finally {
      // Stops the engine's generator if we left it mid-stream (e.g. while waiting for a slow client).
      await chunks.return?.(undefined);
    }
  }
}
