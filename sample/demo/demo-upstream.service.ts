import { Injectable, Logger, type OnApplicationShutdown } from '@nestjs/common';
import { ConfigService } from '@nestjs/config';
import { DEMO_KEYS, DemoUpstream, exportDemoKeys, type DemoUpstreamEvent } from './demo-upstream';

/**
 * Owns the demo upstream in the Nest lifecycle: started on demand by the llm-rotate config factory (demo mode
 * only), closed when the application shuts down, so SIGINT/SIGTERM end the process cleanly.
 */
@Injectable()
export class DemoUpstreamService implements OnApplicationShutdown {
  private readonly logger = new Logger('DemoUpstream');
  private starting: Promise<DemoUpstream> | undefined;
  private upstream: DemoUpstream | undefined;

  constructor(private readonly config: ConfigService) {}

  /** The running upstream, if demo mode started it. */
  get running(): DemoUpstream | undefined {
    return this.upstream;
  }

  /** Starts the upstream (once) and exports the demo key values for the `env://` secretRefs. */
  start(): Promise<DemoUpstream> {
    this.starting ??= (async () => {
      exportDemoKeys();
      const upstream = await DemoUpstream.start({ streamDelayMs: this.ms('DEMO_STREAM_DELAY_MS'), responseDelayMs: this.ms('DEMO_RESPONSE_DELAY_MS') });
      upstream.onEvent((e) => this.logger.log(describe(e)));
      this.upstream = upstream;
      this.logger.log(`Demo upstream (OpenAI format) on ${upstream.baseUrl}: ${DEMO_KEYS.limited.keyId} always answers 429, ${DEMO_KEYS.ok.keyId} answers`);
      return upstream;
    })();
    return this.starting;
  }

  /** A delay in ms from the environment, or undefined (the default) when unset or not a number >= 0. */
  private ms(name: string): number | undefined {
    const raw = this.config.get<string>(name);
    const v = raw === undefined || raw.trim() === '' ? NaN : Number(raw);
    return Number.isFinite(v) && v >= 0 ? v : undefined;
  }

  async onApplicationShutdown(): Promise<void> {
    const upstream = this.upstream;
    if (upstream === undefined) return;
    this.upstream = undefined;
    await upstream.close();
    this.logger.log('Demo upstream closed');
  }
}

function describe(e: DemoUpstreamEvent): string {
  if (e.type === 'stream-cancelled') {
    return `${DEMO_KEYS[e.key].keyId}: the client closed the stream after ${e.chunksSent} chunk(s): the cancel reached the upstream`;
  }
  const who = e.key === 'unknown' ? 'an unknown key' : DEMO_KEYS[e.key].keyId;
  const what = e.status === 429 ? '429 rate limited' : e.status === 200 ? `200${e.stream ? ' streaming' : ''}` : String(e.status);
  return `${who} -> ${what}${e.model ? ` (${e.model})` : ''}`;
}
