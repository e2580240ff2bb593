import { Injectable, Logger, Module } from '@nestjs/common';
import { Test } from '@nestjs/testing';
import OpenAI from 'openai';
import { LlmRotateModule, LlmRotateService, type UsageEvent } from '../../../lib';
import { OpenAiFake } from '../../fakes/openai-fake';
import { makeOptions } from '../../support/options';

/** A user's provider: the official client built once, on the module's rotating fetch (the README's Nest lines). */
@Injectable()
class Assistant {
  readonly openai: OpenAI;
  constructor(llm: LlmRotateService) {
    this.openai = new OpenAI({ apiKey: 'managed', baseURL: fakeUrl, fetch: llm.fetchFor('openai'), maxRetries: 0 });
  }
}

let fakeUrl = '';

describe('LlmRotateService.fetchFor in a Nest module', () => {
  let fake: OpenAiFake;
  beforeAll(async () => {
    Logger.overrideLogger(false);
    fake = await OpenAiFake.start();
    fakeUrl = fake.baseUrl;
  });
  afterAll(() => fake.close());

  it('a client built in a provider rotates through the module\'s keys; usage$ carries source: fetch', async () => {
    @Module({
      imports: [LlmRotateModule.forRoot(makeOptions('http://127.0.0.1:9', [{ keyId: 'a', priority: 1, secret: 'sk-nest-a' }, { keyId: 'b', secret: 'sk-nest-b' }], { strategy: 'priority' }))],
      providers: [Assistant],
    })
    class AppModule {}
    const m = await Test.createTestingModule({ imports: [AppModule] }).compile();
    try {
      const events: UsageEvent[] = [];
      const sub = m.get(LlmRotateService).usage$.subscribe((e) => events.push(e));
      fake.script('sk-nest-a', 'rate_limit');
      const r = await m.get(Assistant).openai.chat.completions.create({ model: 'gpt-4o-mini', messages: [{ role: 'user', content: 'hi' }] });
      expect(r.choices[0].message.content).toBe('Hello from gpt-4o-mini');
      expect(events.map((e) => [e.source, e.keyId, e.outcome])).toEqual([
        ['fetch', 'a', 'rate_limit'],
        ['fetch', 'b', 'success'],
      ]);
      sub.unsubscribe();
    } finally {
      await m.close();
    }
  });
});
