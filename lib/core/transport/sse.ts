import { bodyChunks, type Exchange } from './http';

export interface SseEvent {
  event: string;
  data: string;
}

/**
 * Parses a `text/event-stream` body (WHATWG rules: `event:`/`data:` fields, multi-line data, comments,
 * CRLF or LF) into events. Re-arms the exchange deadline on every chunk.
 */
export async function* readSse(ex: Exchange, body: ReadableStream<Uint8Array>): AsyncGenerator<SseEvent> {
  const decoder = new TextDecoder();
  let buf = '';
  let event = '';
  let data: string[] = [];
  const field = (line: string): void => {
    if (line.startsWith(':')) return;
    const colon = line.indexOf(':');
    const name = colon < 0 ? line : line.slice(0, colon);
    let value = colon < 0 ? '' : line.slice(colon + 1);
    if (value.startsWith(' ')) value = value.slice(1);
    if (name === 'data') data.push(value);
    else if (name === 'event') event = value;
  };
  for await (const chunk of bodyChunks(ex, body)) {
    buf += decoder.decode(chunk, { stream: true });
    let nl: number;
    while ((nl = buf.search(/\r\n|\n|\r/)) >= 0) {
      if (buf[nl] === '\r' && nl === buf.length - 1) break; // a CRLF may be split across chunks
      const line = buf.slice(0, nl);
      buf = buf.slice(nl + (buf[nl] === '\r' && buf[nl + 1] === '\n' ? 2 : 1));
      if (line === '') {
        if (data.length > 0) yield { event: event || 'message', data: data.join('\n') };
        event = '';
        data = [];
      } else {
        field(line);
      }
    }
  }
  // Lenient at the end: a last line or event without its terminating blank line is still delivered.
  const rest = buf.endsWith('\r') ? buf.slice(0, -1) : buf;
  if (rest !== '') field(rest);
  if (data.length > 0) yield { event: event || 'message', data: data.join('\n') };
}
