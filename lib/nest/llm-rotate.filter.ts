import { Catch, Inject, Logger, Optional, type ArgumentsHost, type ExceptionFilter } from '@nestjs/common';
import { HttpAdapterHost } from '@nestjs/core';
import type { ServerResponse } from 'node:http';
import { LlmRotateError } from '../core/errors';
import { LLM_ROTATE_FILTER_OPTIONS } from './llm-rotate.constants';
import { llmRotateErrorToHttp, llmRotateErrorToSse, type LlmRotateHttpErrorOptions } from './llm-rotate.http-errors';

export type LlmRotateExceptionFilterOptions = LlmRotateHttpErrorOptions;

/**
 * Answers the library's errors over HTTP (see {@link llmRotateErrorToHttp} for the table): `503` + `Retry-After`
 * when no key is available, the caller's 4xx, `404` for a model no key serves, `502` / `504` for the upstream,
 * `500` for our own configuration; nothing at all when the caller went away. Other errors stay Nest's business.
 *
 * - `app.useGlobalFilters(new LlmRotateExceptionFilter(app.get(HttpAdapterHost), { exposeKeyIds: false }))`, or
 * - `{ provide: APP_FILTER, useClass: LlmRotateExceptionFilter }` (options through `LLM_ROTATE_FILTER_OPTIONS`).
 *
 * The answer goes through Nest's HTTP adapter, so Express and Fastify both work. Without an adapter host it writes
 * to the Node response (`reply.raw` on Fastify).
 */
@Catch(LlmRotateError)
export class LlmRotateExceptionFilter implements ExceptionFilter<LlmRotateError> {
  private readonly logger = new Logger('LlmRotateExceptionFilter');
  private readonly options: LlmRotateExceptionFilterOptions;

  constructor(
    @Optional() private readonly adapterHost?: HttpAdapterHost,
    @Optional() @Inject(LLM_ROTATE_FILTER_OPTIONS) options?: LlmRotateExceptionFilterOptions,
  ) {
    this.options = options ?? {};
  }

  catch(error: LlmRotateError, host: ArgumentsHost): void {
    if (host.getType() !== 'http') throw error;
    const res: unknown = host.switchToHttp().getResponse();
    const raw = nodeResponse(res);
    const answer = llmRotateErrorToHttp(error, this.options);
    if (answer === undefined) {
      // The caller went away (its signal aborted the call): nobody is left to read an answer.
      this.logger.debug(`${error.name}: ${error.message}`);
      if (raw !== undefined && !raw.headersSent && !raw.destroyed) {
        raw.statusCode = 499;
        raw.end();
      }
      return;
    }
    if (answer.logLevel === 'error') this.logger.error(`${error.name}: ${error.message}`, error.stack);
    else if (answer.logLevel === 'warn') this.logger.warn(`${error.name}: ${error.message}`);
    const adapter = this.adapterHost?.httpAdapter;
    const sent = adapter !== undefined ? Boolean(adapter.isHeadersSent(res)) : raw?.headersSent === true;
    if (sent) {
      this.afterHeaders(error, raw);
      return;
    }
    if (adapter !== undefined) {
      for (const [name, value] of Object.entries(answer.headers)) adapter.setHeader(res, name, value);
      adapter.reply(res, answer.body, answer.status);
      return;
    }
    if (raw === undefined) throw error;
    const text = JSON.stringify(answer.body);
    raw.writeHead(answer.status, { ...answer.headers, 'content-type': 'application/json; charset=utf-8', 'content-length': Buffer.byteLength(text) });
    raw.end(text);
  }

  /** Too late for a status: an event stream gets an `error` event, anything else is cut (not ended as if whole). */
  private afterHeaders(error: LlmRotateError, raw: ServerResponse | undefined): void {
    if (raw === undefined || raw.destroyed || raw.writableEnded) return;
    const type = raw.getHeader('content-type');
    const event = llmRotateErrorToSse(error, this.options);
    if (event !== undefined && typeof type === 'string' && type.startsWith('text/event-stream')) {
      raw.end(`event: error\ndata: ${JSON.stringify(event.data)}\n\n`);
      return;
    }
    raw.destroy();
  }
}

/** The Node response under Express' (itself one) or Fastify's reply (`.raw`). */
function nodeResponse(res: unknown): ServerResponse | undefined {
  const r = res as { raw?: unknown } | null;
  const candidate = r !== null && typeof r === 'object' && r.raw !== undefined && typeof r.raw === 'object' ? r.raw : res;
  const c = candidate as Partial<ServerResponse> | null;
  return c !== null && typeof c === 'object' && typeof c.writeHead === 'function' && typeof c.end === 'function' ? (c as ServerResponse) : undefined;
}
