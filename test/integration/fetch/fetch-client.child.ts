/**
 * A second process for the Redis spec: it builds its own engine on the options it is sent (the same Redis and
 * namespace as its parent) and makes one request through a real client on `fetchFor()`. Started with
 * `fork(thisFile, [], { execArgv: ['-r', '@swc-node/register'] })`. Messages in: `{ cmd: 'chat', driver, fakeUrl,
 * options }` and `{ cmd: 'exit' }`. Messages out: `{ ready: true }`, then per chat `{ text?, error?, rows }` where
 * `rows` is this process's view of every key (state and leases in use).
 */
import { LlmRotate, type LlmRotateOptions } from '../../../lib';
import { driverNamed } from './clients';

interface ChatCommand {
  cmd: 'chat';
  driver: string;
  fakeUrl: string;
  options: LlmRotateOptions;
}

const quiet = { warn: () => undefined, error: () => undefined };

async function chat(m: ChatCommand): Promise<unknown> {
  const driver = driverNamed(m.driver);
  const lr = await LlmRotate.create(m.options, { logger: quiet });
  try {
    let text: string | undefined;
    let error: string | undefined;
    try {
      text = await driver.open(m.fakeUrl, lr.fetchFor(driver.provider)).chat();
    } catch (e) {
      error = (e as Error).message;
    }
    const rows = (await lr.snapshot()).keys.map((k) => ({ keyId: k.keyId, state: k.state, leasesInUse: k.leasesInUse }));
    return { text, error, rows };
  } finally {
    await lr.close();
  }
}

process.on('message', (m: ChatCommand | { cmd: 'exit' }) => {
  if (m.cmd === 'exit') process.exit(0);
  chat(m).then(
    (r) => process.send?.(r),
    (e: unknown) => process.send?.({ error: `child failed: ${(e as Error).message}`, rows: [] }),
  );
});
process.send?.({ ready: true });
