/**
 * The relays' own view, from their HTTP endpoints (the relay's `port`): `/health` (JSON: status, instanceId,
 * ownedSlots, members, kafka, reasons) and `/metrics` (Prometheus text: `outbox_published_total{topic}`, summed).
 * The publish rate is the increase of that counter between two refreshes.
 */
export interface RelayEndpoint {
  url: string;
  reachable: boolean;
  error?: string;
  health?: Record<string, unknown>;
  /** Sum of outbox_published_total over its topics. */
  publishedTotal?: number;
}

async function get(url: string, timeoutMs: number): Promise<{ status: number; text: string }> {
  const res = await fetch(url, { signal: AbortSignal.timeout(timeoutMs) });
  return { status: res.status, text: await res.text() };
}

/** The sum of a counter's samples in Prometheus text format (every label set). */
export function sumMetric(text: string, name: string): number | undefined {
  let sum: number | undefined;
  for (const line of text.split('\n')) {
    if (!line.startsWith(name)) continue;
    const rest = line.slice(name.length);
    if (rest[0] !== '{' && rest[0] !== ' ') continue;
    const value = Number(line.slice(line.lastIndexOf(' ') + 1));
    if (Number.isFinite(value)) sum = (sum ?? 0) + value;
  }
  return sum;
}

export async function readRelay(url: string, timeoutMs = 1000): Promise<RelayEndpoint> {
  const [health, metrics] = await Promise.allSettled([get(`${url}/health`, timeoutMs), get(`${url}/metrics`, timeoutMs)]);
  const out: RelayEndpoint = { url, reachable: health.status === 'fulfilled' || metrics.status === 'fulfilled' };
  if (health.status === 'fulfilled') {
    try {
      out.health = JSON.parse(health.value.text) as Record<string, unknown>;
    } catch {
      out.error = `/health answered ${health.value.status} without JSON`;
    }
  } else out.error = `/health: ${(health.reason as Error).message}`;
  if (metrics.status === 'fulfilled' && metrics.value.status === 200) out.publishedTotal = sumMetric(metrics.value.text, 'outbox_published_total') ?? 0;
  return out;
}
