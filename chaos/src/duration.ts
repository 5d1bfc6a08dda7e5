/** `--for 30s`: a duration with a unit (ms, s or m), as milliseconds. */
import { DwError } from '@dual-write/config';

const UNITS = { ms: 1, s: 1000, m: 60_000 } as const;

export function parseDuration(flag: string, value: string, opts: { allowZero?: boolean } = {}): number {
  const m = /^(\d+(?:\.\d+)?)(ms|s|m)$/.exec(value.trim());
  if (!m) {
    const hint = /^\d+(\.\d+)?$/.test(value.trim()) ? ` (add a unit: ${value}s, ${value}ms or ${value}m)` : '';
    throw new DwError('DW_CONFIG_INVALID', `${flag} ${JSON.stringify(value)} is not a duration${hint}.`, 'Write it as a number with ms, s or m, e.g. --for 500ms, --for 30s, --for 2m.');
  }
  const ms = Math.round(Number(m[1]) * UNITS[m[2] as keyof typeof UNITS]);
  if (ms <= 0 && !(opts.allowZero && ms === 0)) throw new DwError('DW_CONFIG_INVALID', `${flag} ${value} is not longer than zero.`, 'Leave --for out to run until Ctrl-C.');
  return ms;
}

export function formatDuration(ms: number): string {
  if (ms === 0) return '0 s';
  if (ms % 60_000 === 0) return `${ms / 60_000} m`;
  if (ms % 1000 === 0) return `${ms / 1000} s`;
  return `${ms} ms`;
}
