import { Test } from '@nestjs/testing';
import type { AddressInfo } from 'node:net';
import type { INestApplication } from '@nestjs/common';
import type { DashboardEventsView, DashboardKeyView, DashboardStatusView } from '../../lib';
import { AppModule } from '../../sample/app.module';
import { DEMO_KEYS } from '../../sample/demo/demo-upstream';
import { getJson, quietNest } from '../support/dashboard-app';
import { DashboardStream, keyIn } from '../support/dashboard-stream';
import { setSampleEnv } from '../support/env';

const SECRET_TRACES = [DEMO_KEYS.limited.value, DEMO_KEYS.ok.value, 'env://', 'secretRef'];

describe('the sample mounts the dashboard at /dashboard (read-only)', () => {
  let restoreEnv: () => void;
  let app: INestApplication;
  let base: string;

  beforeAll(async () => {
    quietNest();
    restoreEnv = setSampleEnv();
    const moduleRef = await Test.createTestingModule({ imports: [AppModule] }).compile();
    app = moduleRef.createNestApplication({ logger: false });
    await app.listen(0, '127.0.0.1');
    base = `http://127.0.0.1:${(app.getHttpServer().address() as AddressInfo).port}/dashboard`;
  });
  afterAll(async () => {
    await app?.close();
    restoreEnv?.();
  });

  it('serves the page, its JSON and its live stream; the demo 429 shows as COOLDOWN; no action route; no secret', async () => {
    const page = await fetch(base);
    expect(page.status).toBe(200);
    expect(page.headers.get('content-type')).toMatch(/^text\/html/);
    const stream = new DashboardStream(`${base}/stream`);
    try {
      await stream.until((f) => f.keys.length === 2, 'the first frame');
      const chat = await fetch(`${base.replace(/\/dashboard$/, '')}/chat`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ messages: [{ role: 'user', content: 'hi' }] }),
      });
      expect(chat.status).toBe(200);
      const live = await stream.until((f) => keyIn(f, DEMO_KEYS.limited.keyId).state === 'COOLDOWN' && f.totals.attempts === 2, 'the demo key cooling');
      expect(keyIn(live, DEMO_KEYS.ok.keyId)).toMatchObject({ state: 'ACTIVE', available: true });

      const keys = (await getJson<{ keys: DashboardKeyView[] }>(`${base}/keys`)).keys;
      expect(keys.map((k) => [k.keyId, k.state])).toEqual([
        [DEMO_KEYS.limited.keyId, 'COOLDOWN'],
        [DEMO_KEYS.ok.keyId, 'ACTIVE'],
      ]);
      expect(keys[1].usage.successes).toBe(1);
      expect((await getJson<DashboardStatusView>(`${base}/status`)).actions).toBe(false);
      expect((await getJson<DashboardEventsView>(`${base}/events`)).events.map((e) => e.outcome)).toEqual(['rate_limit', 'success']);
      expect((await fetch(`${base}/keys/${DEMO_KEYS.ok.keyId}/disable`, { method: 'POST' })).status).toBe(404);

      const texts = [await page.text(), JSON.stringify(keys), JSON.stringify(await getJson(`${base}/usage`)), stream.events.map((e) => e.data).join('\n')];
      for (const t of texts) for (const s of SECRET_TRACES) expect(t).not.toContain(s);
    } finally {
      stream.close();
    }
  });
});
