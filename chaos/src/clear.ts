/**
 * `clear`: removes every toxic on every proxy (postgres, kafka, kafka-1..3) and re-enables them, whoever put them there, and deletes the
 * records of dead chaos processes. Reports each thing it removed.
 */
import { rmSync } from 'node:fs';
import type { LabConfig } from '@dual-write/config';
import type { ToxicHelper } from '@dual-write/faults';
import { existingProxies, ownerPid, readRecords, restartWhatItStopped } from './ledger.ts';
import type { Say } from './log.ts';
import { describeToxic } from './list.ts';

export interface ClearReport {
  toxics: { proxy: string; name: string }[];
  reenabled: string[];
  records: string[];
  /** Stack services and relays started again. */
  restarted: number;
}

export async function clearAll(config: LabConfig, faults: ToxicHelper, say: Say): Promise<ClearReport> {
  const report: ClearReport = { toxics: [], reenabled: [], records: [], restarted: 0 };
  const records = readRecords(config);
  const ownerOf = (pid: number | undefined) => {
    const r = records.find((x) => x.record.pid === pid);
    if (!r) return pid === undefined ? '' : `, from a chaos process (pid ${pid}) that left no record`;
    return `, from chaos ${r.record.script} (pid ${r.record.pid}, ${r.alive ? 'still running' : 'no longer running'})`;
  };
  const proxies = await existingProxies(faults);
  for (const proxy of proxies) {
    for (const toxic of await faults.describe(proxy)) {
      if (await faults.removeByName(proxy, toxic.name)) {
        report.toxics.push({ proxy, name: toxic.name });
        say(`removed: ${describeToxic(toxic)} on the ${proxy} proxy — ${toxic.name}${ownerOf(ownerPid(toxic.name))}`);
      }
    }
  }
  for (const proxy of proxies) {
    if ((await faults.proxy(proxy)).enabled) continue;
    await faults.setEnabled(proxy, true);
    report.reenabled.push(proxy);
    const by = records.find((r) => r.record.disabled.includes(proxy));
    say(`re-enabled the ${proxy} proxy${by ? `, disabled by chaos ${by.record.script} (pid ${by.record.pid})` : ''}`);
  }
  for (const r of records) {
    if (r.alive) {
      say(`warning: chaos ${r.record.script} (pid ${r.record.pid}) is still running; it will find its faults gone. Stop it with Ctrl-C or kill ${r.record.pid}`);
      continue;
    }
    report.restarted += await restartWhatItStopped(config, r.record, `stopped by chaos ${r.record.script} (pid ${r.record.pid}, no longer running)`, say);
    rmSync(r.file, { force: true });
    report.records.push(r.file);
    say(`deleted the record of chaos ${r.record.script} (pid ${r.record.pid}, no longer running)`);
  }
  if (!report.toxics.length && !report.reenabled.length && !report.restarted) say('nothing to clear: no toxics, every proxy enabled');
  return report;
}
