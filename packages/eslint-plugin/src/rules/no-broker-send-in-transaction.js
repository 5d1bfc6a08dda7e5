/**
 * no-broker-send-in-transaction: a broker send (kafkajs `producer.send` / `sendBatch`, a publisher's `publish`,
 * or a configured call) inside a database transaction scope. See README.md#no-broker-send-in-transaction.
 */
import { onAnalysedFile, sendOptionProperties, shorten } from '../analysis.js';
import { docsUrl } from '../docs-url.js';

/** @type {import('eslint').Rule.RuleModule} */
const rule = {
  meta: {
    type: 'problem',
    docs: {
      description: 'Disallow sending to a message broker inside a database transaction (zombie messages, pool exhaustion); write to the outbox instead',
      recommended: true,
      url: docsUrl('no-broker-send-in-transaction'),
    },
    schema: [{ type: 'object', additionalProperties: false, properties: { ...sendOptionProperties } }],
    defaultOptions: [{}],
    messages: {
      sendInTransaction:
        '`{{call}}` sends to the broker inside a database transaction ({{scope}}). If the transaction then rolls back, the message is already out about data that never existed (a zombie message), and the transaction holds its pool connection while it waits on the broker. Write the message to the outbox instead: `enqueue()` from @dual-write/outbox in the same transaction, and let the relay publish it.',
    },
  },
  create(context) {
    return onAnalysedFile(context, (a) => {
      for (const send of a.sends) {
        const scope = a.scopeOf(send);
        if (scope) context.report({ node: send, messageId: 'sendInTransaction', data: { call: shorten(a.text(send.callee)), scope } });
      }
    });
  },
};

export default rule;
