import type { ChatChunk, KeySnapshot, LlmRotate } from '../../lib';

/** One key's row of `snapshot()`; fails the test when the key is not in the pool. */
export async function keyRow(lr: LlmRotate, keyId: string): Promise<KeySnapshot> {
  const row = (await lr.snapshot()).keys.find((k) => k.keyId === keyId);
  if (row === undefined) throw new Error(`no snapshot row for ${keyId}`);
  return row;
}

/** Drains a stream into an array. */
export async function collect(it: AsyncIterable<ChatChunk>): Promise<ChatChunk[]> {
  const out: ChatChunk[] = [];
  for await (const c of it) out.push(c);
  return out;
}
