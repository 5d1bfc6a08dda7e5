/**
 * The browser the dashboard's tests drive: Debian's `chromium` package, installed with
 * `apt-get update && apt-get install -y chromium` when it is missing and we are root (as packages/stack installs
 * PgBouncer, with its helpers: progress lines, the install log under .stack/logs, a coded error with the hint).
 * puppeteer-core never downloads a browser; it is given this one's path.
 */
import { existsSync } from 'node:fs';
import path from 'node:path';
import { layout, run, runToLog, tailFile } from '@dual-write/stack';
import { resolveConfig } from '@dual-write/config';
import { DashboardError } from '../src/index.ts';

const NAMES = ['chromium', 'chromium-browser', 'google-chrome-stable', 'google-chrome'];
const DIRS = ['/usr/bin', '/usr/local/bin', '/snap/bin'];
const HINT = 'Install it (Debian/Ubuntu: `sudo apt-get update && sudo apt-get install -y chromium`), or set CHROMIUM_PATH to a Chromium/Chrome binary.';

export function findChromium(env: NodeJS.ProcessEnv = process.env): string | undefined {
  if (env.CHROMIUM_PATH) return existsSync(env.CHROMIUM_PATH) ? env.CHROMIUM_PATH : undefined;
  for (const dir of [...(env.PATH ?? '').split(path.delimiter).filter(Boolean), ...DIRS]) {
    for (const name of NAMES) {
      const file = path.join(dir, name);
      if (existsSync(file)) return file;
    }
  }
  return undefined;
}

export async function ensureChromium(progress: (line: string) => void = (l) => console.log(l)): Promise<string> {
  const found = findChromium();
  if (found) return found;
  const apt = run('apt-get', ['--version'], { timeoutMs: 30_000 });
  if (process.getuid?.() !== 0 || apt.error || apt.status !== 0) {
    throw new DashboardError('DW_DASHBOARD_CHROMIUM_MISSING', `Chromium was not found on PATH or in ${DIRS.join(', ')}${process.getuid?.() === 0 ? ', and there is no apt-get to install it' : ', and only root can install it with apt-get'}.`, HINT);
  }
  progress('chromium: apt-get install chromium (first run only, ~100 MB)…');
  const paths = layout(resolveConfig());
  const logFile = paths.logFile('chromium-install');
  const env = { ...process.env, DEBIAN_FRONTEND: 'noninteractive' };
  const lock = ['-o', 'DPkg::Lock::Timeout=300'];
  const step = async (args: string[]) => runToLog('apt-get', [...lock, ...args], logFile, { env }).catch(() => 1);
  const updated = await step(['update']);
  const installed = await step(['install', '-y', '--no-install-recommends', 'chromium']);
  const binary = findChromium();
  if (installed !== 0 || !binary) {
    throw new DashboardError('DW_DASHBOARD_CHROMIUM_MISSING', `apt-get ${updated !== 0 ? 'update / ' : ''}install chromium failed (exit ${installed}). Last lines of ${logFile}:\n${tailFile(logFile, 15)}`, `Check that the Debian package mirror is reachable (\`apt-get update\`). ${HINT}`);
  }
  progress(`chromium: installed ${binary}`);
  return binary;
}
