import type { ServerResponse } from 'node:http';

/**
 * Misbehaviours any vendor fake can be scripted with (`fake.script(key, { fault: 'truncated' })`), written in the
 * vendor's own wire format through its {@link FaultWire}. They are what an adversarial upstream (or a proxy in front
 * of it) does: hang, cut, garble, answer with the wrong thing, flood, drip.
 */
export type Fault =
  /** Never answers (not even the status line). */
  | { fault: 'hang_before_headers' }
  /** Stream: the opening and one text delta, then silence. Chat: half the JSON answer, then silence. */
  | { fault: 'hang_mid_stream' }
  /** Stream: the opening and one text delta, then a clean end without the terminator. Chat: half the JSON, then the end. */
  | { fault: 'truncated' }
  /**
   * Stream: one event whose payload is `payload` (garbage, `null`, an array, …), before or after the first text delta,
   * followed by the rest of a valid stream (so skipping the event would look like success). Chat: `payload` is the body.
   */
  | { fault: 'odd_event'; payload: string; afterFirst: boolean }
  /** A proxy's HTML error page with status 200. */
  | { fault: 'html_200' }
  /** 200 with an empty body (of the content type the request expects). */
  | { fault: 'empty_200' }
  /** A stream request answered with a complete non-streaming JSON answer. */
  | { fault: 'json_200' }
  /** The connection is destroyed: before the status line, or after the first text delta (chat: mid-body). */
  | { fault: 'reset'; afterFirst: boolean }
  /** The vendor's error answer with `status` (its own error body carrying `message`) and extra headers. */
  | { fault: 'status'; status: number; headers?: Record<string, string>; message?: string }
  /** Chat: a valid answer whose text is `bytes` long. Stream: a first event of `bytes` bytes. */
  | { fault: 'huge_body'; bytes: number }
  /** An error answer whose JSON message is `bytes` long, echoing `echo` at the start, across offset 500, and later. */
  | { fault: 'huge_error'; status: number; bytes: number; echo: string }
  /** A plain-text (non-JSON) error answer of about 2,000 characters echoing `echo` across offset 500 (a proxy's page). */
  | { fault: 'text_error'; status: number; echo: string }
  /** The answer dripped one byte every `everyMs` (each gap is short, the whole takes long). */
  | { fault: 'slow_drip'; everyMs: number }
  /** Stream: keep-alives every `everyMs`, never a token. Chat: a whitespace byte every `everyMs`, never the JSON. */
  | { fault: 'keep_alive'; everyMs: number };

export type FaultName = Fault['fault'];

/** How one vendor's wire format frames what the faults need. */
export interface FaultWire {
  /** The content type of the vendor's stream answers. */
  readonly streamContentType: string;
  /** The stream's opening up to and including one text delta `Hello `, without any terminator. */
  streamStart(): Buffer;
  /** The rest of a valid stream after {@link streamStart}: a delta `world`, the finish reason, usage, the terminator. */
  streamEnd(): Buffer;
  /** One content event whose payload is `payload` as is (SSE `data:`, or an event-stream frame's body). */
  rawEvent(payload: string): Buffer;
  /** One text delta of `bytes` characters, as one event. */
  hugeEvent(bytes: number): Buffer;
  /** A keep-alive the vendor's clients ignore (an SSE comment, Anthropic's `ping`, an unknown frame). */
  keepAlive(): Buffer;
  /** A complete non-streaming answer `Hello world`. */
  okJson(): unknown;
  /** A complete non-streaming answer whose text is `text`. */
  okJsonWith(text: string): unknown;
  /** The vendor's error body carrying `message` for an HTTP error status, and the headers it comes with. */
  errorAnswer(status: number, message: string): { body: unknown; headers: Record<string, string> };
}

export function isFault(b: unknown): b is Fault {
  return typeof b === 'object' && b !== null && typeof (b as { fault?: unknown }).fault === 'string';
}

const HTML = '<!DOCTYPE html>\n<html><head><title>502 Bad Gateway</title></head>\n<body><h1>502 Bad Gateway</h1><hr>nginx</body></html>\n';

/** Serves `fault` for a chat (`stream: false`) or stream request. Resolves once the fake is done with `res`. */
export async function serveFault(res: ServerResponse, f: Fault, wire: FaultWire, stream: boolean): Promise<void> {
  const streamHead = { 'content-type': wire.streamContentType, 'cache-control': 'no-cache' };
  const jsonHead = { 'content-type': 'application/json' };
  const okText = JSON.stringify(wire.okJson());
  switch (f.fault) {
    case 'hang_before_headers':
      return; // the client's deadline ends it (the fake's close() destroys the socket otherwise)
    case 'hang_mid_stream':
      res.writeHead(200, stream ? streamHead : jsonHead);
      res.write(stream ? wire.streamStart() : okText.slice(0, okText.length >> 1));
      return; // silence, with the connection open
    case 'truncated':
      res.writeHead(200, stream ? streamHead : jsonHead);
      res.end(stream ? wire.streamStart() : okText.slice(0, okText.length >> 1));
      return;
    case 'odd_event':
      if (!stream) {
        res.writeHead(200, jsonHead);
        res.end(f.payload);
        return;
      }
      res.writeHead(200, streamHead);
      if (f.afterFirst) {
        res.write(wire.streamStart());
        await pause(3);
      }
      res.write(wire.rawEvent(f.payload));
      await pause(3);
      if (!res.destroyed) res.end(f.afterFirst ? wire.streamEnd() : Buffer.concat([wire.streamStart(), wire.streamEnd()]));
      return;
    case 'html_200':
      res.writeHead(200, { 'content-type': 'text/html; charset=utf-8', 'content-length': Buffer.byteLength(HTML) });
      res.end(HTML);
      return;
    case 'empty_200':
      res.writeHead(200, { ...(stream ? streamHead : jsonHead), 'content-length': '0' });
      res.end();
      return;
    case 'json_200':
      res.writeHead(200, { ...jsonHead, 'content-length': Buffer.byteLength(okText) });
      res.end(okText);
      return;
    case 'reset':
      if (!f.afterFirst) {
        res.socket?.destroy();
        return;
      }
      res.writeHead(200, stream ? streamHead : jsonHead);
      res.write(stream ? wire.streamStart() : okText.slice(0, okText.length >> 1));
      await pause(5);
      res.socket?.destroy();
      return;
    case 'status': {
      const e = wire.errorAnswer(f.status, f.message ?? `scripted ${f.status}`);
      const text = JSON.stringify(e.body);
      res.writeHead(f.status, { ...jsonHead, 'content-length': Buffer.byteLength(text), ...e.headers, ...f.headers });
      res.end(text);
      return;
    }
    case 'huge_body': {
      if (stream) {
        res.writeHead(200, streamHead);
        await writeAll(res, wire.hugeEvent(f.bytes));
        if (!res.destroyed) res.end(wire.streamEnd());
        return;
      }
      const text = JSON.stringify(wire.okJsonWith('x'.repeat(f.bytes)));
      res.writeHead(200, { ...jsonHead, 'content-length': Buffer.byteLength(text) });
      await writeAll(res, Buffer.from(text));
      if (!res.destroyed) res.end();
      return;
    }
    case 'huge_error': {
      // The body is generated piece by piece while it is written (10 MB is never built in memory).
      const marker = '@@MESSAGE@@';
      const [pre, post] = JSON.stringify(wire.errorAnswer(f.status, marker).body).split(marker);
      const message = messagePieces(f.bytes, JSON.stringify(f.echo).slice(1, -1));
      const length = Buffer.byteLength(pre) + message.length + Buffer.byteLength(post);
      res.writeHead(f.status, { ...jsonHead, 'content-length': length, ...wire.errorAnswer(f.status, '').headers });
      res.write(pre);
      for (const piece of message.pieces()) {
        if (res.destroyed) return;
        if (!res.write(piece)) await drained(res);
      }
      if (!res.destroyed) res.end(post);
      return;
    }
    case 'text_error': {
      const text = hugeMessage(2000, f.echo);
      res.writeHead(f.status, { 'content-type': 'text/plain', 'content-length': Buffer.byteLength(text) });
      res.end(text);
      return;
    }
    case 'slow_drip': {
      const bytes = stream ? Buffer.concat([wire.streamStart(), wire.streamEnd()]) : Buffer.from(okText);
      res.writeHead(200, stream ? streamHead : jsonHead);
      let i = 0;
      await every(res, f.everyMs, () => {
        res.write(bytes.subarray(i, i + 1));
        i++;
        return i < bytes.length;
      });
      if (!res.destroyed) res.end();
      return;
    }
    case 'keep_alive': {
      res.writeHead(200, stream ? streamHead : jsonHead);
      const ping = stream ? wire.keepAlive() : Buffer.from(' ');
      await every(res, f.everyMs, () => {
        res.write(ping);
        return true;
      });
      return;
    }
  }
}

/** A message of about `bytes` characters with `echo` at its start, straddling offset 500, in the middle and at its end. */
export function hugeMessage(bytes: number, echo: string): string {
  return [...messagePieces(bytes, echo).pieces()].join('');
}

/** {@link hugeMessage} as pieces of at most 64 KiB, produced on demand (ASCII filler, so length = bytes). */
function messagePieces(bytes: number, echo: string): { length: number; pieces: () => Generator<string> } {
  const head = `Incorrect API key provided: ${echo}. `;
  const toCut = Math.max(0, 500 - head.length - ((echo.length + 2) >> 1));
  const mid = Math.max(0, (bytes >> 1) - head.length - toCut - echo.length - 2);
  const tail = Math.max(0, bytes - (bytes >> 1) - 2 * (echo.length + 2));
  // Each echo stands as a word of its own ("… key: <echo> …"), as in real messages.
  const word = ` ${echo} `;
  const parts: Array<string | number> = [head, toCut, word, mid, word, tail, word];
  const length = parts.reduce<number>((n, p) => n + (typeof p === 'number' ? p : p.length), 0);
  return {
    length,
    *pieces() {
      const max = 64 * 1024;
      for (const p of parts) {
        if (typeof p === 'string') yield p;
        else for (let left = p; left > 0; left -= max) yield 'e'.repeat(Math.min(max, left));
      }
    },
  };
}

function drained(res: ServerResponse): Promise<void> {
  return new Promise<void>((resolve) => {
    const done = (): void => {
      res.off('drain', done);
      res.off('close', done);
      resolve();
    };
    res.on('drain', done);
    res.on('close', done);
  });
}

/** Writes `data` in 64 KiB pieces, honouring back-pressure and stopping when the client goes away. */
async function writeAll(res: ServerResponse, data: Buffer): Promise<void> {
  const piece = 64 * 1024;
  for (let at = 0; at < data.length && !res.destroyed; at += piece) {
    if (!res.write(data.subarray(at, at + piece))) await drained(res);
  }
}

/** Calls `step` every `ms` until it returns false or the client goes away. */
function every(res: ServerResponse, ms: number, step: () => boolean): Promise<void> {
  return new Promise<void>((resolve) => {
    const timer = setInterval(() => {
      if (res.destroyed || !step()) stop();
    }, ms);
    const stop = (): void => {
      clearInterval(timer);
      res.off('close', stop);
      resolve();
    };
    res.on('close', stop);
  });
}

function pause(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}

/** SSE framing shared by the SSE-speaking wires. */
export function sse(data: string, event?: string, eol = '\n'): Buffer {
  return Buffer.from(`${event !== undefined ? `event: ${event}${eol}` : ''}data: ${data}${eol}${eol}`);
}
