import { Tokens, type BodyTracker, type BodyVerdict } from './usage-tokens';

/** A JSON body up to this size is parsed whole at its end; a larger one is searched for its usage in its last bytes. */
const JSON_WHOLE_MAX = 256 * 1024;
const JSON_TAIL = 32 * 1024;
const USAGE_KEY_G = /"(?:usage|usageMetadata)"\s*:\s*\{/g;

/** A JSON answer: parsed whole when small, else its usage is looked for in its last {@link JSON_TAIL} characters. */
export class JsonTracker implements BodyTracker {
  private readonly decoder = new TextDecoder();
  private parts: string[] = [];
  private size = 0;
  private tail: string | undefined;

  push(chunk: Uint8Array): void {
    this.add(this.decoder.decode(chunk, { stream: true }));
  }

  conclusive(): undefined {
    return undefined;
  }

  finish(): BodyVerdict {
    this.add(this.decoder.decode());
    const tokens = new Tokens();
    if (this.tail !== undefined) {
      tokens.take(usageInTail(this.tail));
      return { usage: tokens.usage };
    }
    const text = this.parts.join('');
    this.parts = [];
    if (text.trim() === '') return { usage: undefined };
    let doc: unknown;
    try {
      doc = JSON.parse(text);
    } catch {
      return { usage: undefined, incomplete: 'the JSON answer does not parse' };
    }
    // Gemini's streamGenerateContent without alt=sse answers an array of chunks: the last one has the totals.
    tokens.take(Array.isArray(doc) ? doc[doc.length - 1] : doc);
    return { usage: tokens.usage };
  }

  private add(t: string): void {
    if (t === '') return;
    if (this.tail === undefined) {
      this.parts.push(t);
      this.size += t.length;
      if (this.size > JSON_WHOLE_MAX) {
        this.tail = this.parts.join('').slice(-JSON_TAIL);
        this.parts = [];
      }
    } else {
      const s = this.tail + t;
      this.tail = s.length > JSON_TAIL ? s.slice(-JSON_TAIL) : s;
    }
  }
}

/** The last `"usage": {…}` object of a text window, parsed; `{ inputTextTokenCount }` when only that is there. */
function usageInTail(tail: string): unknown {
  let last = -1;
  let keyName = '';
  USAGE_KEY_G.lastIndex = 0;
  for (let m = USAGE_KEY_G.exec(tail); m !== null; m = USAGE_KEY_G.exec(tail)) {
    last = m.index + m[0].length - 1;
    keyName = m[0].startsWith('"usageMetadata"') ? 'usageMetadata' : 'usage';
  }
  if (last >= 0) {
    const end = objectEnd(tail, last);
    if (end > 0) {
      try {
        return { [keyName]: JSON.parse(tail.slice(last, end + 1)) as unknown };
      } catch {
        return undefined;
      }
    }
  }
  const titan = /"inputTextTokenCount"\s*:\s*(\d+)/.exec(tail);
  return titan === null ? undefined : { inputTextTokenCount: Number(titan[1]) };
}

/** Index of the `}` closing the object that opens at `start` (strings skipped), or -1. */
function objectEnd(s: string, start: number): number {
  let depth = 0;
  for (let i = start; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c === 0x22) {
      for (i++; i < s.length; i++) {
        const d = s.charCodeAt(i);
        if (d === 0x5c) i++;
        else if (d === 0x22) break;
      }
    } else if (c === 0x7b) depth++;
    else if (c === 0x7d && --depth === 0) return i;
  }
  return -1;
}
