/**
 * no-send-after-commit: a broker send that runs after a transaction committed, in the same function, when that
 * transaction wrote nothing to an outbox — the black-hole shape. See README.md#no-send-after-commit.
 */
import { onAnalysedFile, sendOptionProperties, shorten, walkForward, within } from '../analysis.js';
import { docsUrl } from '../docs-url.js';

/** @type {import('eslint').Rule.RuleModule} */
const rule = {
  meta: {
    type: 'problem',
    docs: {
      description: 'Disallow sending to a message broker right after a database commit without an outbox (message black holes)',
      recommended: true,
      url: docsUrl('no-send-after-commit'),
    },
    schema: [
      {
        type: 'object',
        additionalProperties: false,
        properties: {
          ...sendOptionProperties,
          outboxCalls: { type: 'array', items: { type: 'string' }, uniqueItems: true },
          outboxPattern: { type: 'string' },
        },
      },
    ],
    defaultOptions: [{}],
    messages: {
      sendAfterCommit:
        '`{{call}}` sends to the broker after {{commit}} committed, and that transaction wrote no outbox row. If the process dies or the broker fails between the commit and the send, the data is saved and the message is gone for good (a black hole). Write the message with `enqueue()` from @dual-write/outbox inside the transaction, and let the relay publish it.',
    },
  },
  create(context) {
    return onAnalysedFile(context, (a) => {
      // A send inside a transaction scope is the other rule's finding.
      const candidates = a.sends.filter((s) => !a.scopeOf(s));
      if (candidates.length === 0) return;
      const reported = new Set();
      for (const commit of a.commits()) {
        if (commit.outboxed) continue;
        walkForward(commit.call, (statement) => {
          for (const send of candidates) {
            if (reported.has(send) || !within(send, statement)) continue;
            reported.add(send);
            context.report({ node: send, messageId: 'sendAfterCommit', data: { call: shorten(a.text(send.callee)), commit: commit.label } });
          }
        });
      }
    });
  },
};

export default rule;
