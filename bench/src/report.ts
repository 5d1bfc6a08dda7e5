/**
 * The run's outputs: results.json (everything measured), the SVG charts and report.md (machine, versions,
 * commit, settings; the ratios of every section in one table; each section's table, charts and notes), and the
 * README's Performance block (between `<!-- bench:start -->` and `<!-- bench:end -->`) for --publish.
 */
import { copyFileSync, existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { renderSvg } from './charts.ts';
import type { GitInfo, Machine, Versions } from './meta.ts';
import type { Ratio, SectionResult } from './types.ts';

export type SectionOutcome =
  | ({ status: 'ok'; seconds: number } & Omit<SectionResult, 'charts'> & { charts: { file: string }[] })
  | { status: 'failed'; id: string; title: string; seconds: number; error: string }
  | { status: 'unavailable'; id: string; title: string; reason: string };

export interface BenchRun {
  startedAt: string;
  finishedAt: string;
  durationSeconds: number;
  /** The exact command that reproduces this run. */
  command: string;
  mode: 'quick' | 'full';
  sectionsRequested: string[];
  machine: Machine;
  versions: Versions;
  git: GitInfo;
  settings: Record<string, unknown>;
  sections: SectionOutcome[];
  /** Sum of every section's `lost` (0 = the auditors found nothing lost). */
  lost: number;
}

const esc = (s: string | number) => String(s).replace(/\|/g, '\\|').replace(/\n/g, ' ');

export function mdTable(headers: string[], rows: (string | number)[][]): string {
  const numeric = headers.map((_, i) => rows.length > 0 && rows.every((r) => /^[-–\d.,\s/()%×]+$/.test(String(r[i] ?? ''))));
  return [
    `| ${headers.map(esc).join(' | ')} |`,
    `|${headers.map((_, i) => (numeric[i] ? '---:' : '---')).join('|')}|`,
    ...rows.map((r) => `| ${r.map(esc).join(' | ')} |`),
  ].join('\n');
}

/** Renders a section's charts into `dir`; a chart that fails to render is a note, not a failed run. */
export async function writeCharts(result: SectionResult, dir: string): Promise<{ file: string }[]> {
  const written: { file: string }[] = [];
  for (const c of result.charts) {
    try {
      writeFileSync(path.join(dir, c.file), await renderSvg(c.spec));
      written.push({ file: c.file });
    } catch (err) {
      result.notes.push(`Chart ${c.file} could not be rendered: ${(err as Error).message}`);
    }
  }
  return written;
}

export function allRatios(run: BenchRun): (Ratio & { section: string })[] {
  return run.sections.flatMap((s) => (s.status === 'ok' ? s.ratios.map((r) => ({ ...r, section: s.id })) : []));
}

function ratiosTable(run: BenchRun): string {
  const ratios = allRatios(run);
  if (ratios.length === 0) return '_No ratio measured._';
  return mdTable(['section', 'what', 'measured', 'reference (same run)', 'ratio'], ratios.map((r) => [r.section, r.name, r.measured, r.reference, Number.isFinite(r.value) ? r.value.toFixed(2) : '–']));
}

function machineTable(run: BenchRun): string {
  const m = run.machine;
  const v = run.versions;
  return mdTable(['', ''], [
    ['machine', `${m.cpus} cores (${m.cpuModel}), ${m.memoryGiB} GiB memory, ${m.platform}, Linux ${m.kernel}`],
    ['load average (1/5/15 min)', `start ${m.loadAverageAtStart.join(' / ')}${m.loadAverageAtEnd ? ` · end ${m.loadAverageAtEnd.join(' / ')}` : ''}`],
    ['Node.js', v.node],
    ['PostgreSQL', v.postgresql],
    ['Kafka', v.kafka],
    ['clients', `kafkajs ${v.kafkajs}, pg ${v.pg}`],
    ['charts', `vega ${v.vega}, vega-lite ${v.vegaLite}`],
    ['git commit', `${run.git.commit} (${run.git.branch})${run.git.uncommittedFiles > 0 ? ` + ${run.git.uncommittedFiles} uncommitted files` : ''}`],
    ['mode', `${run.mode}${run.mode === 'quick' ? ' (small sizes: proves the harness works; the figures are indicative only)' : ''}`],
    ['settings', Object.entries(run.settings).map(([k, val]) => `${k}: ${typeof val === 'object' ? JSON.stringify(val) : String(val)}`).join('; ')],
    ['started / duration', `${run.startedAt} / ${Math.round(run.durationSeconds)} s`],
  ]);
}

export function renderReport(run: BenchRun, chartPrefix = ''): string {
  const out: string[] = [];
  out.push(`# Benchmark report — ${run.startedAt.slice(0, 16).replace('T', ' ')} UTC (${run.mode})`, '');
  out.push(`Reproduce: \`${run.command}\``, '');
  out.push('Every process (Kafka, PostgreSQL, the relay, the load generator) shares the same cores, so an absolute figure drifts from run to run; each figure is therefore shown next to its reference **measured in the same run**, as a ratio.', '');
  out.push('## Machine, versions, settings', '', machineTable(run), '');
  out.push('## Ratios (measured ÷ reference, both from this run)', '', ratiosTable(run), '');
  out.push(`Nothing lost: ${run.lost === 0 ? 'yes — every section\'s audit found 0 lost' : `**no — ${run.lost} lost** (see the sections)`}.`, '');
  let n = 0;
  for (const s of run.sections) {
    n++;
    out.push(`## ${n}. ${s.title}`, '');
    if (s.status === 'unavailable') {
      out.push(`_Not run: ${s.reason}_`, '');
      continue;
    }
    if (s.status === 'failed') {
      out.push(`**Failed after ${s.seconds.toFixed(0)} s:** ${s.error}`, '');
      continue;
    }
    out.push(mdTable(s.table.headers, s.table.rows), '');
    for (const c of s.charts) out.push(`![${c.file}](${chartPrefix}${c.file})`, '');
    if (s.notes.length) out.push(...s.notes.map((note) => `- ${note}`), '');
    out.push(`_Section time: ${s.seconds.toFixed(0)} s · lost: ${s.lost}_`, '');
  }
  return `${out.join('\n').trimEnd()}\n`;
}

/** Writes results.json and report.md into `dir` (the charts are already there). */
export function writeOutputs(run: BenchRun, dir: string): { json: string; report: string } {
  const json = path.join(dir, 'results.json');
  const report = path.join(dir, 'report.md');
  writeFileSync(json, `${JSON.stringify(run, (_, v) => (typeof v === 'number' && !Number.isFinite(v) ? null : v), 2)}\n`);
  writeFileSync(report, renderReport(run));
  return { json, report };
}

export const README_START = '<!-- bench:start -->';
export const README_END = '<!-- bench:end -->';

/** The README's Performance block: the ratios, the charts (docs/performance/) and the command. */
export function readmeBlock(run: BenchRun): string {
  const charts = run.sections.flatMap((s) => (s.status === 'ok' ? s.charts.map((c) => c.file) : []));
  return [
    README_START,
    `Latest published run: ${run.startedAt.slice(0, 10)}, ${run.mode} mode, commit \`${run.git.commit.slice(0, 12)}\`${run.git.uncommittedFiles > 0 ? ' (+ uncommitted changes)' : ''}, ${run.machine.cpus} cores / ${run.machine.memoryGiB} GiB, Node ${run.versions.node}, PostgreSQL ${run.versions.postgresql}, Kafka ${run.versions.kafka} — full report: [docs/performance/report.md](docs/performance/report.md).`,
    '',
    `Reproduce: \`${run.command}\``,
    '',
    ratiosTable(run),
    '',
    ...charts.map((f) => `![${f}](docs/performance/${f})`),
    README_END,
  ].join('\n');
}

/** --publish: report.md and the charts to docs/performance/, and the README block replaced. */
export function publish(run: BenchRun, runDir: string, repoRoot: string): string[] {
  const docs = path.join(repoRoot, 'docs', 'performance');
  mkdirSync(docs, { recursive: true });
  const done: string[] = [];
  const files = ['report.md', ...run.sections.flatMap((s) => (s.status === 'ok' ? s.charts.map((c) => c.file) : []))];
  for (const f of files) {
    if (!existsSync(path.join(runDir, f))) continue;
    copyFileSync(path.join(runDir, f), path.join(docs, f));
    done.push(path.join('docs', 'performance', f));
  }
  writeFileSync(path.join(docs, 'results.json'), readFileSync(path.join(runDir, 'results.json')));
  done.push(path.join('docs', 'performance', 'results.json'));
  const readmePath = path.join(repoRoot, 'README.md');
  const readme = readFileSync(readmePath, 'utf8');
  const a = readme.indexOf(README_START);
  const b = readme.indexOf(README_END);
  if (a >= 0 && b > a) {
    writeFileSync(readmePath, readme.slice(0, a) + readmeBlock(run) + readme.slice(b + README_END.length));
    done.push('README.md (Performance block)');
  }
  return done;
}
