// The pure parts, without the stack: backoff, message decoding, the handled tracker.
import { describe, expect, it } from 'vitest';
import { resolveConfig } from '@dual-write/config';
import { encodeOrderCreated } from '@dual-write/schema';
import { resolveOptions } from '../src/options.ts';
import { backoffDelayMs, decodeDownstreamMessage } from '../src/index.ts';
import { HandledTracker, type HandledMessage } from '../src/handled-tracker.ts';
import { orderCreatedEvent } from '../src/testing/index.ts';

const source = { topic: 't', partition: 0, offset: '0' };
const skipped: HandledMessage = { kind: 'skipped', reason: 'x', source };

describe('backoffDelayMs', () => {
  it('doubles from initialMs and stops at maxMs', () => {
    const opts = { initialMs: 100, maxMs: 1000 };
    expect([1, 2, 3, 4, 5, 6, 100].map((a) => backoffDelayMs(a, opts))).toEqual([100, 200, 400, 800, 1000, 1000, 1000]);
  });
});

describe('decodeDownstreamMessage', () => {
  it('takes the event id from the `id` header, and from the body when the header is missing', () => {
    const event = orderCreatedEvent();
    const encoded = encodeOrderCreated(event);
    const headerId = '00000000-0000-4000-8000-000000000001';
    expect(decodeDownstreamMessage({ ...encoded, headers: { ...encoded.headers, id: headerId } })).toMatchObject({ ok: true, message: { orderId: event.orderId, eventId: headerId } });
    expect(decodeDownstreamMessage({ value: encoded.value })).toMatchObject({ ok: true, message: { eventId: event.eventId } });
  });

  it('says why a message is malformed', () => {
    expect(decodeDownstreamMessage({ value: '{' })).toMatchObject({ ok: false, reason: expect.stringMatching(/not JSON/) });
    expect(decodeDownstreamMessage({ value: JSON.stringify({ ...orderCreatedEvent(), totalCents: 'ten' }) })).toMatchObject({ ok: false, reason: expect.stringMatching(/without totalCents/) });
    expect(decodeDownstreamMessage({ value: encodeOrderCreated(orderCreatedEvent()).value, headers: { id: 'nope' } })).toMatchObject({ ok: false, reason: expect.stringMatching(/event id "nope" is not a UUID/) });
  });
});

describe('HandledTracker', () => {
  it('waitForHandled resolves on a count or a predicate, and rejects once stopped', async () => {
    const tracker = new HandledTracker('t');
    const two = tracker.waitForHandled(2);
    const aSkip = tracker.waitForHandled((s) => s.skipped >= 1);
    tracker.handled({ kind: 'recorded', outcome: 'shipped', callbackStatus: 200, orderId: 'o', eventId: 'e', source });
    tracker.handled(skipped);
    await expect(two).resolves.toMatchObject({ handled: 2, recorded: 1, skipped: 1, outcomes: { shipped: 1 } });
    await expect(aSkip).resolves.toMatchObject({ skipped: 1 });
    const three = tracker.waitForHandled(3);
    tracker.stopped();
    await expect(three).rejects.toMatchObject({ code: 'DW_NOT_READY', message: expect.stringMatching(/the consumer stopped before 3 handled/) });
    await expect(tracker.waitForHandled(5)).rejects.toThrow(/stopped/);
  });

  it('a listener that throws does not fail the message; it is logged', () => {
    const lines: string[] = [];
    const tracker = new HandledTracker('t', (l) => lines.push(l));
    tracker.events.on('handled', () => {
      throw new Error('boom');
    });
    expect(() => tracker.handled(skipped)).not.toThrow();
    expect(tracker.stats().handled).toBe(1);
    expect(lines).toEqual([expect.stringMatching(/'handled' listener threw \(ignored\): boom/)]);
  });

  it('waitForHandled times out with the stats in the message', async () => {
    const tracker = new HandledTracker('t');
    await expect(tracker.waitForHandled(1, { timeoutMs: 10 })).rejects.toThrow(/10 ms passed before 1 handled message\(s\) \(handled 0/);
  });
});

describe('resolveOptions: notFoundRetryMs', () => {
  const base = { name: 'shipping', groupId: 'g', recordEffect: async () => 'shipped', brokers: ['127.0.0.1:1'], topic: 't', databaseUrl: 'postgres://u@h/d', orderServiceUrl: 'http://127.0.0.1:1' };
  it('defaults to NOT_FOUND_RETRY_MS of the config (0: a 404 is recorded at once), and takes an explicit value', () => {
    expect(resolveOptions({ ...base, config: resolveConfig({}, {}) }).notFoundRetryMs).toBe(0);
    expect(resolveOptions({ ...base, config: resolveConfig({ NOT_FOUND_RETRY_MS: 2500 }, {}) }).notFoundRetryMs).toBe(2500);
    expect(resolveOptions({ ...base, config: resolveConfig({}, {}), notFoundRetryMs: 300 }).notFoundRetryMs).toBe(300);
  });
  it('refuses a negative or fractional window, naming the option; the setting likewise', () => {
    expect(() => resolveOptions({ ...base, notFoundRetryMs: -1 })).toThrow(/notFoundRetryMs=-1 .*whole number ≥ 0/);
    expect(() => resolveOptions({ ...base, notFoundRetryMs: 1.5 })).toThrow(/notFoundRetryMs/);
    expect(() => resolveConfig({}, { NOT_FOUND_RETRY_MS: 'soon' })).toThrow(/NOT_FOUND_RETRY_MS/);
  });
});
