import { request, type IncomingHttpHeaders } from 'node:http';

/** One event as a browser's EventSource dispatches it (`type` is `message` unless the stream named it). */
export interface ReceivedEvent {
  type: string;
  data: string;
  id?: string;
}

export interface EventStreamAnswer {
  status: number;
  headers: IncomingHttpHeaders;
  events: ReceivedEvent[];
  /** The raw body (for a non-200 answer: its JSON). */
  body: string;
}

/**
 * What `new EventSource(url)` does on the wire: `GET` with `Accept: text/event-stream` and
 * `Cache-Control: no-cache`, then the body parsed by the HTML spec's rules (`event:`, `data:` joined by newlines,
 * `id:`, comments ignored, an event dispatched on a blank line when it has data). Reads until the server ends the
 * stream (an EventSource would reconnect; the caller decides).
 */
export function eventSourceGet(url: string, opts: { onEvent?: (e: ReceivedEvent, abort: () => void) => void } = {}): Promise<EventStreamAnswer> {
  return new Promise((resolve, reject) => {
    const req = request(url, { method: 'GET', headers: { accept: 'text/event-stream', 'cache-control': 'no-cache' } }, (res) => {
      res.setEncoding('utf8');
      const events: ReceivedEvent[] = [];
      let body = '';
      let pending = '';
      let ended = false;
      const parser = new EventStreamParser((e) => {
        events.push(e);
        opts.onEvent?.(e, () => {
          ended = true;
          req.destroy();
          resolve({ status: res.statusCode ?? 0, headers: res.headers, events, body });
        });
      });
      res.on('data', (chunk: string) => {
        body += chunk;
        if (res.statusCode !== 200) return;
        pending += chunk;
        const lines = pending.split(/\r\n|\r|\n/);
        pending = lines.pop() ?? '';
        for (const line of lines) parser.line(line);
      });
      res.on('end', () => {
        if (!ended) resolve({ status: res.statusCode ?? 0, headers: res.headers, events, body });
      });
      res.on('error', (e) => {
        if (!ended) reject(e);
      });
    });
    req.on('error', reject);
    req.end();
  });
}

class EventStreamParser {
  private type = '';
  private data: string[] = [];
  private id: string | undefined;

  constructor(private readonly dispatch: (e: ReceivedEvent) => void) {}

  line(line: string): void {
    if (line === '') {
      if (this.data.length > 0) this.dispatch({ type: this.type || 'message', data: this.data.join('\n'), id: this.id });
      this.type = '';
      this.data = [];
      return;
    }
    if (line.startsWith(':')) return;
    const colon = line.indexOf(':');
    const field = colon === -1 ? line : line.slice(0, colon);
    const value = colon === -1 ? '' : line.slice(colon + 1).replace(/^ /, '');
    if (field === 'event') this.type = value;
    else if (field === 'data') this.data.push(value);
    else if (field === 'id') this.id = value;
  }
}
