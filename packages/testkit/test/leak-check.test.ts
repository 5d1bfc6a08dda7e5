import { describe, expect, it } from 'vitest';
import { LeakTracker } from '../src/leaks.ts';

describe('LeakTracker', () => {
  it('fails naming every resource left open, and passes once they are closed', async () => {
    const t = new LeakTracker();
    const pool = t.trackCloseable('pg pool', { end: async () => 'ended' }, 'end');
    const producer = t.trackCloseable('kafka producer', { disconnect: async () => undefined }, 'disconnect');
    expect(() => t.assertNoneOpen()).toThrowError(/left 2 resource\(s\) open: pg pool, kafka producer/);
    expect(await pool.end()).toBe('ended');
    expect(t.open()).toEqual(['kafka producer']);
    await producer.disconnect();
    expect(() => t.assertNoneOpen()).not.toThrow();
  });
});
