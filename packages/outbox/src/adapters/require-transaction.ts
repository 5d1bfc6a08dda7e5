/** One check for every ORM adapter: it must be handed the transaction the caller's change runs in. */
import { OutboxError } from '../errors.ts';

export function requireTransaction(adapter: string, given: unknown, ok: boolean, usage: string): void {
  if (!given || !ok) {
    throw new OutboxError('DW_OUTBOX_INVALID_MESSAGE', `${adapter}() needs the transaction your change runs in.`, `Pass the transaction: ${usage}.`);
  }
}
