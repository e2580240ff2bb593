import fc from 'fast-check';
import type { UsageEvent } from '../../lib';
import { RecentEvents } from '../../lib/nest/dashboard/recent-events';
import { eventViews, recentStats } from '../../lib/nest/dashboard/dashboard.views';

function event(n: number, keyId = 'k', outcome: UsageEvent['outcome'] = 'success'): UsageEvent {
  return { timestamp: n, requestId: String(n), source: 'chat', provider: 'openai', model: 'm', keyId, outcome, latencyMs: 1, attempt: 1, fallback: false };
}

describe('RecentEvents (the dashboard ring buffer)', () => {
  it('keeps exactly the last `capacity` events in order, numbered since it was made, whatever was pushed', () => {
    fc.assert(
      fc.property(fc.integer({ min: 0, max: 20 }), fc.integer({ min: 0, max: 100 }), fc.integer({ min: 0, max: 120 }), (capacity, pushes, after) => {
        const b = new RecentEvents(capacity);
        for (let i = 1; i <= pushes; i++) b.push(event(i));
        const seen: Array<[number, number]> = [];
        b.forEachSince(after, (e, seq) => seen.push([seq, e.timestamp]));
        const first = Math.max(after + 1, pushes - Math.min(pushes, capacity) + 1);
        const expected: Array<[number, number]> = [];
        for (let s = first; s <= pushes; s++) expected.push([s, s]);
        expect(seen).toEqual(expected);
        expect(b.total).toBe(pushes);
        expect(b.size).toBe(Math.min(pushes, capacity));
      }),
    );
  });

  it('never grows: its array is allocated once at its capacity', () => {
    const b = new RecentEvents(4);
    const ring = (b as unknown as { ring: unknown[] }).ring;
    for (let i = 0; i < 1000; i++) b.push(event(i));
    expect((b as unknown as { ring: unknown[] }).ring).toBe(ring);
    expect(ring).toHaveLength(4);
    b.clear();
    expect(ring.every((x) => x === undefined)).toBe(true);
    expect(b.total).toBe(0);
  });

  it('eventViews: the newest `limit` after a sequence number; recentStats: success rate without the caller-caused outcomes', () => {
    const b = new RecentEvents(10);
    const outcomes: UsageEvent['outcome'][] = ['success', 'rate_limit', 'bad_request', 'cancelled', 'success', 'transient'];
    outcomes.forEach((o, i) => b.push(event(i + 1, 'a', o)));
    b.push(event(7, 'b', 'success'));
    expect(eventViews(b, 0, 3).map((e) => e.seq)).toEqual([5, 6, 7]);
    expect(eventViews(b, 6, 3).map((e) => e.seq)).toEqual([7]);
    const stats = recentStats(b);
    expect(stats.get('a')).toEqual({ attempts: 4, successes: 2, successRate: 0.5, lastOutcome: 'transient', lastAt: new Date(6).toISOString() });
    expect(stats.get('b')).toMatchObject({ attempts: 1, successRate: 1 });
  });
});
