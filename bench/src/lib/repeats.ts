/** Runs repeated to tame a shared machine's noise: the median of the repetitions and their spread (min–max). */
export interface Repeated {
  median: number;
  min: number;
  max: number;
  /** Every repetition's value, in run order. */
  values: number[];
}

export function repeated(values: number[]): Repeated {
  const finite = values.filter(Number.isFinite);
  const sorted = [...finite].sort((a, b) => a - b);
  const mid = sorted.length / 2;
  const median = sorted.length === 0 ? NaN : sorted.length % 2 ? sorted[Math.floor(mid)]! : (sorted[mid - 1]! + sorted[mid]!) / 2;
  return { median, min: sorted[0] ?? NaN, max: sorted.at(-1) ?? NaN, values };
}

/** "12.3 (11.0–14.2)": the median and, with more than one repetition, the spread. */
export function fmtRepeated(r: Repeated, fmt: (x: number) => string): string {
  return r.values.length > 1 ? `${fmt(r.median)} (${fmt(r.min)}–${fmt(r.max)})` : fmt(r.median);
}
