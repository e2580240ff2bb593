import { Logger, type INestApplication } from '@nestjs/common';
import { Test } from '@nestjs/testing';
import type { AddressInfo } from 'node:net';

/** A Nest app of `imports` listening on a free port of 127.0.0.1; `url` is its base URL. */
export interface RunningApp {
  app: INestApplication;
  url: string;
  close(): Promise<void>;
}

export async function startApp(imports: unknown[], setup?: (app: INestApplication) => void): Promise<RunningApp> {
  const moduleRef = await Test.createTestingModule({ imports: imports as never[] }).compile();
  const app = moduleRef.createNestApplication({ logger: false });
  setup?.(app);
  await app.listen(0, '127.0.0.1');
  const { port } = app.getHttpServer().address() as AddressInfo;
  let closing: Promise<void> | undefined;
  return { app, url: `http://127.0.0.1:${port}`, close: () => (closing ??= app.close()) };
}

/** GET `url` and parse its JSON (fails the test on a non-2xx answer). */
export async function getJson<T = unknown>(url: string): Promise<T> {
  const res = await fetch(url);
  const text = await res.text();
  if (!res.ok) throw new Error(`GET ${url}: ${res.status} ${text}`);
  return JSON.parse(text) as T;
}

/** Polls `check` until it resolves true (effects seen over HTTP or from another process). */
export async function eventually(check: () => Promise<boolean> | boolean, what: string, timeoutMs = 15_000): Promise<void> {
  const end = Date.now() + timeoutMs;
  for (;;) {
    if (await check()) return;
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 25));
  }
}

export function quietNest(): void {
  Logger.overrideLogger(false);
}
