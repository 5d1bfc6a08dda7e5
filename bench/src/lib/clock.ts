/**
 * One clock for every process of a measurement: CLOCK_MONOTONIC (process.hrtime), which Linux shares between
 * processes, in milliseconds with sub-millisecond precision. Kafka's LogAppendTime is wall-clock milliseconds
 * (the broker's System.currentTimeMillis()); wallMinusMono() converts it: the offset between the wall clock
 * and the monotonic one is a property of the machine, not of a process, so it can be read in any of them.
 */

/** CLOCK_MONOTONIC in ms (comparable between processes on this machine). */
export const monoMs = (): number => Number(process.hrtime.bigint()) / 1e6;

/** monoMs() − performance.now() of this process (both count the same monotonic clock; fixed for the process). */
export function perfToMono(): number {
  return monoMs() - performance.now();
}

/**
 * Wall clock − monotonic clock (ms), to about a microsecond: waits (spinning, at most 1 ms) for Date.now() to
 * tick and reads the monotonic clock at that edge, where the wall clock is exactly an integer millisecond.
 */
export function wallMinusMono(): number {
  const start = Date.now();
  let now = start;
  let mono = 0;
  while (now === start) {
    mono = monoMs();
    now = Date.now();
  }
  // The tick happened between the last two reads of the monotonic clock; the one just before is within a read's time.
  return now - (mono + monoMs()) / 2;
}
