/**
 * The k6 scripts' `-e` inputs: every combination either gives a configuration `k6 run` starts with, or stops
 * in the script's init code with a message that names the variable and what it must be — never k6's own
 * "invalid config" refusal (exit 104) on a value the script built from the user's input.
 */
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
      // The defaults and most combinations run.
      expect(started).toBeGreaterThan(grid(axes).length / 2);
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
