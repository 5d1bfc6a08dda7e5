/** Checks a message before it reaches SQL, so a mistake fails at the call with an OutboxError that names the field. */
import { randomUUID } from 'node:crypto';
import { OutboxError } from './errors.ts';
import type { OutboxMessage } from './types.ts';

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;
const KNOWN_FIELDS = new Set(['id', 'aggregateType', 'aggregateId', 'type', 'payload', 'headers']);
/** Header names the relay sets itself; a message may not override them. */
export const RESERVED_HEADERS = ['id', 'type', 'aggregatetype', 'outbox-position', 'outbox-sequence', 'outbox-transaction-id'] as const;

/** A message checked and filled in: what one outbox row will hold. */
export interface ValidatedMessage {
  id: string;
  aggregatetype: string;
  aggregateid: string;
  type: string;
  /** The payload as JSON text. */
  payload: string;
  headers: Record<string, string>;
}

export function isUuid(value: unknown): value is string {
  return typeof value === 'string' && UUID.test(value);
}

/** `index` is the message's place in the call, or a label for what is checked (e.g. `enqueue() option`). */
function invalid(index: number | string, field: string, problem: string, hint: string): OutboxError {
  const where = typeof index === 'number' ? `Outbox message #${index}` : index;
  return new OutboxError('DW_OUTBOX_INVALID_MESSAGE', `${where}: ${field} ${problem}.`, hint, { index, field });
}

function text(m: Record<string, unknown>, index: number, field: string, example: string): string {
  const v = m[field];
  if (typeof v !== 'string' || v.trim() === '') throw invalid(index, field, `must be a non-empty string (got ${v === undefined ? 'nothing' : JSON.stringify(v)})`, `Set ${field}, e.g. ${example}.`);
  if (v.includes('\u0000')) throw invalid(index, field, 'contains a NUL character', `Remove \\u0000 from ${field}: PostgreSQL text cannot hold it.`);
  return v;
}

function payloadJson(m: Record<string, unknown>, index: number): string {
  if (!('payload' in m) || m.payload === undefined) throw invalid(index, 'payload', 'is missing', 'Set payload to the event body (any JSON value; null is allowed).');
  let json: string | undefined;
  try {
    json = JSON.stringify(m.payload);
  } catch (err) {
    throw invalid(index, 'payload', `cannot be serialised as JSON (${(err as Error).message})`, 'Use plain objects, arrays, strings, numbers, booleans and null (convert BigInt and cyclic structures first).');
  }
  if (json === undefined) throw invalid(index, 'payload', 'is not a JSON value (a function or a symbol)', 'Use plain objects, arrays, strings, numbers, booleans and null.');
  if (json.includes('\\u0000')) throw invalid(index, 'payload', 'contains a NUL character (\\u0000)', 'Remove \\u0000 from the payload: jsonb cannot hold it.');
  return json;
}

/** Checks a headers object: string values, no reserved or empty names. */
export function validateHeaders(value: unknown, where: string, field = 'headers'): Record<string, string> {
  return headerMap(value, where, field);
}

function headerMap(value: unknown, index: number | string, field: string): Record<string, string> {
  if (value === undefined) return {};
  if (typeof value !== 'object' || value === null || Array.isArray(value)) throw invalid(index, field, 'must be an object of string values', 'Pass headers like { traceparent: "00-…-01" }.');
  const out: Record<string, string> = {};
  for (const [k, v] of Object.entries(value)) {
    if (typeof v !== 'string') throw invalid(index, `${field}.${k}`, `must be a string (got ${typeof v})`, 'Kafka header values are strings here: convert the value with String() or JSON.stringify().');
    if ((RESERVED_HEADERS as readonly string[]).includes(k.toLowerCase())) throw invalid(index, `${field}.${k}`, 'is a header the relay sets itself', `Rename it; reserved: ${RESERVED_HEADERS.join(', ')}.`);
    if (k === '' || k.includes('\u0000') || v.includes('\u0000')) throw invalid(index, `${field}.${k}`, 'is empty or contains a NUL character', 'Use a non-empty header name without \\u0000.');
    out[k] = v;
  }
  return out;
}

/** Validates one message and fills in its id; `defaults` are headers added to every message (the message's own win). */
export function validateMessage(message: OutboxMessage, index: number, defaults: Record<string, string> = {}): ValidatedMessage {
  if (typeof message !== 'object' || message === null || Array.isArray(message)) {
    throw new OutboxError('DW_OUTBOX_INVALID_MESSAGE', `Outbox message #${index} is not an object.`, 'Pass { aggregateType, aggregateId, type, payload, headers? } (or an array of them).', { index });
  }
  const m = message as unknown as Record<string, unknown>;
  const unknown = Object.keys(m).filter((k) => !KNOWN_FIELDS.has(k));
  if (unknown.length) throw invalid(index, unknown.join(', '), 'is not a message field', `Known fields: ${[...KNOWN_FIELDS].join(', ')}.`);
  let id: string;
  if (m.id === undefined) id = randomUUID();
  else if (isUuid(m.id)) id = m.id.toLowerCase();
  else throw invalid(index, 'id', `must be a UUID (got ${JSON.stringify(m.id)})`, 'Leave id out to get a random UUID, or pass one from crypto.randomUUID().');
  return {
    id,
    aggregatetype: text(m, index, 'aggregateType', '"order"'),
    aggregateid: text(m, index, 'aggregateId', 'the order id'),
    type: text(m, index, 'type', '"OrderCreated"'),
    payload: payloadJson(m, index),
    headers: { ...defaults, ...headerMap(m.headers, index, 'headers') },
  };
}
