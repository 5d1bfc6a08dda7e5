import type { ESLint, Linter, Rule } from 'eslint';

/** Options of both rules (no-send-after-commit also takes `outboxCalls` and `outboxPattern`). */
export interface DualWriteRuleOptions {
  /** Regular expression (case-insensitive) the receiver of a send method must match. Default `producer|kafka|broker|publisher`. */
  receiverPattern?: string;
  /** Methods that send when called on a matching receiver. Default `['send', 'sendBatch', 'publish']`. */
  sendMethods?: string[];
  /** Extra callee names that always send, matched against the callee's text or its tail: `publishOrderCreated`, `sns.publish`. */
  sendCalls?: string[];
  /** no-send-after-commit: callee names that write to the outbox. Default `['enqueue']`. */
  outboxCalls?: string[];
  /** no-send-after-commit: regular expression (case-insensitive) on the callee text that marks an outbox write. Default `outbox`. */
  outboxPattern?: string;
}

export declare const meta: { name: 'eslint-plugin-dual-write'; version: string; namespace: 'dual-write' };
export declare const rules: {
  'no-broker-send-in-transaction': Rule.RuleModule;
  'no-send-after-commit': Rule.RuleModule;
};
export declare const configs: { recommended: Linter.Config };
/** The documentation URL of a rule (the package README, one section per rule). */
export declare function docsUrl(ruleName: string): string;

declare const plugin: ESLint.Plugin & { meta: typeof meta; rules: typeof rules; configs: typeof configs };
export default plugin;
