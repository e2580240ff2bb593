import { Injectable, type CanActivate } from '@nestjs/common';
import { LLM_ROTATE_ENGINE, LlmRotate, LlmRotateDashboardModule, LlmRotateModule, type DashboardKeyView } from '../../lib';
import { OpenAiFake } from '../fakes/openai-fake';
import { eventually, getJson, quietNest, startApp, type RunningApp } from '../support/dashboard-app';
import { DashboardStream, keyIn } from '../support/dashboard-stream';
import { makeOptions } from '../support/options';

const HI = [{ role: 'user' as const, content: 'hi' }];

/** Secret values no dashboard output may contain (each has the marker CANARY). */
const ECHOED = 'sk-CANARY-echo-0f1e2d3c4b5a69788796a5b4';
const LITERAL = 'sk-CANARY-literal-a1b2c3d4e5f60718293a';
const FROM_ENV = 'sk-CANARY-env-99aa88bb77cc66dd55ee';
const ENV_SET = 'LLM_DASHBOARD_TEST_KEY_SET';
const ENV_UNSET = 'LLM_DASHBOARD_TEST_KEY_UNSET';
const FORBIDDEN = ['CANARY', ECHOED.slice(10, 22), LITERAL.slice(12, 24), FROM_ENV.slice(8, 20), 'secretRef', 'literal://', 'env://'];

@Injectable()
class AllowGuard implements CanActivate {
  canActivate(): boolean {
    return true;
  }
}

let fake: OpenAiFake;
let app: RunningApp;
let engine: LlmRotate;
let base: string;

beforeAll(async () => {
  quietNest();
  process.env[ENV_SET] = FROM_ENV;
  delete process.env[ENV_UNSET];
  fake = await OpenAiFake.start();
  const options = makeOptions(
    fake.baseUrl,
    [
      { keyId: 'echoed', priority: 4, secret: ECHOED },
      { keyId: 'literal', priority: 3, secret: LITERAL },
      { keyId: 'from-env', priority: 2, secretRef: `env://${ENV_SET}` },
      { keyId: 'unresolved', priority: 1, secretRef: `env://${ENV_UNSET}` },
    ],
    { strategy: 'priority' },
  );
  app = await startApp([LlmRotateModule.forRoot(options), LlmRotateDashboardModule.register({ path: 'dash', actions: { enabled: true, guard: AllowGuard } })]);
  engine = app.app.get(LLM_ROTATE_ENGINE);
  base = `${app.url}/dash`;
});

afterAll(async () => {
  await app?.close();
  await fake?.close();
  delete process.env[ENV_SET];
});

function expectNoSecret(what: string, text: string): void {
  for (const f of FORBIDDEN) {
    if (text.includes(f)) throw new Error(`${what} contains "${f}": ${text.slice(Math.max(0, text.indexOf(f) - 80), text.indexOf(f) + 80)}`);
  }
}

describe('the dashboard never shows a secret', () => {
  it('not on the page, in any JSON, in the live stream or in an action answer; an unresolvable secret shows its reason', async () => {
    // The upstream echoes the key it was given in its 401 body (as OpenAI does); the call rotates.
    fake.script(ECHOED, 'auth');
    const stream = new DashboardStream(`${base}/stream`);
    try {
      await stream.until(() => true, 'the first frame');
      const r1 = await engine.chat('gpt-4o-mini', HI);
      expect(r1.keyId).toBe('literal');
      expect(r1.attempts[0]).toMatchObject({ keyId: 'echoed', outcome: 'auth', status: 401 });
      // The engine itself saw the echo (scrubbed): proof the upstream did send the secret back.
      expect(fake.requests.some((r) => r.headers.authorization === `Bearer ${ECHOED}`)).toBe(true);
      for await (const _ of engine.stream('gpt-4o-mini', HI)) void _;
      // The env key serves too (the literal one is taken out of rotation by an operator first).
      await fetch(`${base}/keys/literal/disable`, { method: 'POST' });
      expect((await engine.chat('gpt-4o-mini', HI)).keyId).toBe('from-env');
      await stream.until((f) => keyIn(f, 'from-env').usage.successes === 1 && keyIn(f, 'literal').state === 'DISABLED', 'every change seen live');

      const keys = (await getJson<{ keys: DashboardKeyView[] }>(`${base}/keys`)).keys;
      const unresolved = keys.find((k) => k.keyId === 'unresolved') as DashboardKeyView;
      expect(unresolved.available).toBe(false);
      expect(unresolved.reason).toMatch(/secret cannot be resolved/);
      expect(keys.find((k) => k.keyId === 'echoed')).toMatchObject({ state: 'QUARANTINE' });

      const outputs: Array<[string, string]> = [];
      for (const path of ['', '/status', '/keys', '/usage', '/events', '/events?limit=2']) {
        const res = await fetch(base + path);
        expect(res.status).toBe(200);
        outputs.push([`GET ${path || '/'}`, await res.text()]);
      }
      for (const action of ['enable', 'reset', 'disable']) {
        const res = await fetch(`${base}/keys/echoed/${action}`, { method: 'POST' });
        expect(res.status).toBe(200);
        outputs.push([`POST ${action}`, await res.text()]);
      }
      const unknown = await fetch(`${base}/keys/unknown-key/reset`, { method: 'POST' });
      expect(unknown.status).toBe(404);
      outputs.push(['POST unknown', await unknown.text()]);
      await stream.until((f) => keyIn(f, 'echoed').state === 'DISABLED', 'the actions seen live');
      outputs.push(['SSE', stream.events.map((e) => e.data).join('\n')]);

      expect(outputs.find(([w]) => w === 'GET /keys')?.[1]).toContain('secret cannot be resolved');
      for (const [what, text] of outputs) expectNoSecret(what, text);
    } finally {
      stream.close();
    }
    await eventually(() => stream.done.then(() => true), 'the stream to end');
  });
});
