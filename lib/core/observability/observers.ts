import type { UsageEvent } from '../types';
import type { AttemptObserver, AttemptStart, CallEnd, CallObserver, CallStart, EngineObserver } from './observer.interfaces';

/**
 * The observers registered on one engine. With none (the default) `callStarted` returns undefined and the engine
 * builds nothing for them; otherwise a small fan-out per call (one per attempt) isolates each observer: a throwing
 * observer is reported through `onError` and never breaks a call.
 */
export class Observers {
  private list: EngineObserver[] = [];

  constructor(private readonly onError: (e: unknown) => void) {}

  get active(): boolean {
    return this.list.length > 0;
  }

  add(o: EngineObserver): () => void {
    this.list = [...this.list, o];
    return () => {
      this.list = this.list.filter((x) => x !== o);
    };
  }

  callStarted(call: CallStart): CallObserver | undefined {
    const list = this.list;
    if (list.length === 0) return undefined;
    const calls: CallObserver[] = [];
    for (const o of list) {
      const c = this.guard(() => o.callStarted(call));
      if (c !== undefined) calls.push(c);
    }
    if (calls.length === 0) return undefined;
    return new FanOut(calls, (e) => this.onError(e));
  }

  private guard<T>(fn: () => T): T | undefined {
    try {
      return fn();
    } catch (e) {
      this.onError(e);
      return undefined;
    }
  }
}

class FanOut implements CallObserver {
  constructor(
    private readonly calls: readonly CallObserver[],
    private readonly onError: (e: unknown) => void,
  ) {}

  attemptStarted(a: AttemptStart): AttemptObserver | undefined {
    const attempts: AttemptObserver[] = [];
    for (const c of this.calls) {
      try {
        const at = c.attemptStarted(a);
        if (at !== undefined) attempts.push(at);
      } catch (e) {
        this.onError(e);
      }
    }
    if (attempts.length === 0) return undefined;
    return {
      attemptEnded: (event: UsageEvent) => {
        for (const at of attempts) {
          try {
            at.attemptEnded(event);
          } catch (e) {
            this.onError(e);
          }
        }
      },
    };
  }

  callEnded(end: CallEnd): void {
    for (const c of this.calls) {
      try {
        c.callEnded(end);
      } catch (e) {
        this.onError(e);
      }
    }
  }
}
