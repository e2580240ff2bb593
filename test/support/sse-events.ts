export interface SseEvent {
  event?: string;
  data: string;
}

/** Splits a complete `text/event-stream` body into its events. */
export function parseSse(text: string): SseEvent[] {
  const out: SseEvent[] = [];
  for (const block of text.split(/\r?\n\r?\n/)) {
    if (block.trim() === '') continue;
    const ev: SseEvent = { data: '' };
    const data: string[] = [];
    for (const line of block.split(/\r?\n/)) {
      if (line.startsWith('data:')) data.push(line.slice(5).replace(/^ /, ''));
      else if (line.startsWith('event:')) ev.event = line.slice(6).trim();
    }
    ev.data = data.join('\n');
    out.push(ev);
  }
  return out;
}
