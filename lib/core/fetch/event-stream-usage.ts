import { loadEventStream, type EventStreamCodecLike } from '../providers/bedrock/aws-libs';
import { classifyStreamException } from '../providers/bedrock/bedrock-errors';
import type { ClassifiedError } from '../providers/provider.interfaces';
import { parse, Tokens, type BodyTracker, type BodyVerdict } from './usage-tokens';

/**
 * AWS event-stream frames (Bedrock ConverseStream): cut by their length prefix, decoded (CRCs checked) by the AWS
 * SDK's own codec when it is installed. `metadata` carries usage, `messageStop` ends a Converse stream that began
 * with `messageStart`, an exception frame is an error.
 */
export class EventStreamTracker implements BodyTracker {
  private readonly tokens = new Tokens();
  private codec: EventStreamCodecLike | undefined | null;
  private buf = new Uint8Array(0);
  private converse = false;
  private stopped = false;
  private error: ClassifiedError | undefined;
  private broken: string | undefined;

  push(chunk: Uint8Array): void {
    if (this.codec === null || this.broken !== undefined) return;
    const merged = new Uint8Array(this.buf.length + chunk.length);
    merged.set(this.buf, 0);
    merged.set(chunk, this.buf.length);
    let off = 0;
    while (merged.length - off >= 12) {
      const total = ((merged[off] << 24) | (merged[off + 1] << 16) | (merged[off + 2] << 8) | merged[off + 3]) >>> 0;
      if (total < 16) {
        this.broken = 'a malformed event-stream frame';
        return;
      }
      if (merged.length - off < total) break;
      this.frame(merged.subarray(off, off + total));
      off += total;
    }
    this.buf = merged.slice(off);
  }

  conclusive(): BodyVerdict | undefined {
    if (this.error !== undefined) return { usage: this.tokens.usage, error: this.error };
    return this.converse && this.stopped && this.broken === undefined ? { usage: this.tokens.usage } : undefined;
  }

  finish(): BodyVerdict {
    const usage = this.tokens.usage;
    if (this.error !== undefined) return { usage, error: this.error };
    if (this.broken !== undefined) return { usage, incomplete: this.broken };
    if (this.codec !== null && (this.buf.length > 0 || (this.converse && !this.stopped))) return { usage, incomplete: 'the stream ended before messageStop' };
    return { usage };
  }

  private frame(bytes: Uint8Array): void {
    if (this.codec === undefined) {
      try {
        this.codec = loadEventStream().codec;
      } catch {
        this.codec = null; // the optional codec is not installed: no usage, the body still passes through
        return;
      }
    }
    if (this.codec === null) return;
    let msg;
    try {
      msg = this.codec.decode(bytes);
    } catch {
      this.broken = 'a malformed event-stream frame';
      return;
    }
    const header = (name: string): string | undefined => {
      const h = msg.headers[name];
      return h !== undefined && typeof h.value === 'string' ? h.value : undefined;
    };
    const kind = header(':message-type');
    if (kind === 'exception' || kind === 'error') {
      if (this.error === undefined) {
        const type = header(':exception-type') ?? header(':error-code') ?? 'internalServerException';
        this.error = classifyStreamException(type, new TextDecoder().decode(msg.body));
      }
      return;
    }
    const event = header(':event-type');
    if (event === 'messageStart') this.converse = true;
    else if (event === 'messageStop') this.stopped = true;
    else if (event === 'metadata') this.tokens.take(parse(new TextDecoder().decode(msg.body)));
  }
}
