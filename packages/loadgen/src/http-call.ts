import type { CallResult } from './stats.ts';

/** One HTTP call, timed; never throws (a network error becomes a failed result). */
export async function timedCall(url: string, init: RequestInit & { timeoutMs?: number } = {}): Promise<CallResult & { body?: unknown }> {
  const t0 = performance.now();
  try {
    const res = await fetch(url, { ...init, signal: AbortSignal.timeout(init.timeoutMs ?? 120_000) });
    const text = await res.text();
    let body: unknown;
    try {
      body = text ? JSON.parse(text) : undefined;
    } catch {
      body = text;
    }
    const ms = performance.now() - t0;
    const code = typeof body === 'object' && body && 'code' in body ? String((body as { code: unknown }).code) : undefined;
    return { ok: res.ok, status: res.status, error: res.ok ? undefined : (code ?? `HTTP ${res.status}`), ms, body };
  } catch (err) {
    return { ok: false, status: 0, error: (err as Error).name === 'TimeoutError' ? 'client timeout' : `network: ${(err as Error).message}`, ms: performance.now() - t0 };
  }
}

export function postJson(url: string, body: unknown, timeoutMs?: number) {
  return timedCall(url, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body), timeoutMs });
}
