/**
 * Summarises a V8 .cpuprofile (node --cpu-prof): self time per function and per module group (pg, kafkajs,
 * JSON, our code, Node core, GC …), optionally only for the samples inside a time window (the drain).
 */
import { readFileSync } from 'node:fs';

interface CallFrame {
  functionName: string;
  url: string;
  lineNumber: number;
}
interface ProfileNode {
  id: number;
  callFrame: CallFrame;
  hitCount?: number;
  children?: number[];
}
interface CpuProfile {
  nodes: ProfileNode[];
  startTime: number;
  endTime: number;
  samples: number[];
  timeDeltas: number[];
}

export interface ProfileSummary {
  /** Sampled time (ms) inside the window, idle included. */
  totalMs: number;
  idleMs: number;
  /** Whether the window filter applied (false: the whole profile was used). */
  windowed: boolean;
  /** Self time by the module of the sampled function. */
  groups: { group: string; ms: number; share: number }[];
  /**
   * The same time, but Node core / V8 builtin / GC-free frames charged to the nearest caller that belongs to a
   * package or to our code (a socket write called by kafkajs counts for kafkajs): who caused the work.
   */
  byCaller: { group: string; ms: number; share: number }[];
  functions: { fn: string; where: string; group: string; ms: number; share: number }[];
}

const REPO_MARKERS = ['/services/relay/', '/packages/'];

/** Which part of the stack a frame belongs to. */
export function groupOf(frame: CallFrame): string {
  const { url, functionName } = frame;
  if (functionName === '(garbage collector)') return 'GC';
  if (functionName === '(idle)') return 'idle';
  if (functionName === '(program)') return 'V8/native (program)';
  if (functionName === '(root)') return 'V8/native (program)';
  if (/\/node_modules\/(\.pnpm\/[^/]+\/node_modules\/)?(pg|pg-protocol|pg-pool|pg-types|pgpass|pg-connection-string)\//.test(url)) return 'pg (node-postgres)';
  if (/\/node_modules\/(\.pnpm\/[^/]+\/node_modules\/)?kafkajs\//.test(url)) return 'kafkajs';
  if (/\/node_modules\/(\.pnpm\/[^/]+\/node_modules\/)?(pino|thread-stream|sonic-boom|pino-std-serializers|@pinojs)/.test(url)) return 'pino (logging)';
  if (/\/node_modules\/(\.pnpm\/[^/]+\/node_modules\/)?(tsx|esbuild|get-tsconfig)\//.test(url)) return 'tsx (loader)';
  if (/\/node_modules\/(\.pnpm\/[^/]+\/node_modules\/)?prom-client\//.test(url)) return 'prom-client (metrics)';
  if (url === '' && /^(stringify|parse|JSONStringify|JSONParse)$/.test(functionName)) return 'JSON';
  if (REPO_MARKERS.some((m) => url.includes(m)) && !url.includes('/node_modules/')) return 'our code (relay, outbox)';
  if (url.startsWith('node:') || url.startsWith('internal/')) return 'Node core (net, streams, buffers…)';
  if (url === '') return 'V8 builtins';
  if (url.includes('/node_modules/')) return 'other npm packages';
  return 'other';
}

function shortUrl(url: string): string {
  const nm = url.lastIndexOf('/node_modules/');
  if (nm >= 0) return url.slice(nm + '/node_modules/'.length);
  for (const m of REPO_MARKERS) {
    const i = url.indexOf(m);
    if (i >= 0) return url.slice(i + 1);
  }
  return url.replace(/^file:\/\//, '');
}

/**
 * window: [from, to] in the profile's clock (µs, CLOCK_MONOTONIC like process.hrtime); samples outside are
 * ignored. If no sample falls inside (a clock mismatch), the whole profile is used and `windowed` is false.
 */
export function summariseProfile(file: string, window?: { fromUs: number; toUs: number }, top = 15): ProfileSummary {
  const profile = JSON.parse(readFileSync(file, 'utf8')) as CpuProfile;
  const byId = new Map(profile.nodes.map((n) => [n.id, n]));
  const parent = new Map<number, number>();
  for (const n of profile.nodes) for (const c of n.children ?? []) parent.set(c, n.id);
  const CALLEES = new Set(['Node core (net, streams, buffers…)', 'V8 builtins', 'JSON', 'other']);
  const callerGroup = (id: number): string => {
    const own = groupOf(byId.get(id)!.callFrame);
    if (!CALLEES.has(own)) return own;
    for (let p = parent.get(id); p !== undefined; p = parent.get(p)) {
      const g = groupOf(byId.get(p)!.callFrame);
      if (!CALLEES.has(g) && g !== 'V8/native (program)') return g;
    }
    return own;
  };
  const selfUs = new Map<number, number>();
  let t = profile.startTime;
  let inWindow = 0;
  for (let i = 0; i < profile.samples.length; i++) {
    t += profile.timeDeltas[i] ?? 0;
    const dt = profile.timeDeltas[i + 1] ?? 0;
    if (window && (t < window.fromUs || t > window.toUs)) continue;
    inWindow++;
    selfUs.set(profile.samples[i]!, (selfUs.get(profile.samples[i]!) ?? 0) + Math.max(0, dt));
  }
  // No sample inside the window (a clock mismatch): the whole profile, marked not windowed.
  if (window && inWindow === 0) return summariseProfile(file, undefined, top);
  const windowed = window !== undefined;
  const groups = new Map<string, number>();
  const callers = new Map<string, number>();
  const fns = new Map<string, { fn: string; where: string; group: string; us: number }>();
  let total = 0;
  let idle = 0;
  for (const [id, us] of selfUs) {
    const node = byId.get(id);
    if (!node) continue;
    const g = groupOf(node.callFrame);
    total += us;
    if (g === 'idle') {
      idle += us;
      continue;
    }
    groups.set(g, (groups.get(g) ?? 0) + us);
    const cg = callerGroup(id);
    callers.set(cg, (callers.get(cg) ?? 0) + us);
    const where = node.callFrame.url ? `${shortUrl(node.callFrame.url)}:${node.callFrame.lineNumber + 1}` : '';
    const key = `${node.callFrame.functionName}@${where}`;
    const f = fns.get(key) ?? { fn: node.callFrame.functionName || '(anonymous)', where, group: g, us: 0 };
    f.us += us;
    fns.set(key, f);
  }
  const busy = Math.max(1, total - idle);
  return {
    totalMs: total / 1000,
    idleMs: idle / 1000,
    windowed,
    groups: [...groups].map(([group, us]) => ({ group, ms: us / 1000, share: us / busy })).sort((a, b) => b.ms - a.ms),
    byCaller: [...callers].map(([group, us]) => ({ group, ms: us / 1000, share: us / busy })).sort((a, b) => b.ms - a.ms),
    functions: [...fns.values()].sort((a, b) => b.us - a.us).slice(0, top).map((f) => ({ fn: f.fn, where: f.where, group: f.group, ms: f.us / 1000, share: f.us / busy })),
  };
}
