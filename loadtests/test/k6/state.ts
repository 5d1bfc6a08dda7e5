/**
 * What the stand-in k6 modules record while a k6 script runs under Node: requests (with their tags),
 * custom metrics (which must be created in the init context, as in k6), checks and sleeps.
 */
export type MetricType = 'counter' | 'trend' | 'rate' | 'gauge';

export interface StubRequest {
  method: string;
  url: string;
  body: string | null;
  params: { headers?: Record<string, string>; tags?: Record<string, string>; timeout?: string };
  tags: Record<string, string>;
}

export interface StubResponseInit {
  status: number;
  body?: string;
  /** k6's error_code (1050: request timeout). */
  errorCode?: number;
  error?: string;
  durationMs?: number;
}

export interface StubMetric {
  name: string;
  type: MetricType;
  isTime: boolean;
  samples: { value: number; tags: Record<string, string> }[];
}

export interface K6StubState {
  /** 'init' while the module is evaluated; metrics created later are an error, as in k6. */
  phase: 'init' | 'vu';
  requests: StubRequest[];
  metrics: Map<string, StubMetric>;
  checks: { name: string; ok: boolean; tags: Record<string, string> }[];
  sleeps: number[];
  logs: string[];
  respond(req: StubRequest): StubResponseInit;
}

const KEY = '__k6stub';

export function k6State(): K6StubState {
  const s = (globalThis as Record<string, unknown>)[KEY] as K6StubState | undefined;
  if (!s) throw new Error('k6 stand-in used without a state (load the script with loadK6Script)');
  return s;
}

export function setK6State(s: K6StubState): void {
  (globalThis as Record<string, unknown>)[KEY] = s;
}
