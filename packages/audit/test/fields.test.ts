import { describe, expect, it } from 'vitest';
import { describeFieldSource, MessageReader, parseFieldSource, parseCliArgs } from '../src/index.ts';
import { parseSequence } from '../src/fields.ts';

describe('field sources', () => {
  it('parses key, header:<name> and json:<path> (dots and [n] indexes), and spells them back', () => {
    expect(parseFieldSource('key')).toEqual({ from: 'key' });
    expect(parseFieldSource('header:id')).toEqual({ from: 'header', name: 'id' });
    expect(parseFieldSource('json:data.order.id')).toEqual({ from: 'json', path: ['data', 'order', 'id'] });
    expect(parseFieldSource('json:items[0].sku')).toEqual({ from: 'json', path: ['items', '0', 'sku'] });
    expect(describeFieldSource({ from: 'json', path: ['data', 'order', 'id'] })).toBe('json:data.order.id');
    expect(parseFieldSource('value')).toBe('"value" is not a source kind');
    expect(parseFieldSource('header:')).toMatch(/needs a header name/);
  });

  it('reads a message: strings as they are, numbers as text, and says why when it cannot', () => {
    const m = new MessageReader({
      key: Buffer.from('k-1'),
      value: Buffer.from(JSON.stringify({ orderId: 'o-1', seq: 7, data: { order: { id: 42 } }, items: [{ sku: 'A' }], nothing: null })),
      headers: { id: Buffer.from('e-1'), multi: [Buffer.from('first'), Buffer.from('second')] },
    });
    const read = (spec: string) => m.read(parseFieldSource(spec) as Exclude<ReturnType<typeof parseFieldSource>, string>);
    expect(read('key')).toEqual({ ok: true, value: 'k-1' });
    expect(read('header:id')).toEqual({ ok: true, value: 'e-1' });
    expect(read('header:multi')).toEqual({ ok: true, value: 'first' });
    expect(read('json:orderId')).toEqual({ ok: true, value: 'o-1' });
    expect(read('json:data.order.id')).toEqual({ ok: true, value: '42' });
    expect(read('json:items[0].sku')).toEqual({ ok: true, value: 'A' });
    expect(read('header:missing')).toEqual({ ok: false, reason: 'no header "missing"' });
    expect(read('json:data.customer.id')).toEqual({ ok: false, reason: 'value has no data.customer.id' });
    expect(read('json:nothing')).toEqual({ ok: false, reason: "value's nothing is null, not a string or number" });
    expect(read('json:data')).toEqual({ ok: false, reason: "value's data is an object, not a string or number" });
    expect(new MessageReader({ key: null, value: null }).read({ from: 'key' })).toEqual({ ok: false, reason: 'message has no key' });
    expect(new MessageReader({ value: null }).read({ from: 'json', path: ['a'] })).toEqual({ ok: false, reason: 'message has no value (tombstone)' });
  });

  it('compares sequences as numbers (big integers exactly), not as text', () => {
    expect(parseSequence('10')! > parseSequence('9')!).toBe(true);
    expect(parseSequence('9007199254740993')! > parseSequence('9007199254740992')!).toBe(true);
    expect(parseSequence('1.5')! < parseSequence('2')!).toBe(true);
    expect(parseSequence('abc')).toBeUndefined();
  });
});

describe('CLI arguments', () => {
  it('maps flags to options and fills the rest from the lab settings', () => {
    const a = parseCliArgs(['--table', 'sales.orders', '--entity-id', 'json:orderId', '--sequence', 'json:seq', '--grace-ms', '250', '--json'], {
      DATABASE_URL: 'postgres://u:p@db.example:5432/shop',
      KAFKA_BROKERS: 'k1:9092,k2:9092',
      ORDERS_TOPIC: 'shop.orders',
    });
    expect(a.json).toBe(true);
    expect(a.options).toEqual({
      table: 'sales.orders',
      entityId: 'json:orderId',
      sequence: 'json:seq',
      graceMs: 250,
      databaseUrl: 'postgres://u:p@db.example:5432/shop',
      brokers: ['k1:9092', 'k2:9092'],
      topic: 'shop.orders',
    });
  });

  it('rejects unknown flags and non-numeric milliseconds as usage errors', () => {
    expect(() => parseCliArgs(['--tabel', 'x'], {})).toThrow(/Unknown option '--tabel'/);
    expect(() => parseCliArgs(['--idle-timeout-ms', '1m'], {})).toThrow(/--idle-timeout-ms "1m" is not valid/);
  });
});
