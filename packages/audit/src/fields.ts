/**
 * Where a value is read from in a Kafka message: the key, a header, or a JSON path into the value.
 * Spelled on the command line as `key`, `header:<name>` or `json:<path>` (e.g. `json:data.order.id`,
 * `json:items[0].sku`).
 */
export type FieldSource =
  | { readonly from: 'key' }
  | { readonly from: 'header'; readonly name: string }
  | { readonly from: 'json'; readonly path: readonly string[] };

/** What a message looks like to the auditor (kafkajs' KafkaMessage fits). */
export interface MessageLike {
  key?: Buffer | string | null;
  value: Buffer | string | null;
  headers?: Record<string, Buffer | string | (Buffer | string)[] | undefined>;
}

export type FieldResult = { ok: true; value: string } | { ok: false; reason: string };

export const FIELD_SOURCE_SYNTAX = 'key, header:<name> or json:<path> (e.g. json:orderId, json:data.order.id)';

/** Parses `key` | `header:<name>` | `json:<path>`; returns the reason when the spec is not valid. */
export function parseFieldSource(spec: string): FieldSource | string {
  const s = spec.trim();
  if (s === 'key') return { from: 'key' };
  const colon = s.indexOf(':');
  const kind = colon < 0 ? s : s.slice(0, colon);
  const rest = colon < 0 ? '' : s.slice(colon + 1);
  if (kind === 'header') {
    if (!rest) return 'header: needs a header name, e.g. header:id';
    return { from: 'header', name: rest };
  }
  if (kind === 'json') {
    const path = parseJsonPath(rest);
    return typeof path === 'string' ? path : { from: 'json', path };
  }
  return `"${kind}" is not a source kind`;
}

/** `data.order.id` → ['data', 'order', 'id']; `items[0].sku` → ['items', '0', 'sku']. */
export function parseJsonPath(path: string): string[] | string {
  if (!path) return 'json: needs a path into the value, e.g. json:orderId or json:data.order.id';
  const segments = path.replace(/\[(\d+)\]/g, '.$1').split('.');
  if (segments.some((seg) => seg === '')) return `json path "${path}" has an empty segment (write it like data.order.id)`;
  return segments;
}

/** The spec string for a source, as the CLI spells it. */
export function describeFieldSource(source: FieldSource): string {
  switch (source.from) {
    case 'key':
      return 'key';
    case 'header':
      return `header:${source.name}`;
    case 'json':
      return `json:${source.path.join('.')}`;
  }
}

/**
 * Reads fields of one message; the JSON value is parsed at most once, however many fields read it.
 * Values are compared as text: numbers become their decimal form, strings are used as they are.
 */
export class MessageReader {
  private parsed: { ok: true; value: unknown } | { ok: false; reason: string } | undefined;

  constructor(private readonly message: MessageLike) {}

  read(source: FieldSource): FieldResult {
    switch (source.from) {
      case 'key': {
        const key = this.message.key;
        if (key === null || key === undefined) return { ok: false, reason: 'message has no key' };
        const text = key.toString();
        return text === '' ? { ok: false, reason: 'message key is empty' } : { ok: true, value: text };
      }
      case 'header': {
        const h = this.message.headers?.[source.name];
        const v = Array.isArray(h) ? h[0] : h;
        if (v === undefined) return { ok: false, reason: `no header "${source.name}"` };
        const text = v.toString();
        return text === '' ? { ok: false, reason: `header "${source.name}" is empty` } : { ok: true, value: text };
      }
      case 'json':
        return this.readJson(source.path);
    }
  }

  private readJson(path: readonly string[]): FieldResult {
    const parsed = this.parseValue();
    if (!parsed.ok) return parsed;
    let node: unknown = parsed.value;
    for (const seg of path) {
      if (node === null || typeof node !== 'object') return { ok: false, reason: `value has no ${path.join('.')}` };
      node = (node as Record<string, unknown>)[seg];
    }
    if (typeof node === 'string' && node !== '') return { ok: true, value: node };
    if (typeof node === 'number' && Number.isFinite(node)) return { ok: true, value: String(node) };
    if (node === undefined) return { ok: false, reason: `value has no ${path.join('.')}` };
    const kind = node === null ? 'null' : typeof node === 'string' ? 'empty' : Array.isArray(node) ? 'an array' : typeof node === 'object' ? 'an object' : `a ${typeof node}`;
    return { ok: false, reason: `value's ${path.join('.')} is ${kind}, not a string or number` };
  }

  private parseValue(): { ok: true; value: unknown } | { ok: false; reason: string } {
    if (this.parsed) return this.parsed;
    const value = this.message.value;
    if (value === null || value === undefined) {
      this.parsed = { ok: false, reason: 'message has no value (tombstone)' };
    } else {
      try {
        this.parsed = { ok: true, value: JSON.parse(value.toString()) as unknown };
      } catch {
        this.parsed = { ok: false, reason: 'value is not JSON' };
      }
    }
    return this.parsed;
  }
}

/** A sequence number: integers compare exactly (bigint), other numbers as numbers; undefined when not numeric. */
export function parseSequence(text: string): bigint | number | undefined {
  const t = text.trim();
  if (/^-?\d+$/.test(t)) return BigInt(t);
  if (t === '') return undefined;
  const n = Number(t);
  return Number.isFinite(n) ? n : undefined;
}
