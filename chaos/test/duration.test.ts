/** --for and a schedule's "at"/"for": durations with ms, s or m. */
import { describe, expect, it } from 'vitest';
import { formatDuration, parseDuration } from '../src/index.ts';

describe('parseDuration', () => {
  it('reads ms, s and m suffixes', () => {
    expect(parseDuration('--for', '250ms')).toBe(250);
    expect(parseDuration('--for', '30s')).toBe(30_000);
    expect(parseDuration('--for', '1.5s')).toBe(1500);
    expect(parseDuration('--for', '2m')).toBe(120_000);
  });

  it('refuses a number without a unit, zero (unless allowed) and garbage', () => {
    expect(() => parseDuration('--for', '30')).toThrow(/add a unit: 30s, 30ms or 30m/);
    expect(() => parseDuration('--for', '0s')).toThrow(/not longer than zero/);
    expect(parseDuration('"at"', '0s', { allowZero: true })).toBe(0);
    expect(() => parseDuration('--for', 'soon')).toThrow(/is not a duration/);
  });

  it('formats for the log', () => {
    expect([0, 500, 1500, 30_000, 120_000].map(formatDuration)).toEqual(['0 s', '500 ms', '1500 ms', '30 s', '2 m']);
  });
});
