#!/usr/bin/env node
// The connection-pool-exhaustion load test, from the brief's command:
//   node tests/test-bad-scenario-connection-pool-exhaustion.js [--help] [options]
// A thin entry: it runs `node scripts/run.mjs loadtest pool-exhaustion <args>` (which installs what is
// missing, brings the stack up and runs the Node twin loadtests/pool-exhaustion.ts) and exits with its code.
// Plain JavaScript, no dependencies.
import { spawn } from 'node:child_process';
import { constants } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');

// Its own process group, so a Ctrl-C or SIGTERM sent to this process reaches the whole chain
// (run.mjs → pnpm → tsx → the twin), whose handler removes the Kafka latency toxic before exiting.
const child = spawn(process.execPath, [path.join(ROOT, 'scripts', 'run.mjs'), 'loadtest', 'pool-exhaustion', ...process.argv.slice(2)], {
  cwd: ROOT,
  stdio: 'inherit',
  detached: true,
});

for (const signal of ['SIGINT', 'SIGTERM']) {
  process.on(signal, () => {
    try {
      process.kill(-child.pid, signal);
    } catch {
      // the group is gone already
    }
  });
}

child.on('error', (err) => {
  console.error(`could not run scripts/run.mjs: ${err.message}`);
  process.exit(1);
});
/** True while a process of the child's group is alive (the load test may outlive run.mjs after a signal). */
function groupAlive() {
  try {
    process.kill(-child.pid, 0);
    return true;
  } catch {
    return false;
  }
}

child.on('exit', async (code, signal) => {
  // After a signal, the load test may still be removing its toxic: wait for it (up to 60 s) before returning.
  for (let i = 0; i < 600 && groupAlive(); i++) await new Promise((r) => setTimeout(r, 100));
  process.exit(code ?? (signal ? 128 + (constants.signals[signal] ?? 0) : 1));
});
