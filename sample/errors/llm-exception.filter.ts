import { Catch, Logger, type ArgumentsHost, type ExceptionFilter } from '@nestjs/common';
import type { ServerResponse } from 'node:http';
import { LlmRotateError } from '../../lib';
import { httpErrorOf } from './llm-error.mapping';

/** Turns the library's errors into HTTP answers (see {@link httpErrorOf}); other errors stay Nest's business. */
@Catch(LlmRotateError)
export class LlmExceptionFilter implements ExceptionFilter<LlmRotateError> {
  private readonly logger = new Logger('LlmExceptionFilter');

  catch(error: LlmRotateError, host: ArgumentsHost): void {
    const res = host.switchToHttp().getResponse<ServerResponse>();
    const { status, headers, body } = httpErrorOf(error);
    if (status >= 500 && status !== 503) this.logger.warn(`${error.name}: ${error.message}`);
    if (res.headersSent || res.destroyed) {
      res.destroy();
      return;
    }
    const text = JSON.stringify(body);
    res.writeHead(status, { ...headers, 'content-type': 'application/json; charset=utf-8', 'content-length': Buffer.byteLength(text) });
    res.end(text);
  }
}
