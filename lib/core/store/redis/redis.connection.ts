import type { RedisStoreOptions } from '../../config/options.interfaces';
import { ConfigurationError } from '../../errors';
import type { ScriptHost } from './redis.scripts';

/** The part of an ioredis `Redis` or `Cluster` the store uses. */
export interface RedisConnection extends ScriptHost {
  readonly status: string;
  on(event: string, listener: (...args: unknown[]) => void): unknown;
  off(event: string, listener: (...args: unknown[]) => void): unknown;
  quit(): Promise<unknown>;
  disconnect(): void;
  connect?(): Promise<unknown>;
}

export const DEFAULT_COMMAND_TIMEOUT_MS = 250;
export const DEFAULT_NAMESPACE = 'llmrotate';

/**
 * Builds the store's own ioredis client (ioredis is loaded here, only when the Redis store is configured).
 * Nothing queues while Redis is away (`enableOfflineQueue: false`, no resend), every command has a deadline
 * (`commandTimeout`), and reconnection goes on forever in the background (at most one attempt a second).
 */
export function createConnection(options: RedisStoreOptions, namespace: string): RedisConnection {
  let IORedis: typeof import('ioredis');
  try {
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    IORedis = require('ioredis') as typeof import('ioredis');
  } catch {
    throw new ConfigurationError(['registry.stateStore.backend: "redis" needs the ioredis package (npm install ioredis)']);
  }
  const commandTimeout = options.commandTimeoutMs ?? DEFAULT_COMMAND_TIMEOUT_MS;
  const common = {
    connectionName: `llmrotate:${namespace}`,
    commandTimeout,
    connectTimeout: Math.max(1000, commandTimeout * 4),
    // How long disconnect() waits for the socket to close before destroying it (ioredis default 2 s).
    disconnectTimeout: 200,
    enableOfflineQueue: false,
    autoResendUnfulfilledCommands: false,
    maxRetriesPerRequest: 0,
    retryStrategy: (times: number) => Math.min(100 * times, 1000),
  };
  if (options.clusterNodes !== undefined && options.clusterNodes.length > 0) {
    const urls = options.clusterNodes.map((u) => new URL(u));
    const first = urls[0];
    return new IORedis.Cluster(
      urls.map((u) => ({ host: u.hostname, port: Number(u.port || 6379) })),
      {
        enableOfflineQueue: false,
        clusterRetryStrategy: (times: number) => Math.min(100 * times, 1000),
        redisOptions: {
          ...common,
          username: first.username ? decodeURIComponent(first.username) : undefined,
          password: first.password ? decodeURIComponent(first.password) : undefined,
          tls: first.protocol === 'rediss:' ? {} : undefined,
        },
      },
    ) as unknown as RedisConnection;
  }
  return new IORedis.Redis(options.redisUrl ?? 'redis://127.0.0.1:6379', common) as unknown as RedisConnection;
}

/** A user-injected client must at least be an ioredis client (it is used as it is and never closed by us). */
export function checkInjected(client: unknown): RedisConnection {
  const c = client as Partial<RedisConnection> | null;
  if (c === null || typeof c !== 'object' || typeof c.defineCommand !== 'function' || typeof c.on !== 'function' || typeof c.status !== 'string') {
    throw new ConfigurationError(['registry.stateStore.client: must be an ioredis Redis or Cluster instance']);
  }
  return c as RedisConnection;
}

/** Resolves true once the client is ready, false at its first failure or after `ms`. */
export function whenReady(client: RedisConnection, ms: number): Promise<boolean> {
  if (client.status === 'ready') return Promise.resolve(true);
  return new Promise((resolve) => {
    const done = (ok: boolean): void => {
      clearTimeout(timer);
      client.off('ready', onReady);
      client.off('error', onFail);
      client.off('end', onFail);
      resolve(ok);
    };
    const onReady = (): void => done(true);
    const onFail = (): void => done(false);
    const timer = setTimeout(onFail, ms);
    client.on('ready', onReady);
    client.on('error', onFail);
    client.on('end', onFail);
  });
}

/** Closes our own client: QUIT when connected (bounded), otherwise just stop reconnecting. */
export async function closeConnection(client: RedisConnection, ms: number): Promise<void> {
  if (client.status !== 'ready') {
    client.disconnect();
    return;
  }
  let timer: NodeJS.Timeout | undefined;
  try {
    await Promise.race([client.quit(), new Promise((_, reject) => (timer = setTimeout(() => reject(new Error('quit timed out')), ms)))]);
  } catch {
    client.disconnect();
  } finally {
    clearTimeout(timer);
  }
}

/** Removes the password of `url` from a message (ioredis errors name hosts, not credentials, but be sure). */
export function scrubber(options: RedisStoreOptions): (msg: string) => string {
  const secrets: string[] = [];
  for (const u of [options.redisUrl, ...(options.clusterNodes ?? [])]) {
    if (u === undefined) continue;
    try {
      const p = new URL(u).password;
      if (p) secrets.push(p, decodeURIComponent(p));
    } catch {
      /* validated elsewhere */
    }
  }
  if (secrets.length === 0) return (m) => m;
  return (m) => secrets.reduce((acc, s) => acc.split(s).join('***'), m);
}
