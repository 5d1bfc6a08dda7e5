/** Checks for the tools the managed services need, with the fix in the error. */
import { DwError } from '@dual-write/config';
import { run } from './process.ts';

export function javaMajorVersion(): number | undefined {
  const r = run('java', ['-version'], { timeoutMs: 30_000 });
  if (r.error) return undefined;
  const m = /version "(\d+)(?:\.(\d+))?/.exec(r.stderr + r.stdout);
  if (!m) return undefined;
  const major = Number(m[1]);
  return major === 1 ? Number(m[2]) : major;
}

export function requireJava17(): void {
  const v = javaMajorVersion();
  if (v === undefined) {
    throw new DwError('DW_JAVA_MISSING', 'Java was not found on PATH; the Kafka broker runs on the JVM.', 'Install Java 17 or newer (Debian: `apt-get install openjdk-17-jre-headless`), or point KAFKA_BROKERS at a running Kafka.');
  }
  if (v < 17) {
    throw new DwError('DW_JAVA_MISSING', `Java ${v} was found; Kafka 4 needs Java 17 or newer.`, 'Install Java 17+ and put it first on PATH (check with `java -version`), or point KAFKA_BROKERS at a running Kafka.');
  }
}

export function requireMaven(): void {
  const r = run('mvn', ['-v'], { timeoutMs: 60_000 });
  if (r.error || r.status !== 0) {
    throw new DwError('DW_MAVEN_MISSING', 'Maven (mvn) was not found; it fetches the Kafka jars from Maven Central.', 'Install Maven (Debian: `apt-get install maven`), or point KAFKA_BROKERS at a running Kafka.');
  }
}

export function requireGo(): void {
  const r = run('go', ['version'], { timeoutMs: 30_000 });
  if (r.error || r.status !== 0) {
    throw new DwError('DW_GO_MISSING', 'Go was not found; it builds the Toxiproxy server (`go install`).', 'Install Go 1.22+ (Debian: `apt-get install golang`), or start a Toxiproxy server yourself and set TOXIPROXY_URL.');
  }
}
