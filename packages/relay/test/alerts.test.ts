/**
 * docs/alerts.yml, the Prometheus alerting rules shipped for the relay: a rule file Prometheus would load
 * (groups → rules with alert, expr, for, labels.severity, annotations.summary/description), and every `outbox_*`
 * metric it names exists in a real relay's /metrics — a renamed metric would otherwise leave an alert that can
 * never fire (PromQL on a missing series is silently empty).
 */
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { afterEach, beforeAll, describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { useLab } from '@dual-write/testkit';
import { resolveRelayOptions } from '../src/index.ts';
import { cleanupRelays, migrateForTests, REPO_ROOT, relayOn } from './helpers.ts';

const lab = useLab({ initSql: migrateForTests });
afterEach(cleanupRelays);

const ALERTS_FILE = path.join(REPO_ROOT, 'docs/alerts.yml');
const SEVERITIES = ['info', 'warning', 'critical'];
const DURATION = /^(\d+(ms|s|m|h|d|w|y))+$/;

interface Rule {
  alert: string;
  expr: string;
  for: string;
  labels: { severity: string; [k: string]: string };
  annotations: { summary: string; description: string; [k: string]: string };
}

const isText = (v: unknown): v is string => typeof v === 'string' && v.trim() !== '';

/** What keeps a parsed rule file from being a valid alerting-rule file as this repository ships it; [] when none. */
function structureProblems(doc: unknown): string[] {
  const problems: string[] = [];
  const groups = (doc as { groups?: unknown } | null)?.groups;
  if (!Array.isArray(groups) || groups.length === 0) return ['no `groups` list'];
  const alerts = new Set<string>();
  groups.forEach((g: { name?: unknown; rules?: unknown }, gi) => {
    if (!isText(g?.name)) problems.push(`groups[${gi}]: no name`);
    if (!Array.isArray(g?.rules) || g.rules.length === 0) {
      problems.push(`groups[${gi}]: no rules`);
      return;
    }
    g.rules.forEach((r: Partial<Record<keyof Rule, unknown>>, ri) => {
      const at = `${isText(g.name) ? g.name : gi}/${isText(r?.alert) ? r.alert : ri}`;
      if (!isText(r?.alert)) problems.push(`${at}: no alert name`);
      else if (alerts.has(r.alert)) problems.push(`${at}: alert name used twice`);
      else alerts.add(r.alert);
      if (!isText(r?.expr)) problems.push(`${at}: no expr`);
      else if (!balanced(r.expr)) problems.push(`${at}: unbalanced brackets or quotes in expr`);
      if (!isText(r?.for) || !DURATION.test(r.for)) problems.push(`${at}: \`for\` is not a Prometheus duration (${JSON.stringify(r?.for)})`);
      const labels = r?.labels as Record<string, unknown> | undefined;
      if (!SEVERITIES.includes(labels?.severity as string)) problems.push(`${at}: labels.severity is not one of ${SEVERITIES.join(', ')} (${JSON.stringify(labels?.severity)})`);
      const annotations = r?.annotations as Record<string, unknown> | undefined;
      for (const a of ['summary', 'description']) if (!isText(annotations?.[a])) problems.push(`${at}: no annotations.${a}`);
    });
  });
  return problems;
}

/** Brackets and double quotes pair up (a cheap guard against a broken expression; Prometheus parses the rest). */
function balanced(expr: string): boolean {
  const stack: string[] = [];
  const pairs: Record<string, string> = { ')': '(', ']': '[', '}': '{' };
  let quoted = false;
  for (const ch of expr) {
    if (ch === '"') quoted = !quoted;
    else if (quoted) continue;
    else if ('([{'.includes(ch)) stack.push(ch);
    else if (ch in pairs && stack.pop() !== pairs[ch]) return false;
  }
  return !quoted && stack.length === 0;
}

/** `outbox_*` names in a text (an expr or an annotation). */
function outboxMetricNames(text: string): string[] {
  return [...new Set(text.match(/\boutbox_[a-zA-Z0-9_]+/g) ?? [])];
}

/** Every series name a /metrics text can hold: each `# TYPE` family, with _bucket/_sum/_count for histograms and summaries. */
function exposedNames(metricsText: string): Set<string> {
  const names = new Set<string>();
  for (const m of metricsText.matchAll(/^# TYPE (\S+) (\S+)$/gm)) {
    const [, name, type] = m as unknown as [string, string, string];
    names.add(name);
    if (type === 'histogram' || type === 'summary') for (const s of ['_bucket', '_sum', '_count']) names.add(name + s);
  }
  return names;
}

/** `outbox_*` metrics the rules name (in expr or annotations) that the relay does not expose. */
function unknownMetrics(rules: Rule[], exposed: Set<string>): { alert: string; field: string; metric: string }[] {
  return rules.flatMap((r) =>
    [['expr', r.expr], ...Object.entries(r.annotations ?? {}).map(([k, v]) => [`annotations.${k}`, v])].flatMap(([field, text]) =>
      outboxMetricNames(text!)
        .filter((metric) => !exposed.has(metric))
        .map((metric) => ({ alert: r.alert, field: field!, metric })),
    ),
  );
}

const doc = parse(readFileSync(ALERTS_FILE, 'utf8')) as { groups: { name: string; rules: Rule[] }[] };
const rules = () => doc.groups.flatMap((g) => g.rules);
const rule = (name: string) => rules().find((r) => r.alert === name);

describe('docs/alerts.yml', () => {
  it('is a Prometheus alerting-rule file: groups → rules with alert, expr, for, labels.severity, annotations.summary/description', () => {
    expect(structureProblems(doc)).toEqual([]);
    expect(rules().length).toBeGreaterThanOrEqual(6);
  });

  it('negative control: a rule without a severity, a bad `for`, an unbalanced expr and no description is reported', () => {
    const broken = { groups: [{ name: 'g', rules: [{ alert: 'Broken', expr: 'max(outbox_backlog_rows > 0', for: 'soon', labels: {}, annotations: { summary: 's' } }] }] };
    expect(structureProblems(broken)).toEqual([
      'g/Broken: unbalanced brackets or quotes in expr',
      'g/Broken: `for` is not a Prometheus duration ("soon")',
      'g/Broken: labels.severity is not one of info, warning, critical (undefined)',
      'g/Broken: no annotations.description',
    ]);
    expect(structureProblems({})).toEqual(['no `groups` list']);
  });

  it('alerts on the age of the oldest row (at the /health threshold), dead letters, no progress, instances, and a blocking transaction', () => {
    const { healthMaxAgeSeconds } = resolveRelayOptions({ database: 'postgres://u:p@db:5432/app', brokers: 'kafka:9092', port: false }, {});
    expect(rule('OutboxPublicationLagging')?.expr).toBe(`max(outbox_oldest_unpublished_age_seconds) > ${healthMaxAgeSeconds}`);
    expect(rule('OutboxDeadLetters')?.expr).toMatch(/outbox_dead_letters\) > 0$/);
    expect(rule('OutboxRelayNoProgress')?.expr).toMatch(/increase\(outbox_published_total\[5m\]\).*== 0 and max\(outbox_backlog_rows\) > 0$/);
    expect(rule('OutboxRelayDown')?.expr).toContain('absent(up{job="outbox-relay"}');
    expect(rule('OutboxRelayRedundancyLost')?.expr).toMatch(/count\(up\{job="outbox-relay"\}.*\) < 2$/);
    expect(rule('OutboxRowsHeldBackByOpenTransaction')?.expr).toMatch(/outbox_blocking_transaction_age_seconds\) > \d+$/);
  });

  describe('names only metrics a real relay exposes', () => {
    let exposed: Set<string>;
    beforeAll(async () => {
      const relay = await relayOn(lab, await lab.topic('alerts', 1));
      exposed = exposedNames(await (await fetch(`${relay.url}/metrics`)).text());
      await relay.stop();
    });

    it('every outbox_* metric in an expr or annotation is in the relay’s /metrics', () => {
      const named = new Set(rules().flatMap((r) => outboxMetricNames(r.expr)));
      expect([...named].sort()).toEqual([
        'outbox_backlog_rows',
        'outbox_blocking_transaction_age_seconds',
        'outbox_dead_letters',
        'outbox_oldest_unpublished_age_seconds',
        'outbox_published_total',
      ]);
      expect(unknownMetrics(rules(), exposed)).toEqual([]);
    });

    it('negative control: an expr naming a metric the relay does not expose is reported', () => {
      const typo: Rule = { alert: 'Typo', expr: 'max(outbox_oldest_unpublished_age_second) > 60 and max(outbox_backlog_rows) > 0', for: '1m', labels: { severity: 'warning' }, annotations: { summary: 's', description: 'see outbox_dead_letter' } };
      expect(unknownMetrics([typo], exposed)).toEqual([
        { alert: 'Typo', field: 'expr', metric: 'outbox_oldest_unpublished_age_second' },
        { alert: 'Typo', field: 'annotations.description', metric: 'outbox_dead_letter' },
      ]);
    });
  });
});
