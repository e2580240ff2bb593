import { InvalidRequestError, MAX_TIMER_MS, boundedDelay } from '../../lib';
import { checkCallOptions } from '../../lib/core/config/call-options';
import { sleepSplit } from '../../lib/core/config/bounds';

describe('checkCallOptions (issue 8 item 4: maxWaitMs is a call option)', () => {
  it.each([
    [{ maxWaitMs: MAX_TIMER_MS + 1 }, 'opts.maxWaitMs: must not be greater than 2147483647'],
    [{ maxWaitMs: -1 }, 'opts.maxWaitMs: must be a number of milliseconds ≥ 0'],
    [{ maxWaitMs: NaN }, 'opts.maxWaitMs: must be a number'],
    [{ maxWaitMs: '1000' }, 'opts.maxWaitMs: must be a number'],
    [{ temperature: Infinity }, 'opts.temperature: must be a number from 0 to 2'],
    [{ topP: 3 }, 'opts.topP: must be a number from 0 to 1'],
    [{ maxTokens: 1.5 }, 'opts.maxTokens: must be a positive integer'],
    [{ stop: 'END' }, 'opts.stop: must be an array of strings'],
    [{ provider: 'opnai' }, 'opts.provider: must be one of openai'],
    [{ fallback: 'no' }, 'opts.fallback: must be a boolean'],
    [{ signal: {} }, 'opts.signal: must be an AbortSignal'],
  ])('%j → %s', (opts, msg) => {
    expect(() => checkCallOptions(opts as never)).toThrow(InvalidRequestError);
    expect(() => checkCallOptions(opts as never)).toThrow(msg);
  });

  it('accepts valid options, the bound itself, and acquire options', () => {
    expect(() => checkCallOptions({ maxWaitMs: MAX_TIMER_MS, temperature: 0.2, topP: 1, maxTokens: 10, stop: ['x'], provider: 'openai', fallback: false, signal: new AbortController().signal })).not.toThrow();
    expect(() => checkCallOptions(undefined)).not.toThrow();
    expect(() => checkCallOptions({ model: 'gpt-4o-mini', maxWaitMs: 0 }, 'acquire')).not.toThrow();
    expect(() => checkCallOptions({ model: '' }, 'acquire')).toThrow('opts.model: must be a non-empty string');
    expect(() => checkCallOptions({ maxWaitMs: 2 ** 31 }, 'acquire')).toThrow(InvalidRequestError);
  });
});

describe('boundedDelay / sleepSplit', () => {
  it('boundedDelay keeps a delay within what setTimeout honours', () => {
    expect([boundedDelay(NaN), boundedDelay(-5), boundedDelay(10), boundedDelay(2 ** 40), boundedDelay(Infinity)]).toEqual([0, 0, 10, MAX_TIMER_MS, MAX_TIMER_MS]);
  });

  it('sleepSplit sleeps a long wait as timers each within the bound', async () => {
    const steps: number[] = [];
    await sleepSplit(5 * MAX_TIMER_MS + 7, async (ms) => void steps.push(ms));
    expect(steps).toEqual([MAX_TIMER_MS, MAX_TIMER_MS, MAX_TIMER_MS, MAX_TIMER_MS, MAX_TIMER_MS, 7]);
    const short: number[] = [];
    await sleepSplit(-3, async (ms) => void short.push(ms));
    expect(short).toEqual([0]);
  });
});
