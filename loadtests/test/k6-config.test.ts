/**
 * The k6 scripts' `-e` inputs: every combination either gives a configuration `k6 run` starts with, or stops
 * in the script's init code with a message that names the variable and what it must be — never k6's own
 * "invalid config" refusal (exit 104) on a value the script built from the user's input.
 */
import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { K6StartError, loadK6Script } from './k6/load.ts';

const HERE = path.dirname(fileURLToPath(import.meta.url));
const script = (name: string) => path.resolve(HERE, '..', `${name}.js`);

/** Every combination of the given values (an empty string leaves the variable unset). */
function grid(axes: Record<string, string[]>): Record<string, string>[] {
  let out: Record<string, string>[] = [{}];
  for (const [name, values] of Object.entries(axes)) out = out.flatMap((env) => values.map((v) => (v === '' ? env : { ...env, [name]: v })));
  return out;
}

async function outcome(name: string, env: Record<string, string>): Promise<{ ok: true } | { ok: false; error: unknown }> {
  try {
    await loadK6Script(script(name), env);
    return { ok: true };
  } catch (error) {
    return { ok: false, error };
  }
}

const GRIDS: Record<string, Record<string, string[]>> = {
  'pool-exhaustion': { LATENCY_MS: ['', '0', '300', '5000'], DURATION_MS: ['', '1', '500', '999', '1000', '60000'], BURST: ['1', '20'], PROBES: ['1', '4'] },
  'orders-steady': { RATE: ['', '1', '9', '50', '2000'], DURATION_S: ['', '1', '30'] },
  'orders-burst': { BASE_RATE: ['', '1', '10', '60', '300', '5000'], PEAK_RATE: ['', '1', '20', '200'], BURSTS: ['1', '3'] },
};

describe('k6 scripts: -e inputs give a configuration k6 starts with, or the script names the bad variable', () => {
  for (const [name, axes] of Object.entries(GRIDS)) {
    it(name, async () => {
      let started = 0;
      for (const env of grid(axes)) {
        const r = await outcome(name, env);
        if (r.ok) {
          started++;
          continue;
        }
        const where = `${name} with ${JSON.stringify(env)}`;
        expect(r.error, `${where}: k6 would refuse it (exit 104) instead of the script explaining`).not.toBeInstanceOf(K6StartError);
        const message = (r.error as Error).message;
        const named = Object.keys(env).some((v) => message.startsWith(`${v}=${env[v]} is not valid`));
        expect(named, `${where}: "${message}" does not name the variable`).toBe(true);
      }
      // The defaults run, and so do some of the others.
      expect((await outcome(name, {})).ok).toBe(true);
      expect(started).toBeGreaterThan(1);
    });
  }

  it('pool-exhaustion.js: DURATION_MS under k6’s 1 s minimum is refused by the script, naming the variable and the minimum', async () => {
    const r = await outcome('pool-exhaustion', { DURATION_MS: '500' });
    expect(r.ok).toBe(false);
    expect(r.ok || (r.error as Error).message).toMatch(/^DURATION_MS=500 is not valid: .*1000/);
  });

  it('orders-burst.js: a base rate above the peak still gets maxVUs ≥ preAllocatedVUs', async () => {
    const s = await loadK6Script(script('orders-burst'), { BASE_RATE: '300', PEAK_RATE: '20' });
    const sc = (s.options.scenarios as Record<string, { preAllocatedVUs: number; maxVUs: number }>).orders!;
    expect(sc.maxVUs).toBeGreaterThanOrEqual(sc.preAllocatedVUs);
  });
});

const ROOT = path.resolve(HERE, '..', '..');
const READMES = ['README.md', 'loadtests/README.md'];

/** The variables a k6 script reads: env('X'), intEnv('X', …), __ENV.X, in the script and the ./lib files it imports. */
function variablesRead(file: string): Set<string> {
  const source = readFileSync(file, 'utf8');
  const names = new Set([...source.matchAll(/\b(?:env|intEnv)\('([A-Z][A-Z0-9_]*)'|__ENV\.([A-Z][A-Z0-9_]*)/g)].map((m) => (m[1] ?? m[2])!));
  for (const m of source.matchAll(/^import .* from '(\.\/[^']+)';$/gm)) for (const n of variablesRead(path.resolve(path.dirname(file), m[1]!))) names.add(n);
  return names;
}

/** The script's opening comment. */
function header(file: string): string {
  const source = readFileSync(file, 'utf8');
  return source.slice(0, source.indexOf('*/'));
}

interface K6Command {
  readme: string;
  line: string;
  env: Record<string, string>;
  script: string;
}

function k6Commands(): { commands: K6Command[]; unread: string[] } {
  const commands: K6Command[] = [];
  const unread: string[] = [];
  for (const readme of READMES) {
    for (const line of readFileSync(path.join(ROOT, readme), 'utf8').split('\n')) {
      // A command (not prose such as "what `k6 run` does"): `k6 run` followed by an argument.
      const all = line.match(/\bk6 run +[^\s`]/g)?.length ?? 0;
      const parsed = [...line.matchAll(/\bk6 run((?:\s+-e\s+[A-Za-z_][A-Za-z0-9_]*=[^\s`]+)*)\s+([^\s`]+\.js)\b/g)];
      if (parsed.length !== all) unread.push(`${readme}: ${line}`);
      for (const m of parsed) {
        const env = Object.fromEntries([...m[1]!.matchAll(/-e\s+([A-Za-z_][A-Za-z0-9_]*)=([^\s`]+)/g)].map((e) => [e[1]!, e[2]!]));
        commands.push({ readme, line: line.trim(), env, script: m[2]! });
      }
    }
  }
  return { commands, unread };
}

describe('the READMEs’ k6 command lines match the scripts', () => {
  const { commands, unread } = k6Commands();

  it('every `k6 run` in the READMEs is a command line this test reads', () => {
    expect(unread).toEqual([]);
    // Each script is shown, and the Docker lines too.
    expect(new Set(commands.map((c) => c.script))).toEqual(new Set(['loadtests/pool-exhaustion.js', 'loadtests/orders-steady.js', 'loadtests/orders-burst.js']));
    expect(commands.some((c) => c.line.startsWith('docker run'))).toBe(true);
  });

  it('each names an existing script, only variables that script reads, and values it starts with', async () => {
    for (const c of commands) {
      const file = path.join(ROOT, c.script);
      expect(existsSync(file), `${c.readme}: ${c.line}`).toBe(true);
      const read = variablesRead(file);
      for (const name of Object.keys(c.env)) expect(read.has(name), `${c.readme}: ${c.line} — ${c.script} does not read ${name}`).toBe(true);
      await expect(loadK6Script(file, c.env), `${c.readme}: ${c.line}`).resolves.toBeDefined();
    }
  });

  it('every variable a script reads is in its header, and pool-exhaustion.js’s are all in loadtests/README.md', () => {
    const readme = readFileSync(path.join(ROOT, 'loadtests/README.md'), 'utf8');
    for (const name of ['pool-exhaustion', 'orders-steady', 'orders-burst']) {
      const read = variablesRead(script(name));
      expect(read.size, name).toBeGreaterThan(3);
      for (const v of read) expect(header(script(name)), `${name}.js reads ${v}`).toContain(v);
      if (name === 'pool-exhaustion') for (const v of read) expect(readme, `loadtests/README.md does not mention ${v}`).toContain(`\`${v}\``);
    }
  });
});
