import Redis, { Cluster } from 'ioredis';
import { LlmRotate } from '../../../lib';
import { OpenAiFake } from '../../fakes/openai-fake';
import { makeOptions, recordingLogger } from '../../support/options';
import { clientsNamed, RedisServer } from '../../support/redis-server';
import { eventually, HI, keyRow, uniqueNamespace } from '../../support/redis-store';

/**
 * Redis Cluster: a real cluster-mode redis-server owning all 16384 slots. Cluster mode rejects any multi-key
 * command whose keys hash to different slots (CROSSSLOT), so every script working proves the namespace's keys
 * share one hash tag.
 */
describe('Redis state store on Redis Cluster', () => {
  let server: RedisServer;
  let fake: OpenAiFake;
  const closers: Array<() => Promise<unknown>> = [];

  beforeAll(async () => {
    server = await RedisServer.start({ args: ['--cluster-enabled', 'yes', '--cluster-config-file', 'nodes.conf', '--cluster-announce-ip', '127.0.0.1'] });
    await server.command('CLUSTER', 'ADDSLOTSRANGE', '0', '16383');
    await eventually(async () => /cluster_state:ok/.test((await server.command('CLUSTER', 'INFO')) as string), 10_000, 'cluster ok');
    fake = await OpenAiFake.start();
  });
  afterEach(async () => {
    while (closers.length > 0) await (closers.pop() as () => Promise<unknown>)();
  });
  afterAll(async () => {
    await fake?.close();
    await server?.close();
  });

  it('cluster mode really rejects keys of different slots (the control)', async () => {
    const c = new Redis(server.url);
    closers.push(async () => c.disconnect());
    await expect(c.eval("return redis.call('EXISTS', KEYS[1], KEYS[2])", 2, 'ns:s:a', 'ns:l:a')).rejects.toThrow(/CROSSSLOT/);
  });

  it('works through its own ioredis Cluster (clusterNodes) and shares state across workers', async () => {
    const ns = uniqueNamespace('cluster');
    fake.script('sk-cl-hot', 'rate_limit');
    const opts = makeOptions(
      fake.baseUrl,
      [
        { keyId: 'hot', secret: 'sk-cl-hot', priority: 1, maxConcurrent: 4, rateLimitRpm: 1000 },
        { keyId: 'cold', secret: 'sk-cl-cold' },
      ],
      { stateStore: { backend: 'redis', clusterNodes: [server.url], redisNamespace: ns } },
    );
    const a = await LlmRotate.create(opts, { logger: recordingLogger().logger });
    closers.push(() => a.close());
    const b = await LlmRotate.create(opts, { logger: recordingLogger().logger });
    closers.push(() => b.close());
    expect(a.storeHealth()).toEqual({ backend: 'redis', status: 'up' });
    expect((await a.chat('gpt-4o-mini', HI)).attempts.map((x) => x.keyId)).toEqual(['hot', 'cold']);
    expect((await b.chat('gpt-4o-mini', HI)).attempts.map((x) => x.keyId)).toEqual(['cold']);
    expect((await keyRow(b, 'hot')).state).toBe('COOLDOWN');
    expect(fake.hits('sk-cl-hot')).toBe(1);
    await a.close();
    await b.close();
    await eventually(async () => (await clientsNamed(server, `llmrotate:${ns}`)).length === 0, 3000, 'cluster connections closed');
  });

  it('works through a user-injected ioredis Cluster, which it leaves open', async () => {
    const ns = uniqueNamespace('cluster-inj');
    const cluster = new Cluster([{ host: '127.0.0.1', port: server.port }]);
    closers.push(async () => cluster.disconnect());
    const lr = await LlmRotate.create(
      makeOptions(fake.baseUrl, [{ keyId: 'k', secret: 'sk-cl-k' }], { stateStore: { backend: 'redis', client: cluster, redisNamespace: ns } }),
      { logger: recordingLogger().logger },
    );
    expect((await lr.chat('gpt-4o-mini', HI)).keyId).toBe('k');
    expect(lr.storeHealth().status).toBe('up');
    await lr.close();
    expect(cluster.status).toBe('ready');
    expect(await cluster.hget(`{${ns}}:s:k`, 's')).toBe('ACTIVE');
  });
});
