import type { UsageEvent } from './types';

export type UsageListener = (event: UsageEvent) => void;

/** Synchronous fan-out of usage events. A throwing listener is isolated from the call and the others. */
export class UsageEmitter {
  private listeners: UsageListener[] = [];

  constructor(private readonly onListenerError: (e: unknown) => void) {}

  get active(): boolean {
    return this.listeners.length > 0;
  }

  subscribe(fn: UsageListener): () => void {
    this.listeners = [...this.listeners, fn];
    return () => {
      this.listeners = this.listeners.filter((l) => l !== fn);
    };
  }

  emit(event: UsageEvent): void {
    for (const l of this.listeners) {
      try {
        l(event);
      } catch (e) {
        this.onListenerError(e);
      }
    }
  }

  clear(): void {
    this.listeners = [];
  }
}
