import { once } from 'node:events';
import type { ServerResponse } from 'node:http';

/** Starts a Server-Sent Events answer. */
export function startSse(res: ServerResponse): void {
  res.writeHead(200, {
    'content-type': 'text/event-stream; charset=utf-8',
    'cache-control': 'no-cache, no-transform',
    connection: 'keep-alive',
    // nginx and similar proxies buffer responses unless told not to.
    'x-accel-buffering': 'no',
  });
  res.flushHeaders();
}

/** Writes one event (`data: <json>`); waits while the client is not reading, unless `signal` aborts. */
export async function writeSse(res: ServerResponse, data: unknown, signal: AbortSignal, event?: string): Promise<void> {
  const frame = `${event ? `event: ${event}\n` : ''}data: ${JSON.stringify(data)}\n\n`;
  if (!res.write(frame)) await once(res, 'drain', { signal });
}
