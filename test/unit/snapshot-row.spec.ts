import { FAR_FUTURE_ISO, deadlineIso, newKeyEntry, snapshotRow } from '../../lib/core/store/availability';

const spec = { keyId: 'k', enabled: true, maxConcurrent: 0, rateLimitRpm: 0, rateLimitTpm: 0, health: { cooldownMs: 1, quarantineMs: 1, maxConsecutiveFailures: 3, maxBenchMs: 3_600_000 } };
const NOW = Date.UTC(2026, 0, 1);

describe('snapshotRow never throws, whatever is stored (issue 8 item 3)', () => {
  it.each([
    ['a deadline past the last Date (1e20)', 1e20, FAR_FUTURE_ISO],
    ['Infinity', Infinity, FAR_FUTURE_ISO],
    ['exactly the last Date', 8.64e15, FAR_FUTURE_ISO],
    ['an ordinary deadline', NOW + 5000, new Date(NOW + 5000).toISOString()],
  ])('%s', (_name, until, shown) => {
    const e = { ...newKeyEntry(spec), state: 'COOLDOWN' as const, until };
    expect(snapshotRow(e, NOW)).toMatchObject({ state: 'COOLDOWN', until: shown });
    expect(snapshotRow({ ...e, state: 'QUARANTINE' }, NOW).until).toBe(shown);
  });

  it('a corrupt (NaN) deadline reads null; deadlines of other states are null', () => {
    expect(snapshotRow({ ...newKeyEntry(spec), state: 'COOLDOWN', until: NaN }, NOW).until).toBeNull();
    expect(snapshotRow({ ...newKeyEntry(spec), state: 'ACTIVE', until: 1e20 }, NOW).until).toBeNull();
    expect(deadlineIso(-1e20)).toBe(new Date(-8.64e15).toISOString());
    expect(FAR_FUTURE_ISO).toBe('+275760-09-13T00:00:00.000Z');
  });
});
