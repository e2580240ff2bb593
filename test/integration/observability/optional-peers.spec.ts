import { execFile } from 'node:child_process';
import { join } from 'node:path';
import { OpenAiFake } from '../../fakes/openai-fake';

const ROOT = join(__dirname, '../../..');

/** Runs test/support/optional-peers.child.ts in its own Node process and returns its JSON line. */
function child(mode: 'block' | 'present', baseUrl: string): Promise<Record<string, unknown>> {
  return new Promise((resolve, reject) => {
    execFile(process.execPath, ['-r', '@swc-node/register', join(ROOT, 'test/support/optional-peers.child.ts'), mode, baseUrl], { cwd: ROOT, timeout: 60_000 }, (err, stdout, stderr) => {
      const line = stdout.trim().split('\n').at(-1) ?? '';
      try {
        resolve(JSON.parse(line) as Record<string, unknown>);
      } catch {
        reject(new Error(`child failed: ${err?.message ?? ''}\n${stdout}\n${stderr}`));
      }
    });
  });
}

describe('prom-client and @opentelemetry/api are optional peers: nothing is loaded or needed unless used', () => {
  let fake: OpenAiFake;
  beforeAll(async () => {
    fake = await OpenAiFake.start();
  });
  afterAll(() => fake.close());

  it('without them installed, the library loads and serves; asking for them fails clearly, naming the package', async () => {
    const out = await child('block', fake.baseUrl);
    expect(out).toEqual({
      loadedByImport: [],
      chat: 'k',
      loadedAfterChat: [],
      tracingTrue: expect.stringMatching(/^ConfigurationError: .*tracing: true needs the optional package @opentelemetry\/api \(npm install @opentelemetry\/api\)/s),
      metrics: expect.stringMatching(/^ConfigurationError: .*metrics: Prometheus metrics need the optional package prom-client \(npm install prom-client\)/s),
    });
  });

  it('with them installed, importing the library and a chat with tracing: false load neither', async () => {
    const out = await child('present', fake.baseUrl);
    expect(out).toEqual({ loadedByImport: [], chat: 'k', loadedAfterChat: [] });
  });
});
