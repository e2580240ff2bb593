import { join } from 'node:path';
import { LlmRotate, PROVIDERS } from '../../lib';

describe('sample/registry.example.json', () => {
  it('is a valid registry (Python form) naming all seven providers; secrets are only read at call time', async () => {
    const lr = await LlmRotate.create(join(__dirname, '../../sample/registry.example.json'));
    const snap = await lr.snapshot();
    expect(new Set(snap.keys.map((k) => k.provider))).toEqual(new Set(PROVIDERS));
    expect(snap.keys.every((k) => k.state === 'ACTIVE')).toBe(true);
    await lr.close();
  });
});
