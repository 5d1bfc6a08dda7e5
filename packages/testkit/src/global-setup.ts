/**
 * Vitest global set-up: brings the stack up once per run, or reuses a healthy one.
 * It does not stop the stack afterwards, so the next run starts warm (`npm run stack -- down` stops it).
 */
import { stackUp, formatStatus } from '@dual-write/stack';

export default async function setup(): Promise<void> {
  const t0 = Date.now();
  const lines: string[] = [];
  const statuses = await stackUp({ progress: (l) => { lines.push(l); process.stderr.write(`[stack] ${l}\n`); } });
  if (Date.now() - t0 > 3000) process.stderr.write(`${formatStatus(statuses)}\n`);
}
