import type { DashboardStateView } from '../../lib';
import { eventSourceGet, type EventStreamAnswer, type ReceivedEvent } from '../e2e/event-stream-client';

/**
 * A dashboard's live stream read as a browser's EventSource reads it: `until(pred)` resolves with the first
 * `state` frame (received so far or later) that satisfies `pred`; `close()` disconnects.
 */
export class DashboardStream {
  readonly frames: DashboardStateView[] = [];
  readonly events: ReceivedEvent[] = [];
  readonly done: Promise<EventStreamAnswer>;
  private abort: (() => void) | undefined;
  private waiters: Array<{ pred: (s: DashboardStateView) => boolean; resolve: (s: DashboardStateView) => void }> = [];

  constructor(url: string) {
    this.done = eventSourceGet(url, {
      onEvent: (e, abort) => {
        this.abort = abort;
        this.events.push(e);
        if (e.type !== 'state') return;
        const frame = JSON.parse(e.data) as DashboardStateView;
        this.frames.push(frame);
        this.waiters = this.waiters.filter((w) => {
          if (!w.pred(frame)) return true;
          w.resolve(frame);
          return false;
        });
      },
    });
  }

  until(pred: (s: DashboardStateView) => boolean, what: string, timeoutMs = 15_000): Promise<DashboardStateView> {
    const seen = this.frames.find(pred);
    if (seen !== undefined) return Promise.resolve(seen);
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`timed out waiting for a frame: ${what} (${this.frames.length} frames seen)`)), timeoutMs);
      this.waiters.push({
        pred,
        resolve: (s) => {
          clearTimeout(timer);
          resolve(s);
        },
      });
      this.done.then(
        () => {
          clearTimeout(timer);
          reject(new Error(`the stream ended before a frame: ${what}`));
        },
        (e: unknown) => {
          clearTimeout(timer);
          reject(e instanceof Error ? e : new Error(String(e)));
        },
      );
    });
  }

  /** Disconnects (as a closed browser tab does). */
  close(): void {
    this.abort?.();
  }
}

export function keyIn(frame: DashboardStateView, keyId: string): DashboardStateView['keys'][number] {
  const k = frame.keys.find((x) => x.keyId === keyId);
  if (k === undefined) throw new Error(`no key ${keyId} in the frame`);
  return k;
}
