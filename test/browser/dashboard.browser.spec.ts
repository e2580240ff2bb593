import { Injectable, type CanActivate } from '@nestjs/common';
import { copyFileSync, mkdirSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { chromium, type Browser, type Page } from 'playwright-core';
import { LLM_ROTATE_ENGINE, LlmRotate, LlmRotateDashboardModule, LlmRotateModule, type KeyOptions, type LlmRotateDashboardOptions, type LlmRotateOptions } from '../../lib';
import { AnthropicFake } from '../fakes/anthropic-fake';
import { OpenAiFake } from '../fakes/openai-fake';
import { eventually, quietNest, startApp, type RunningApp } from '../support/dashboard-app';
import { makeOptions } from '../support/options';

/*
 * The dashboard page in a real browser: Debian's chromium (CI installs it with apt-get), driven by playwright-core.
 * Screenshots go to test-artifacts/ (gitignored). UPDATE_DOCS_SCREENSHOT=1 also copies the pool's picture to
 * docs/dashboard.png (the README's).
 */

const ROOT = resolve(__dirname, '../..');
const ARTIFACTS = join(ROOT, 'test-artifacts');
const CHROMIUM = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';
const ARGS = ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'];
const HI = [{ role: 'user' as const, content: 'hi' }];

jest.setTimeout(90_000);

@Injectable()
class AllowGuard implements CanActivate {
  canActivate(): boolean {
    return true;
  }
}

let browser: Browser;
let openai: OpenAiFake;
let anthropic: AnthropicFake;
const apps: RunningApp[] = [];

beforeAll(async () => {
  quietNest();
  mkdirSync(ARTIFACTS, { recursive: true });
  openai = await OpenAiFake.start({ reply: 'The quick brown fox jumps over the lazy dog', rateLimitHeaders: { 'retry-after': '90' } });
  anthropic = await AnthropicFake.start({ reply: 'Short and sweet answer from Claude' });
  browser = await chromium.launch({ executablePath: CHROMIUM, args: ARGS });
});
afterAll(async () => {
  await browser?.close();
  await Promise.all(apps.splice(0).map((a) => a.close()));
  await openai?.close();
  await anthropic?.close();
});
afterEach(async () => {
  await Promise.all(apps.splice(0).map((a) => a.close()));
  openai.reset();
  anthropic.reset();
});

async function mount(options: LlmRotateOptions, dashboard: LlmRotateDashboardOptions, prefix = ''): Promise<{ engine: LlmRotate; base: string }> {
  const a = await startApp([LlmRotateModule.forRoot(options), LlmRotateDashboardModule.register(dashboard)], (app) => {
    if (prefix !== '') app.setGlobalPrefix(prefix);
  });
  apps.push(a);
  return { engine: a.app.get(LLM_ROTATE_ENGINE), base: `${a.url}/${prefix === '' ? '' : `${prefix}/`}${dashboard.path}` };
}

interface Watched {
  page: Page;
  problems: string[];
  requests: string[];
}

/** A page that records console errors, page errors (a CSP violation is one) and every URL it asks for. */
async function open(url: string, viewport = { width: 1360, height: 900 }): Promise<Watched> {
  const page = await browser.newPage({ viewport });
  const problems: string[] = [];
  const requests: string[] = [];
  page.on('console', (m) => {
    if (m.type() === 'error' || m.type() === 'warning') problems.push(`${m.type()}: ${m.text()}`);
  });
  page.on('pageerror', (e) => problems.push(`pageerror: ${e.message}`));
  page.on('request', (r) => requests.push(r.url()));
  await page.goto(url);
  await page.waitForSelector('#conn[data-conn="live"]', { timeout: 30_000 });
  return { page, problems, requests };
}

/** `42s`, `1m 05s`, `2h 03m` as seconds. */
function seconds(text: string): number {
  const m = /^(?:(\d+)h )?(?:(\d+)m )?(?:(\d+)s)?$/.exec(text.trim());
  if (m === null || text.trim() === '') return NaN;
  return Number(m[1] ?? 0) * 3600 + Number(m[2] ?? 0) * 60 + Number(m[3] ?? 0);
}

const row = (keyId: string, state?: string): string => `#keys tr[data-key-id="${keyId}"]${state ? `[data-state="${state}"]` : ''}`;

describe('the dashboard page in headless Chromium', () => {
  it('a scripted 429 turns the key row to COOLDOWN live (no reload), with its time left counting down', async () => {
    const { engine, base } = await mount(
      makeOptions(openai.baseUrl, [
        { keyId: 'k1', priority: 2, secret: 'sk-browser-k1' },
        { keyId: 'k2', priority: 1, secret: 'sk-browser-k2' },
      ], { strategy: 'priority' }),
      // A minute between timer refreshes: what the page shows next is pushed by the 429's usage event.
      { path: 'dash', refreshMs: 60_000 },
    );
    const { page, problems, requests } = await open(base);
    try {
      await page.waitForSelector(row('k1', 'ACTIVE'));
      expect(await page.textContent(`${row('k1')} .pill`)).toBe('ACTIVE');
      await page.evaluate(() => {
        (window as unknown as { notReloaded: boolean }).notReloaded = true;
      });

      openai.script('sk-browser-k1', 'rate_limit');
      expect((await engine.chat('gpt-4o-mini', HI)).keyId).toBe('k2');

      await page.waitForSelector(row('k1', 'COOLDOWN'), { timeout: 15_000 });
      expect(await page.evaluate(() => (window as unknown as { notReloaded?: boolean }).notReloaded)).toBe(true);
      expect(await page.textContent(`${row('k1')} .pill`)).toBe('COOLDOWN');
      const left = async (): Promise<number> => seconds((await page.textContent(`${row('k1')} td[data-col="left"]`)) ?? '');
      const first = await left();
      expect(first).toBeGreaterThan(60);
      expect(first).toBeLessThanOrEqual(90);
      await eventually(async () => (await left()) < first, 'the countdown to move', 10_000);
      // The rest of the row and page follow.
      expect(await page.textContent(`${row('k1')} td[data-col="recent"]`)).toContain('0% of 1');
      expect(await page.textContent(`${row('k2')} td[data-col="recent"]`)).toContain('100% of 1');
      expect(await page.textContent('#providers [data-provider="openai"] .count')).toBe('1 / 2');
      expect(await page.textContent('#providers [data-provider="openai"] .breakdown')).toBe('1 available · 1 cooling down');
      expect(await page.textContent('#s-available')).toBe('1 / 2');
      expect(await page.$$eval('#events tbody tr', (rows) => rows.map((r) => (r as HTMLElement).dataset.outcome))).toEqual(['success', 'rate_limit']);
      // Read-only: no action column, no button.
      expect(await page.isVisible('th.actions-col')).toBe(false);
      expect(await page.isVisible(`${row('k1')} button`)).toBe(false);

      await page.screenshot({ path: join(ARTIFACTS, 'dashboard.png'), fullPage: true });
      // Offline: the page asked for nothing but its own origin.
      expect(requests.filter((u) => !u.startsWith(new URL(base).origin))).toEqual([]);
      expect(problems).toEqual([]);
    } finally {
      await page.close();
    }
  });

  it('with actions on, the buttons disable, enable and clear a cooldown, and the rows follow (under a global prefix, at path/)', async () => {
    const { engine, base } = await mount(
      makeOptions(openai.baseUrl, [
        { keyId: 'k1', priority: 2, secret: 'sk-browser-k1' },
        { keyId: 'k2', priority: 1, secret: 'sk-browser-k2' },
      ], { strategy: 'priority' }),
      { path: 'ops/llm', refreshMs: 60_000, actions: { enabled: true, guard: AllowGuard } },
      'api',
    );
    expect(base).toMatch(/\/api\/ops\/llm$/);
    // The page finds its stream and actions relative to its own URL, with or without a trailing slash.
    const { page, problems } = await open(`${base}/`);
    try {
      await page.waitForSelector(row('k2', 'ACTIVE'));
      expect(await page.isVisible('th.actions-col')).toBe(true);
      await page.click(`${row('k2')} button[data-action="disable"]`);
      await page.waitForSelector(row('k2', 'DISABLED'));
      expect(await page.isVisible(`${row('k2')} button[data-action="enable"]`)).toBe(true);
      expect((await engine.snapshot()).keys.find((k) => k.keyId === 'k2')?.state).toBe('DISABLED');
      await page.click(`${row('k2')} button[data-action="enable"]`);
      await page.waitForSelector(row('k2', 'ACTIVE'));

      openai.script('sk-browser-k1', 'rate_limit');
      await engine.chat('gpt-4o-mini', HI);
      await page.waitForSelector(row('k1', 'COOLDOWN'));
      expect(await page.textContent(`${row('k1')} button[data-action="reset"]`)).toBe('Clear');
      expect(await page.getAttribute(`${row('k1')} button[data-action="reset"]`, 'title')).toMatch(/^End the cooldown now/);
      await page.click(`${row('k1')} button[data-action="reset"]`);
      await page.waitForSelector(row('k1', 'ACTIVE'));
      expect(await page.textContent('#action-msg')).toBe('reset: k1 done');
      expect(problems).toEqual([]);
    } finally {
      await page.close();
    }
  });

  it('a pool with keys in every state (the README picture)', async () => {
    delete process.env.LLM_DASHBOARD_DEMO_UNSET;
    const oa = (keyId: string, extra: Partial<KeyOptions> = {}): KeyOptions => ({
      keyId,
      provider: 'openai',
      secretRef: `literal://sk-${keyId}`,
      models: ['gpt-4o-mini', 'gpt-4.1-mini'],
      baseUrl: openai.baseUrl,
      ...extra,
    });
    const an = (keyId: string): KeyOptions => ({ keyId, provider: 'anthropic', secretRef: `literal://sk-ant-${keyId}`, models: ['claude-haiku-4-5'], baseUrl: anthropic.baseUrl });
    const keys: KeyOptions[] = [
      oa('openai-prod-1'),
      oa('openai-prod-2'),
      oa('openai-prod-3'),
      oa('openai-batch'),
      oa('openai-spare'),
      an('anthropic-main'),
      an('anthropic-backup'),
      { keyId: 'openrouter-1', provider: 'openrouter', secretRef: 'env://LLM_DASHBOARD_DEMO_UNSET', models: ['openai/gpt-4o-mini'], baseUrl: openai.baseUrl },
    ];
    const { engine, base } = await mount(
      { registry: { keys }, useKeys: keys.map((k) => k.keyId), strategy: 'round_robin' },
      { path: 'llm-rotate', actions: { enabled: true, guard: AllowGuard } },
    );
    const state = async (keyId: string): Promise<string | undefined> => (await engine.snapshot()).keys.find((k) => k.keyId === keyId)?.state;
    // Traffic on every key.
    for (let i = 0; i < 24; i++) await engine.chat(i % 3 === 0 ? 'gpt-4.1-mini' : 'gpt-4o-mini', HI);
    for (let i = 0; i < 9; i++) await engine.chat('claude-haiku-4-5', HI);
    // openai-prod-2 draws a 429 (cooling 90 s), openai-batch a 401 (quarantined), the backup is taken out.
    openai.script('sk-openai-prod-2', 'rate_limit');
    openai.script('sk-openai-batch', 'auth');
    for (let i = 0; i < 12 && ((await state('openai-prod-2')) !== 'COOLDOWN' || (await state('openai-batch')) !== 'QUARANTINE'); i++) await engine.chat('gpt-4o-mini', HI);
    await engine.disableKey('anthropic-backup');
    // openai-spare draws a 429 that asks for 1 s: it is back on probation just after.
    openai.script('sk-openai-spare', { status: 429, headers: { 'retry-after': '1' }, body: { error: { message: 'Rate limit reached' } } });
    for (let i = 0; i < 6 && (await state('openai-spare')) !== 'COOLDOWN'; i++) await engine.chat('gpt-4o-mini', HI);
    const lent = await engine.acquire('openai'); // one lease in use while the picture is taken
    const { page, problems } = await open(base, { width: 1440, height: 1180 });
    try {
      await page.waitForSelector(row('openai-spare', 'PROBATION'), { timeout: 20_000 });
      for (const [keyId, st] of [
        ['openai-prod-1', 'ACTIVE'],
        ['openai-prod-2', 'COOLDOWN'],
        ['openai-batch', 'QUARANTINE'],
        ['anthropic-backup', 'DISABLED'],
      ]) {
        await page.waitForSelector(row(keyId, st));
      }
      expect(await page.textContent(`${row('openrouter-1')} td[data-col="state"] .avail`)).toMatch(/^held back here: its secret cannot be resolved/);
      expect(await page.textContent('#providers [data-provider="openrouter"] .breakdown')).toBe('0 available · 1 held back');
      expect(await page.textContent('#providers [data-provider="openrouter"] .count')).toBe('0 / 1');
      await page.evaluate(() => window.scrollTo(0, 0));
      await page.screenshot({ path: join(ARTIFACTS, 'dashboard-pool-full.png'), fullPage: true });
      // The README's picture: the top of the page (summary, providers, keys, the latest events).
      const file = join(ARTIFACTS, 'dashboard-pool.png');
      await page.screenshot({ path: file });
      if (process.env.UPDATE_DOCS_SCREENSHOT === '1') copyFileSync(file, join(ROOT, 'docs', 'dashboard.png'));
      expect(problems).toEqual([]);
    } finally {
      await lent.release();
      await page.close();
    }
  });
});
