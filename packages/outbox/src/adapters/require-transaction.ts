/** One check for every ORM adapter: it must be handed the transaction the caller's change runs in. */
import { DwError } from '@dual-write/config';

export function requireTransaction(adapter: string, given: unknown, ok: boolean, usage: string): void {
  if (!given || !ok) {
    throw new DwError('DW_OUTBOX_INVALID_MESSAGE', `${adapter}() needs the transaction your change runs in.`, `Pass the transaction: ${usage}.`);
  }
}
