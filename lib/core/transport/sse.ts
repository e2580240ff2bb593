import { ProviderTransportError } from '../errors';
import type { ProviderName } from '../types';
import { bodyChunks, type Exchange } from './http';

export interface SseEvent {
  event: string;
  data: string;
}

const LF = 0x0a;
const CR = 0x0d;

/**
 * An incremental `text/event-stream` decoder (WHATWG rules: `event:` / `data:` fields, multi-line data, comments,
 * CRLF, LF or CR line ends, a leading BOM). It works on bytes and in linear time: each byte is searched for a line
 * end once (a line that spans chunks is kept as its pieces, never re-scanned), and one event, with the line being
 * read, may hold at most `maxEventBytes` (then it throws `ETOOLARGE` without buffering more).
 */
export class SseDecoder {
  /** Bytes examined by line-end searches so far (each byte at most once per kind of line end): for tests. */
  scanned = 0;
  private pieces: Uint8Array[] = [];
  private pendingBytes = 0;
  private skipLf = false;
  private started = false;
  private event = '';
  private data: string[] = [];
  private dataBytes = 0;
  private readonly text = new TextDecoder('utf-8', { ignoreBOM: true });

  constructor(
    private readonly provider: ProviderName,
    private readonly maxEventBytes: number,
  ) {}

  /** Decodes one chunk; returns the events it completed. */
  push(chunk: Uint8Array): SseEvent[] {
    const out: SseEvent[] = [];
    let pos = 0;
    if (!this.started && chunk.length > 0) {
      this.started = true;
      if (chunk.length >= 3 && chunk[0] === 0xef && chunk[1] === 0xbb && chunk[2] === 0xbf) pos = 3;
    }
    if (this.skipLf && pos < chunk.length) {
      if (chunk[pos] === LF) pos++;
      this.skipLf = false;
    }
    // Next LF / CR at or after `pos`; -1: none left in this chunk. Each is searched forward from where the last
    // search stopped, so the two searches together examine every byte at most twice.
    let nextLf = this.find(chunk, LF, pos);
    let nextCr = this.find(chunk, CR, pos);
    while (pos < chunk.length) {
      if (nextLf !== -1 && nextLf < pos) nextLf = this.find(chunk, LF, pos);
      if (nextCr !== -1 && nextCr < pos) nextCr = this.find(chunk, CR, pos);
      const end = nextLf === -1 ? nextCr : nextCr === -1 ? nextLf : Math.min(nextLf, nextCr);
      if (end === -1) {
        this.keep(chunk.subarray(pos));
        break;
      }
      this.checkSize(end - pos);
      const bytes = this.pendingBytes + end - pos;
      const line = this.takeLine(chunk.subarray(pos, end));
      pos = end + 1;
      if (chunk[end] === CR) {
        if (pos < chunk.length) {
          if (chunk[pos] === LF) pos++;
        } else {
          this.skipLf = true; // a CRLF split across chunks
        }
      }
      const ev = this.line(line, bytes);
      if (ev !== undefined) out.push(ev);
    }
    return out;
  }

  /** The end of the body: a last line or event without its terminating blank line is still delivered. */
  end(): SseEvent | undefined {
    if (this.pendingBytes > 0) {
      const bytes = this.pendingBytes;
      this.line(this.takeLine(new Uint8Array(0)), bytes);
    }
    return this.dispatch();
  }

  private find(chunk: Uint8Array, byte: number, from: number): number {
    const at = chunk.indexOf(byte, from);
    this.scanned += (at === -1 ? chunk.length : at + 1) - from;
    return at;
  }

  private keep(rest: Uint8Array): void {
    if (rest.length === 0) return;
    this.checkSize(rest.length);
    this.pieces.push(rest);
    this.pendingBytes += rest.length;
  }

  /** The current event and the line being read may not exceed the cap together. */
  private checkSize(more: number): void {
    if (this.dataBytes + this.pendingBytes + more > this.maxEventBytes) {
      throw new ProviderTransportError(this.provider, `${this.provider} sent a stream event over ${this.maxEventBytes} bytes (maxEventBytes)`, 'ETOOLARGE');
    }
  }

  private takeLine(last: Uint8Array): string {
    if (this.pieces.length === 0) return this.text.decode(last);
    const all = new Uint8Array(this.pendingBytes + last.length);
    let at = 0;
    for (const p of this.pieces) {
      all.set(p, at);
      at += p.length;
    }
    all.set(last, at);
    this.pieces = [];
    this.pendingBytes = 0;
    return this.text.decode(all);
  }

  private line(line: string, bytes: number): SseEvent | undefined {
    if (line === '') return this.dispatch();
    if (line.charCodeAt(0) === 0x3a) return undefined; // a comment (`: keep-alive`)
    const colon = line.indexOf(':');
    const name = colon < 0 ? line : line.slice(0, colon);
    let value = colon < 0 ? '' : line.slice(colon + 1);
    if (value.charCodeAt(0) === 0x20) value = value.slice(1);
    if (name === 'data') {
      this.data.push(value);
      this.dataBytes += bytes;
    } else if (name === 'event') {
      this.event = value;
    }
    return undefined;
  }

  private dispatch(): SseEvent | undefined {
    const ev = this.data.length > 0 ? { event: this.event || 'message', data: this.data.join('\n') } : undefined;
    this.event = '';
    this.data = [];
    this.dataBytes = 0;
    return ev;
  }
}

/**
 * Parses a `text/event-stream` body into events with {@link SseDecoder}, under the exchange's deadlines and its
 * `maxEventBytes`.
 */
export async function* readSse(ex: Exchange, body: ReadableStream<Uint8Array>): AsyncGenerator<SseEvent> {
  const decoder = new SseDecoder(ex.provider, ex.maxEventBytes);
  for await (const chunk of bodyChunks(ex, body)) {
    for (const ev of decoder.push(chunk)) yield ev;
  }
  const last = decoder.end();
  if (last !== undefined) yield last;
}
