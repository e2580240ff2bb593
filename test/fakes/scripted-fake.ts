import type { ServerResponse } from 'node:http';
import { FakeHttpServer, type RecordedRequest } from './fake-http';
import { Scripts } from './scripts';

/**
 * What every vendor fake shares: a real HTTP server on 127.0.0.1, the requests it recorded, and per-identity
 * scripts of behaviours (`script(key, 'rate_limit', 'ok')`). A fake implements `handle` and a `start` that calls
 * {@link ScriptedFake.boot}.
 */
export abstract class ScriptedFake<B> {
  protected readonly scripts: Scripts<B>;

  protected constructor(
    readonly http: FakeHttpServer,
    fallback: B,
  ) {
    this.scripts = new Scripts(fallback);
  }

  /** Starts a server whose requests go to the fake `make` builds around it. */
  protected static async boot<F extends ScriptedFake<unknown>>(make: (http: FakeHttpServer) => F): Promise<F> {
    let fake: F | undefined;
    const http = await FakeHttpServer.start((req, res) => (fake as F).handle(req, res));
    fake = make(http);
    return fake;
  }

  protected abstract handle(req: RecordedRequest, res: ServerResponse): void | Promise<void>;

  get url(): string {
    return this.http.url;
  }

  get requests(): RecordedRequest[] {
    return this.http.requests;
  }

  /** The first request made by `identity` gets the first behaviour, and so on; the last one repeats. */
  script(identity: string, ...behaviors: B[]): this {
    this.scripts.set(identity, behaviors);
    return this;
  }

  /** Forgets the scripts and the recorded requests (between tests sharing one fake). */
  reset(): void {
    this.scripts.clear();
    this.http.requests.length = 0;
  }

  close(): Promise<void> {
    return this.http.close();
  }
}
