/** `list`: the proxies (enabled or not), their toxics with attributes, and the chaos processes' records. */
import type { LabConfig } from '@dual-write/config';
import type { ToxicHelper, ToxicInfo } from '@dual-write/faults';
import { existingProxies, readRecords } from './ledger.ts';

export function describeToxic(t: Pick<ToxicInfo, 'type' | 'stream' | 'attributes' | 'toxicity'>): string {
  const attrs = Object.entries(t.attributes ?? {}).map(([k, v]) => `${k}=${v}`).join(' ');
  const toxicity = t.toxicity !== undefined && t.toxicity < 1 ? ` toxicity=${t.toxicity}` : '';
  return `${t.type} ${attrs}${toxicity} (${t.stream})`.replace(/ +/g, ' ');
}

export async function listState(config: LabConfig, faults: ToxicHelper): Promise<string> {
  const lines: string[] = [];
  for (const name of await existingProxies(faults)) {
    const proxy = await faults.proxy(name);
    lines.push(`${name} proxy: ${proxy.enabled ? 'enabled' : 'DISABLED'} (${proxy.listen} → ${proxy.upstream})`);
    const toxics = await faults.describe(name);
    if (!toxics.length) lines.push('  no toxics');
    for (const t of toxics) lines.push(`  ${t.name}: ${describeToxic(t)}`);
  }
  const records = readRecords(config);
  lines.push(records.length ? 'chaos processes:' : 'chaos processes: none');
  for (const { record: r, alive } of records) {
    const what = [
      ...r.toxics.map((t) => `${t.name} on ${t.proxy}`),
      ...r.disabled.map((p) => `${p} disabled`),
      ...(r.stopped ?? []).map((s) => `${s} stopped`),
      ...(r.relays ?? []).map(() => 'a relay killed'),
    ].join(', ') || 'nothing in place';
    lines.push(`  pid ${r.pid} ${r.script} since ${r.startedAt} — ${alive ? 'running' : 'DEAD (npm run chaos -- clear removes its leftovers)'}: ${what}`);
  }
  return lines.join('\n');
}
