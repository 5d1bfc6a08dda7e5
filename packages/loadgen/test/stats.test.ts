import { describe, expect, it } from 'vitest';
import { percentile, summarize } from '../src/stats.ts';

describe('percentile / summarize', () => {
  it('uses nearest rank', () => {
    const v = Array.from({ length: 100 }, (_, i) => 100 - i); // 1..100 shuffled order
    expect(percentile(v, 50)).toBe(50);
    expect(percentile(v, 99)).toBe(99);
    expect(percentile(v, 100)).toBe(100);
    expect(percentile([7], 99)).toBe(7);
    expect(percentile([], 50)).toBe(0);
  });

  it('counts failures by error code', () => {
    const s = summarize([
      { ok: true, status: 200, ms: 10 },
      { ok: false, status: 503, error: 'DW_DB_POOL_EXHAUSTED', ms: 2000 },
      { ok: false, status: 503, error: 'DW_DB_POOL_EXHAUSTED', ms: 2001 },
      { ok: false, status: 0, error: 'client timeout', ms: 5000 },
    ]);
    expect(s).toMatchObject({ total: 4, ok: 1, failed: 3, errors: { DW_DB_POOL_EXHAUSTED: 2, 'client timeout': 1 }, maxMs: 5000 });
  });
});
