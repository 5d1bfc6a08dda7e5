/**
 * pgoutput messages → outbox rows. The library's parser turns column text into JS values with pg's type parsers
 * (jsonb → a parsed object); the relay wants the payload as PostgreSQL's jsonb text, byte for byte what the
 * polling relay (`payload::text`) and Debezium send. So this plugin makes every column of a relation arrive as its
 * text, and decodeInsert() converts the few that are not text itself.
 */
import pg from 'pg';
import { PgoutputPlugin, type Pgoutput } from 'pg-logical-replication';
import type { OutboxRow } from '@dual-write/outbox';

const asText = (raw: unknown) => raw;

/** The pgoutput plugin (protocol 1: whole transactions at commit, in commit order), every column as text. */
export class TextPgoutputPlugin extends PgoutputPlugin {
  constructor(publication: string) {
    super({ protoVersion: 1, publicationNames: [publication], messages: false });
  }

  override parse(buffer: Buffer): Pgoutput.Message {
    const msg = super.parse(buffer);
    // The parser caches this relation object and decodes the following tuples with its columns' parsers.
    if (msg.tag === 'relation') for (const c of msg.columns) c.parser = asText;
    return msg;
  }
}

const parseTimestamptz = pg.types.getTypeParser(pg.types.builtins.TIMESTAMPTZ) as (text: string) => Date;

/** A decoded insert into the outbox as the row the publisher takes (payload as text, like the polling store's read). */
export function decodeInsert(values: Record<string, unknown>): OutboxRow {
  const text = (name: string): string => {
    const v = values[name];
    if (typeof v !== 'string') throw new Error(`the outbox insert has no text value for column ${name} (got ${v === null ? 'null' : typeof v})`);
    return v;
  };
  const headers = values.headers;
  return {
    id: text('id'),
    aggregatetype: text('aggregatetype'),
    aggregateid: text('aggregateid'),
    type: text('type'),
    payload: null,
    payload_text: text('payload'),
    headers: typeof headers === 'string' ? (JSON.parse(headers) as Record<string, string>) : {},
    created_at: parseTimestamptz(text('created_at')),
    position: text('position'),
    transaction_id: text('transaction_id'),
    // Attempts are counted in memory in CDC mode (a restart re-streams the row and counts again).
    attempts: 0,
    last_error: null,
    next_attempt_at: null,
  };
}
