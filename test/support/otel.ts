import { ROOT_CONTEXT, createNoopMeter, type Attributes, type Context, type ContextManager, type Counter, type Meter, type MeterProvider } from '@opentelemetry/api';
import { AsyncLocalStorage } from 'node:async_hooks';
import { BasicTracerProvider, InMemorySpanExporter, SimpleSpanProcessor, type ReadableSpan } from '@opentelemetry/sdk-trace-base';

/** A tracer provider of the OpenTelemetry SDK exporting to memory: every ended span lands in `exporter`. */
export function memoryTracing(): { provider: BasicTracerProvider; exporter: InMemorySpanExporter; spans(): ReadableSpan[] } {
  const exporter = new InMemorySpanExporter();
  const provider = new BasicTracerProvider({ spanProcessors: [new SimpleSpanProcessor(exporter)] });
  return { provider, exporter, spans: () => exporter.getFinishedSpans() };
}

/**
 * The context manager Node's SDK uses, in a few lines (the SDK's own lives in @opentelemetry/context-async-hooks,
 * not installed here): the active context follows async calls through AsyncLocalStorage.
 */
export class AsyncLocalStorageContextManager implements ContextManager {
  private readonly storage = new AsyncLocalStorage<Context>();
  active(): Context {
    return this.storage.getStore() ?? ROOT_CONTEXT;
  }
  with<A extends unknown[], F extends (...args: A) => ReturnType<F>>(context: Context, fn: F, thisArg?: ThisParameterType<F>, ...args: A): ReturnType<F> {
    return this.storage.run(context, () => fn.call(thisArg, ...args));
  }
  bind<T>(_context: Context, target: T): T {
    return target;
  }
  enable(): this {
    return this;
  }
  disable(): this {
    this.storage.disable();
    return this;
  }
}

export interface CounterAdd {
  counter: string;
  value: number;
  attributes: Attributes;
}

/**
 * A MeterProvider that records every counter increment (the metrics SDK is not installed here). Only counters are
 * implemented; any other instrument is the API's no-op one.
 */
export function recordingMeterProvider(): { provider: MeterProvider; adds: CounterAdd[] } {
  const adds: CounterAdd[] = [];
  const noop = createNoopMeter();
  const meter: Meter = Object.assign(Object.create(noop) as Meter, {
    createCounter(name: string): Counter {
      return { add: (value: number, attributes: Attributes = {}) => adds.push({ counter: name, value, attributes }) };
    },
  });
  return { provider: { getMeter: () => meter }, adds };
}

/** Every string an exporter would send for these spans: name, attribute values, status message, event attributes. */
export function spanStrings(spans: readonly ReadableSpan[]): string {
  return JSON.stringify(spans.map((s) => ({ name: s.name, attributes: s.attributes, status: s.status, events: s.events.map((e) => ({ name: e.name, attributes: e.attributes })) })));
}
