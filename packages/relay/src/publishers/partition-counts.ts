/** Partition counts of topics, each trusted for a minute (a topic may be resized): what every publisher caches. */
const MAX_AGE_MS = 60_000;

export class PartitionCounts {
  private readonly counts = new Map<string, { count: number; at: number }>();

  /** The cached count, unless missing or older than a minute. */
  get(topic: string): number | undefined {
    const cached = this.counts.get(topic);
    return cached && Date.now() - cached.at < MAX_AGE_MS ? cached.count : undefined;
  }

  set(topic: string, count: number): void {
    this.counts.set(topic, { count, at: Date.now() });
  }

  forget(topic: string): void {
    this.counts.delete(topic);
  }

  clear(): void {
    this.counts.clear();
  }
}
