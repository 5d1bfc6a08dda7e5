/**
 * Counts what a consumer did and tells listeners as it happens, so tests and scenario runners can
 * await "N messages handled" instead of sleeping.
 */
import { EventEmitter } from 'node:events';
import { DwError } from '@dual-write/config';
import type { KafkaSource } from './effect.ts';

/** A message the consumer is done with: its effect was recorded, or it was malformed and skipped. */
export type HandledMessage =
  | { kind: 'recorded'; outcome: string; callbackStatus: 200 | 404; orderId: string; eventId: string; source: KafkaSource }
  | { kind: 'skipped'; reason: string; source: KafkaSource };

/** A failed attempt that will be tried again after `delayMs`. */
export interface RetryNotice {
  attempt: number;
  delayMs: number;
  error: string;
  orderId: string;
  source: KafkaSource;
}

export interface CrashNotice {
  error: string;
  /** Who restarts it: kafkajs itself (after a retriable error) or this consumer (after any other). */
  restartedBy: 'kafkajs' | 'consumer';
  restartInMs: number | undefined;
}

export interface DownstreamEvents {
  handled: [HandledMessage];
  retry: [RetryNotice];
  /** The Kafka consumer crashed (e.g. the broker went away) and is being restarted. */
  crash: [CrashNotice];
  /** The consumer stopped (stop() was called): pending waits reject. */
  stopped: [];
}

export interface DownstreamStats {
  name: string;
  running: boolean;
  /** Messages handled since start: recorded + skipped (a redelivered message counts again). */
  handled: number;
  recorded: number;
  /** Recorded effects by outcome, e.g. { shipped: 3, ghost: 1 }. */
  outcomes: Record<string, number>;
  /** Malformed messages skipped. */
  skipped: number;
  /** Failed attempts (callback or database) that were retried. */
  retries: number;
  lastError: string | undefined;
}

export type HandledTarget = number | ((stats: DownstreamStats, last: HandledMessage | undefined) => boolean);

export class HandledTracker {
  readonly events = new EventEmitter<DownstreamEvents>();
  private readonly counts: Omit<DownstreamStats, 'name' | 'running' | 'outcomes'> = { handled: 0, recorded: 0, skipped: 0, retries: 0, lastError: undefined };
  private readonly outcomes: Record<string, number> = {};
  private running = true;

  constructor(
    private readonly name: string,
    private readonly log: (line: string) => void = () => {},
  ) {
    this.events.setMaxListeners(0); // every waitForHandled adds listeners; they are removed when it settles
  }

  /** A listener that throws must not fail the message (it would be retried and its effect written twice). */
  private emit<K extends keyof DownstreamEvents>(event: K, ...args: DownstreamEvents[K]): void {
    try {
      (this.events as EventEmitter).emit(event, ...args); // untyped view: TS cannot narrow a generic K here
    } catch (err) {
      this.log(`a '${event}' listener threw (ignored): ${(err as Error).message}`);
    }
  }

  stats(): DownstreamStats {
    return { name: this.name, running: this.running, ...this.counts, outcomes: { ...this.outcomes } };
  }

  handled(message: HandledMessage): void {
    this.counts.handled++;
    if (message.kind === 'recorded') {
      this.counts.recorded++;
      this.outcomes[message.outcome] = (this.outcomes[message.outcome] ?? 0) + 1;
    } else {
      this.counts.skipped++;
    }
    this.emit('handled', message);
  }

  retry(notice: RetryNotice): void {
    this.counts.retries++;
    this.counts.lastError = notice.error;
    this.emit('retry', notice);
  }

  crashed(notice: CrashNotice): void {
    this.counts.lastError = notice.error;
    this.emit('crash', notice);
  }

  stopped(): void {
    if (!this.running) return;
    this.running = false;
    this.emit('stopped');
  }

  /**
   * Resolves with the stats once `target` is met: a number means `handled >= target`; a function is
   * checked now and after every handled message. Rejects if the consumer stops first or after `timeoutMs`.
   */
  waitForHandled(target: HandledTarget, opts: { timeoutMs?: number } = {}): Promise<DownstreamStats> {
    const met = typeof target === 'number' ? (s: DownstreamStats) => s.handled >= target : target;
    const timeoutMs = opts.timeoutMs ?? 60_000;
    const want = typeof target === 'number' ? `${target} handled message(s)` : 'the awaited condition';
    return new Promise((resolve, reject) => {
      if (met(this.stats(), undefined)) return resolve(this.stats());
      const cleanup = () => {
        clearTimeout(timer);
        this.events.off('handled', onHandled);
        this.events.off('stopped', onStopped);
      };
      const fail = (why: string) => {
        cleanup();
        const s = this.stats();
        reject(new DwError('DW_NOT_READY', `${this.name}: ${why} before ${want} (handled ${s.handled}: ${s.recorded} recorded, ${s.skipped} skipped; ${s.retries} retries).`, s.lastError ? `The last failed attempt: ${s.lastError}` : 'Check that messages reach the topic and that the consumer group is not already past them (fromBeginning, group id).', { stats: s }));
      };
      const onHandled = (last: HandledMessage) => {
        if (!met(this.stats(), last)) return;
        cleanup();
        resolve(this.stats());
      };
      const onStopped = () => fail('the consumer stopped');
      const timer = setTimeout(() => fail(`${timeoutMs} ms passed`), timeoutMs);
      this.events.on('handled', onHandled);
      this.events.on('stopped', onStopped);
      if (!this.running) onStopped();
    });
  }
}
