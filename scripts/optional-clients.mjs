#!/usr/bin/env node
// `npm run optional-clients -- <command>`: the Kafka clients the relay can publish with besides kafkajs, installed
// OUTSIDE the workspace (never in the lockfile, never needed by npm start / npm test / CI).
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const DIR = path.join(ROOT, '.stack', 'optional-clients');

const CLIENTS = {
  confluent: {
    package: '@confluentinc/kafka-javascript',
    version: '1.10.1',
    publisher: 'confluentPublisher',
    pair: 'postgres+confluent',
  },
};

const HELP = `Usage: npm run optional-clients -- <command> [client]

Optional Kafka clients for the relay's publisher seam (packages/relay/README.md, "Kafka clients"). kafkajs is the
default and always installed; @platformatic/kafka is a devDependency of @dual-write/relay (installed with the
workspace). The clients below are NOT workspace dependencies: they install into .stack/optional-clients/
(git-ignored), where the relay's publisher, the conformance suite (RELAY_PAIR) and \`npm run bench\` find them.

Commands:
  install confluent   @confluentinc/kafka-javascript ${CLIENTS.confluent.version} (librdkafka 2.15.1, a native addon): built
                      from source with CKJS_LINKING=dynamic — the librdkafka bundled in the package, linked against
                      the system's OpenSSL, zlib, zstd, libcurl and SASL (≈1-2 min, ≈300 MB). Needs python3, make,
                      g++ and, on Debian/Ubuntu:
                        apt-get install -y libssl-dev zlib1g-dev libzstd-dev libcurl4-openssl-dev libsasl2-dev
                      (the default static build downloads those libraries from the internet instead; Debian's own
                      librdkafka-dev, 2.0.2, is older than the 2.15.1 the package needs)
  remove confluent    delete it again
  status              what is installed (default)
  --help              this text

Then: RELAY_PAIR=postgres+confluent npx vitest run packages/relay/test/conformance   (the conformance suite)
      npm run bench -- --only drain                                                 (relay ÷ raw, per client)`;

function say(line) {
  process.stderr.write(`[optional-clients] ${line}\n`);
}

function installedVersion(name) {
  const pkg = path.join(DIR, 'node_modules', CLIENTS[name].package, 'package.json');
  if (!existsSync(pkg)) return undefined;
  const addon = path.join(DIR, 'node_modules', CLIENTS[name].package, 'build', 'Release', 'confluent-kafka-javascript.node');
  const version = JSON.parse(readFileSync(pkg, 'utf8')).version;
  return existsSync(addon) ? version : `${version} (NOT built: run install again)`;
}

function status() {
  for (const name of Object.keys(CLIENTS)) {
    const v = installedVersion(name);
    console.log(`${name.padEnd(10)} ${CLIENTS[name].package}: ${v ? `${v} in ${path.relative(ROOT, DIR)}` : 'not installed'}`);
  }
  console.log(`${'platformatic'.padEnd(10)} @platformatic/kafka: a devDependency of @dual-write/relay (installed with the workspace)`);
}

/** Headers the dynamic build links against: missing ones are named with the apt package that has them. */
function missingBuildDeps() {
  const missing = [];
  for (const tool of ['python3', 'make', 'g++']) {
    if (spawnSync(tool, ['--version'], { stdio: 'ignore' }).error) missing.push(tool);
  }
  const headers = {
    'openssl/ssl.h': 'libssl-dev', 'zlib.h': 'zlib1g-dev', 'zstd.h': 'libzstd-dev', 'curl/curl.h': 'libcurl4-openssl-dev', 'sasl/sasl.h': 'libsasl2-dev',
  };
  const dirs = ['/usr/include', '/usr/local/include', '/usr/include/x86_64-linux-gnu', '/usr/include/aarch64-linux-gnu', '/opt/homebrew/include'];
  for (const [h, pkg] of Object.entries(headers)) {
    if (!dirs.some((d) => existsSync(path.join(d, h)))) missing.push(`${h} (${pkg})`);
  }
  return missing;
}

function install(name) {
  const c = CLIENTS[name];
  if (!c) {
    say(name === 'platformatic' ? '@platformatic/kafka is a devDependency of @dual-write/relay: it is installed with the workspace.' : `unknown client ${JSON.stringify(name)}; known: ${Object.keys(CLIENTS).join(', ')}`);
    process.exit(name === 'platformatic' ? 0 : 2);
  }
  const missing = missingBuildDeps();
  if (missing.length) {
    say(`cannot build ${c.package}: missing ${missing.join(', ')}.`);
    say('On Debian/Ubuntu: apt-get update && apt-get install -y python3 make g++ libssl-dev zlib1g-dev libzstd-dev libcurl4-openssl-dev libsasl2-dev');
    process.exit(1);
  }
  mkdirSync(DIR, { recursive: true });
  const manifest = path.join(DIR, 'package.json');
  if (!existsSync(manifest)) {
    writeFileSync(manifest, `${JSON.stringify({ name: 'dual-write-optional-clients', private: true, description: 'Optional Kafka clients of the relay (scripts/optional-clients.mjs); git-ignored, not part of the workspace.' }, null, 2)}\n`);
  }
  say(`installing ${c.package}@${c.version} into ${path.relative(ROOT, DIR)} — built from source (CKJS_LINKING=dynamic), ≈1-2 min…`);
  const t0 = Date.now();
  const r = spawnSync('npm', ['install', '--no-audit', '--no-fund', '--foreground-scripts', '--loglevel=error', `${c.package}@${c.version}`], {
    cwd: DIR,
    stdio: 'inherit',
    env: { ...process.env, CKJS_LINKING: 'dynamic' },
  });
  if (r.error || r.status !== 0) {
    say(`npm install failed (${r.error?.message ?? `exit ${r.status}`}). Build prerequisites: python3, make, g++, and the -dev packages listed in --help.`);
    process.exit(r.status || 1);
  }
  const check = spawnSync(process.execPath, ['-e', `const k = require(${JSON.stringify(c.package)}); console.log('librdkafka ' + k.librdkafkaVersion)`], { cwd: DIR, encoding: 'utf8' });
  if (check.status !== 0) {
    say(`installed, but it does not load:\n${check.stderr}`);
    process.exit(1);
  }
  say(`${c.package}@${c.version} installed in ${Math.round((Date.now() - t0) / 1000)} s (${check.stdout.trim()}).`);
  say(`Use it: the publisher ${c.publisher} (RELAY_PUBLISHER=confluent), the conformance pair RELAY_PAIR=${c.pair}, npm run bench -- --only drain.`);
}

function remove(name) {
  const c = CLIENTS[name];
  if (!c) {
    say(`unknown client ${JSON.stringify(name)}; known: ${Object.keys(CLIENTS).join(', ')}`);
    process.exit(2);
  }
  rmSync(path.join(DIR, 'node_modules', c.package), { recursive: true, force: true });
  say(`${c.package} removed from ${path.relative(ROOT, DIR)}.`);
}

const [command = 'status', name] = process.argv.slice(2);
if (command === '--help' || command === '-h' || command === 'help') {
  console.log(HELP);
} else if (command === 'status' || command === 'list') {
  status();
} else if (command === 'install' && name) {
  install(name);
} else if (command === 'remove' && name) {
  remove(name);
} else {
  console.error(HELP);
  process.exit(2);
}
