/**
 * Run as a child process (node -r @swc-node/register): `block` makes `@opentelemetry/api` and `prom-client`
 * unresolvable (as if not installed); `present` leaves them. Prints one JSON line of what happened.
 */
import Module from 'node:module';

const [mode, baseUrl] = process.argv.slice(2);
const PEERS = ['@opentelemetry/api', 'prom-client'];
if (mode === 'block') {
  const m = Module as unknown as { _resolveFilename(request: string, ...rest: unknown[]): string };
  const original = m._resolveFilename;
  m._resolveFilename = function (request: string, ...rest: unknown[]): string {
    if (PEERS.includes(request)) {
      const e = new Error(`Cannot find module '${request}'`) as Error & { code: string };
      e.code = 'MODULE_NOT_FOUND';
      throw e;
    }
    return original.call(this, request, ...rest);
  };
}

function loaded(): string[] {
  return PEERS.filter((p) => Object.keys(require.cache).some((f) => f.includes(`/node_modules/${p}/`)));
}

async function main(): Promise<void> {
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  const lib = require('../../lib') as typeof import('../../lib');
  const out: Record<string, unknown> = { loadedByImport: loaded() };
  const options = (tracing?: boolean) => ({
    registry: { keys: [{ keyId: 'k', provider: 'openai' as const, secretRef: 'literal://sk-child', models: ['gpt-4o-mini'], baseUrl }] },
    useKeys: ['k'],
    ...(tracing === undefined ? {} : { tracing }),
  });
  const quiet = { logger: { warn: () => undefined, error: () => undefined } };
  const lr = await lib.LlmRotate.create(options(mode === 'block' ? undefined : false), quiet);
  out.chat = (await lr.chat('gpt-4o-mini', [{ role: 'user', content: 'hi' }])).keyId;
  await lr.close();
  out.loadedAfterChat = loaded();
  if (mode === 'block') {
    out.tracingTrue = await lib.LlmRotate.create(options(true), quiet).then(
      () => 'created',
      (e: Error) => `${e.name}: ${e.message}`,
    );
    try {
      new lib.LlmRotateMetrics();
      out.metrics = 'created';
    } catch (e) {
      out.metrics = `${(e as Error).name}: ${(e as Error).message}`;
    }
  }
  process.stdout.write(`${JSON.stringify(out)}\n`);
}

main().catch((e: unknown) => {
  process.stdout.write(`${JSON.stringify({ crashed: String(e) })}\n`);
  process.exit(1);
});
