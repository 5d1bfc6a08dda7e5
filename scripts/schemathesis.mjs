#!/usr/bin/env node
// `npm run schemathesis -- <command>`: Schemathesis (the OpenAPI property-based tester) checks that the order service
// answers as its /openapi.json says. It is a Python tool: installed on first use into a virtual environment under the
// git-ignored .stack/ folder (python3 -m venv + pip), re-used afterwards. services/order-service/test/contract.test.ts
// runs it in `npm test`; `run` runs the very same command by hand against a service you started.
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
export const SCHEMATHESIS_VERSION = '4.32.5';
const VENV = path.join(ROOT, '.stack', 'venv', 'schemathesis');
const BIN = path.join(VENV, 'bin', 'schemathesis');
const MARKER = path.join(VENV, '.dual-write-installed');
/** Where `run` works (Schemathesis and Hypothesis write their files into the working directory): git-ignored. */
const WORK_DIR = path.join(ROOT, '.stack', 'schemathesis');
const MIN_PYTHON = [3, 11]; // schemathesis 4.32 requires Python >= 3.11

/**
 * The options of every run: all checks, every phase, a fixed seed and no example database (so a run is reproducible),
 * a bounded number of cases per operation (≈15 s on 2 cores). Options given after the URL are appended, and for a
 * single-valued option the last one wins (e.g. `--max-examples 200`).
 */
export const DEFAULT_RUN_ARGS = [
  '--checks', 'all',
  '--phases', 'examples,coverage,fuzzing,stateful',
  '--seed', '20261130',
  '--max-examples', '100',
  '--generation-database', 'none',
  '--request-timeout', '30',
  '--no-color',
];

const HELP = `Usage: npm run schemathesis -- <command>

Schemathesis ${SCHEMATHESIS_VERSION} checks the order service against its OpenAPI document: every status, header and
body it answers must be documented, invalid requests must be refused with a 4xx, valid ones accepted, no 5xx.
It installs into ${path.relative(ROOT, VENV)} (git-ignored; python3 -m venv + pip, from your PyPI mirror) on first use.

Commands:
  run <openapi-url> [options]   run it, e.g. against \`npm run order-service\`:
                                  npm run schemathesis -- run http://127.0.0.1:3000/openapi.json
                                with the options ${DEFAULT_RUN_ARGS.join(' ')}
                                (more options are passed on: \`schemathesis run --help\`, e.g. --max-examples 200)
  install                       install it (idempotent; npm test does it on first use)
  status                        what is installed (default)
  remove                        delete the virtual environment
  --help                        this text

Needs python3 ${MIN_PYTHON.join('.')}+ with its venv module (Debian/Ubuntu: apt-get install -y python3-venv).
The order service's test services/order-service/test/contract.test.ts runs the same command in \`npm test\`.`;

function say(line) {
  process.stderr.write(`[schemathesis] ${line}\n`);
}

/** A coded error, printed as the project prints its errors (docs/errors.md): `[CODE] message\n  → hint`. */
class SetupError extends Error {
  constructor(code, message, hint) {
    super(message);
    this.code = code;
    this.hint = hint;
  }

  format() {
    return `[${this.code}] ${this.message}\n  → ${this.hint}`;
  }
}

function tail(text, lines = 12) {
  return String(text ?? '').trim().split('\n').slice(-lines).join('\n');
}

/** The installed version, or undefined (also when the marker says another version or the binary is gone). */
export function installedVersion() {
  if (!existsSync(MARKER) || !existsSync(BIN)) return undefined;
  const version = readFileSync(MARKER, 'utf8').trim();
  return version || undefined;
}

function requirePython() {
  const r = spawnSync('python3', ['-c', 'import sys; print("%d.%d.%d" % sys.version_info[:3])'], { encoding: 'utf8' });
  if (r.error || r.status !== 0) {
    throw new SetupError('DW_PYTHON_MISSING', 'python3 was not found on PATH; Schemathesis is a Python tool.', `Install Python ${MIN_PYTHON.join('.')}+ with its venv module (Debian/Ubuntu: \`apt-get update && apt-get install -y python3 python3-venv\`).`);
  }
  const version = r.stdout.trim();
  const [major, minor] = version.split('.').map(Number);
  if (major < MIN_PYTHON[0] || (major === MIN_PYTHON[0] && minor < MIN_PYTHON[1])) {
    throw new SetupError('DW_PYTHON_MISSING', `python3 is ${version}; Schemathesis ${SCHEMATHESIS_VERSION} needs Python ${MIN_PYTHON.join('.')} or newer.`, `Install Python ${MIN_PYTHON.join('.')}+ and put it first on PATH (check with \`python3 --version\`).`);
  }
  return version;
}

/** Installs Schemathesis into the virtual environment unless the right version is there; returns the binary's path. */
export function ensureSchemathesis() {
  if (installedVersion() === SCHEMATHESIS_VERSION) return BIN;
  const python = requirePython();
  const t0 = Date.now();
  if (!existsSync(path.join(VENV, 'bin', 'python'))) {
    say(`creating a virtual environment in ${path.relative(ROOT, VENV)} (python ${python})…`);
    mkdirSync(path.dirname(VENV), { recursive: true });
    const venv = spawnSync('python3', ['-m', 'venv', VENV], { encoding: 'utf8' });
    if (venv.error || venv.status !== 0) {
      rmSync(VENV, { recursive: true, force: true });
      const output = tail(`${venv.stdout}\n${venv.stderr}`);
      const noEnsurepip = /ensurepip|python3-venv|No module named venv/i.test(output);
      throw new SetupError('DW_PYTHON_MISSING', `python3 -m venv failed${noEnsurepip ? ' (the venv/ensurepip module is not installed)' : ''}:\n${output}`, 'Install the venv module: on Debian/Ubuntu `apt-get update && apt-get install -y python3-venv` (as root), then run this again.');
    }
  }
  say(`installing schemathesis==${SCHEMATHESIS_VERSION} with pip (first run, ≈15 s)…`);
  const pip = spawnSync(path.join(VENV, 'bin', 'python'), ['-m', 'pip', 'install', '--quiet', '--disable-pip-version-check', `schemathesis==${SCHEMATHESIS_VERSION}`], { encoding: 'utf8' });
  if (pip.error || pip.status !== 0) {
    throw new SetupError('DW_DOWNLOAD_FAILED', `pip could not install schemathesis==${SCHEMATHESIS_VERSION}:\n${tail(`${pip.stdout}\n${pip.stderr}`)}`, 'Check access to your PyPI index (pip config list; PIP_INDEX_URL), then run `npm run schemathesis -- install` again.');
  }
  const check = spawnSync(BIN, ['--version'], { encoding: 'utf8' });
  if (check.error || check.status !== 0 || !check.stdout.includes(SCHEMATHESIS_VERSION)) {
    throw new SetupError('DW_PROCESS_FAILED', `schemathesis was installed but \`schemathesis --version\` does not answer ${SCHEMATHESIS_VERSION}: ${tail(check.stdout || check.stderr || check.error?.message)}`, `Remove it (\`npm run schemathesis -- remove\`) and install again.`);
  }
  writeFileSync(MARKER, `${SCHEMATHESIS_VERSION}\n`);
  say(`schemathesis ${SCHEMATHESIS_VERSION} installed in ${Math.round((Date.now() - t0) / 1000)} s (${path.relative(ROOT, BIN)}).`);
  return BIN;
}

/** `schemathesis run <url> <defaults> <extra>`, in the git-ignored work directory; returns its exit code. */
function run(url, extra) {
  const bin = ensureSchemathesis();
  mkdirSync(WORK_DIR, { recursive: true });
  const args = ['run', url, ...DEFAULT_RUN_ARGS, ...extra];
  say(`${path.relative(ROOT, bin)} ${args.join(' ')}`);
  const r = spawnSync(bin, args, { cwd: WORK_DIR, stdio: 'inherit' });
  if (r.error) throw new SetupError('DW_PROCESS_FAILED', `could not run ${bin}: ${r.error.message}`, 'Reinstall it: `npm run schemathesis -- remove`, then `npm run schemathesis -- install`.');
  return r.status ?? 1;
}

function main(argv) {
  const [command = 'status', ...rest] = argv;
  if (command === '--help' || command === '-h' || command === 'help') {
    console.log(HELP);
    return 0;
  }
  if (command === 'status') {
    const v = installedVersion();
    console.log(`schemathesis: ${v ? `${v} in ${path.relative(ROOT, VENV)}` : `not installed (pinned: ${SCHEMATHESIS_VERSION}; \`npm run schemathesis -- install\`)`}`);
    return 0;
  }
  if (command === 'install') {
    const bin = ensureSchemathesis();
    say(`schemathesis ${SCHEMATHESIS_VERSION} ready: ${path.relative(ROOT, bin)}`);
    return 0;
  }
  if (command === 'remove') {
    rmSync(VENV, { recursive: true, force: true });
    say(`${path.relative(ROOT, VENV)} removed.`);
    return 0;
  }
  if (command === 'run' && rest[0] && !rest[0].startsWith('-')) return run(rest[0], rest.slice(1));
  console.error(HELP);
  return 2;
}

if (process.argv[1] && path.resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  try {
    process.exitCode = main(process.argv.slice(2));
  } catch (err) {
    if (!(err instanceof SetupError)) throw err;
    process.stderr.write(`${err.format()}\n`);
    process.exitCode = 1;
  }
}
