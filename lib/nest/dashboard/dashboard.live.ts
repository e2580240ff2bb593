import type { MessageEvent } from '@nestjs/common';
import { Observable, type Subscriber } from 'rxjs';
import { EXPIRY_GRACE_MS, LIVE_THROTTLE_MS } from './dashboard.constants';
import type { DashboardStateView } from './dashboard.interfaces';

/** The part of a Node `ServerResponse` the live stream watches (to know when a page's response has ended). */
export interface EndingResponse {
  readonly writableFinished?: boolean;
  readonly destroyed?: boolean;
  once(event: 'finish' | 'close', listener: () => void): unknown;
}

/** How long `stop()` waits for the pages' responses to end (so the HTTP server then finds their connections idle). */
const STOP_WAIT_MS = 1_000;

/** What one live update is made of, and when the soonest cooldown or quarantine ends (to refresh right then). */
export interface LiveFrame {
  state: DashboardStateView;
  /** The newest event the frame carries (its sequence number). */
  seq: number;
  nextExpiry?: number;
}

/**
 * The live stream behind `GET <path>/stream`: while at least one page is connected, one timer makes a frame
 * (one snapshot, one store round trip with Redis) and sends it to every page. A frame is made on a usage event or
 * an action (at most one per {@link LIVE_THROTTLE_MS}), right after the soonest cooldown or quarantine runs out,
 * and every `refreshMs` (which is how other workers' changes reach this page). Nothing runs without a page.
 */
export class DashboardLive {
  /** Each connected page: the newest event it was sent, and its response when the controller could give it. */
  private readonly clients = new Map<Subscriber<MessageEvent>, Client>();
  private timer: NodeJS.Timeout | undefined;
  private timerAt = Infinity;
  private running = false;
  private again = false;
  private lastRun = 0;
  private sentSeq = 0;
  private stopped = false;

  constructor(
    /** Makes a frame with the events after `afterSeq`. */
    private readonly frame: (afterSeq: number) => Promise<LiveFrame>,
    private readonly refreshMs: number,
    private readonly onError: (e: unknown) => void,
  ) {}

  get connected(): number {
    return this.clients.size;
  }

  /** One page's stream: a full frame at once (every buffered event), then the shared frames. */
  connect(response?: EndingResponse): Observable<MessageEvent> {
    return new Observable<MessageEvent>((sub) => {
      if (this.stopped) {
        sub.complete();
        return;
      }
      const client: Client = { seq: 0, response };
      this.clients.set(sub, client);
      this.frame(0).then(
        (f) => {
          if (!sub.closed) send(sub, client, f, message(f));
          this.schedule(this.nextDelay(f));
        },
        (e: unknown) => this.onError(e),
      );
      this.schedule(this.refreshMs);
      return () => {
        this.clients.delete(sub);
        if (this.clients.size === 0) this.cancel();
      };
    });
  }

  /** Something changed here (a usage event, an action): a frame soon. Cheap when no page is connected. */
  poke(): void {
    if (this.clients.size === 0) return;
    this.schedule(Math.max(0, this.lastRun + LIVE_THROTTLE_MS - Date.now()));
  }

  /**
   * Ends every page's stream and refuses new ones; resolves once their responses have ended (at most
   * {@link STOP_WAIT_MS}), so that the HTTP server, closed next, finds their connections idle and closes them at once
   * instead of waiting for its keep-alive timeout.
   */
  async stop(): Promise<void> {
    this.stopped = true;
    this.cancel();
    const ending: Array<Promise<void>> = [];
    for (const [c, { response: res }] of [...this.clients]) {
      if (res !== undefined && res.writableFinished !== true && res.destroyed !== true) {
        ending.push(
          new Promise<void>((resolve) => {
            res.once('finish', resolve);
            res.once('close', resolve);
          }),
        );
      }
      c.complete();
    }
    this.clients.clear();
    if (ending.length === 0) return;
    let timer: NodeJS.Timeout | undefined;
    await Promise.race([Promise.all(ending), new Promise<void>((resolve) => (timer = setTimeout(resolve, STOP_WAIT_MS)))]);
    clearTimeout(timer);
    // The connection is marked idle once the response's 'finish' has been handled.
    await new Promise<void>((resolve) => setImmediate(resolve));
  }

  private schedule(delayMs: number): void {
    if (this.stopped || this.clients.size === 0) return;
    const at = Date.now() + delayMs;
    if (this.timer !== undefined && this.timerAt <= at) return;
    if (this.timer !== undefined) clearTimeout(this.timer);
    this.timerAt = at;
    this.timer = setTimeout(() => {
      this.timer = undefined;
      this.timerAt = Infinity;
      void this.run();
    }, delayMs);
    this.timer.unref?.();
  }

  /** `refreshMs`, or sooner when a cooldown or quarantine runs out before that. */
  private nextDelay(f: LiveFrame): number {
    if (f.nextExpiry === undefined) return this.refreshMs;
    return Math.min(this.refreshMs, Math.max(0, f.nextExpiry - Date.now()) + EXPIRY_GRACE_MS);
  }

  private cancel(): void {
    if (this.timer !== undefined) clearTimeout(this.timer);
    this.timer = undefined;
    this.timerAt = Infinity;
  }

  private async run(): Promise<void> {
    if (this.running) {
      this.again = true;
      return;
    }
    this.running = true;
    let next = this.refreshMs;
    try {
      const f = await this.frame(this.sentSeq);
      this.sentSeq = f.seq;
      const m = message(f);
      for (const [c, client] of this.clients) send(c, client, f, m);
      next = this.nextDelay(f);
    } catch (e) {
      this.onError(e);
    } finally {
      this.running = false;
      this.lastRun = Date.now();
    }
    if (this.again) {
      this.again = false;
      next = Math.min(next, LIVE_THROTTLE_MS);
    }
    this.schedule(next);
  }
}

interface Client {
  /** The newest event this page was sent. */
  seq: number;
  response: EndingResponse | undefined;
}

function message(f: LiveFrame): MessageEvent {
  return { type: 'state', data: f.state };
}

/** Sends a frame to one page, without the events it was sent before (a page that connected between two frames). */
function send(sub: Subscriber<MessageEvent>, client: Client, f: LiveFrame, m: MessageEvent): void {
  const events = f.state.events;
  if (events.length > 0 && events[0].seq <= client.seq) {
    const seen = client.seq;
    m = { type: 'state', data: { ...f.state, events: events.filter((e) => e.seq > seen) } };
  }
  client.seq = Math.max(client.seq, f.seq);
  sub.next(m);
}
