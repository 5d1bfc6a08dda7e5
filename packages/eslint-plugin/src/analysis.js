/**
 * What both rules share: finding broker sends, database transaction scopes (managed callbacks and
 * unmanaged begin … commit regions), commits, outbox writes, and a small forward walk over statement lists
 * ("what runs after this statement in the same function, unless a return/throw ends it first").
 *
 * Plain ESM JavaScript with JSDoc, checked by `tsc --checkJs`: ESLint loads a flat config (and its plugins)
 * with plain Node, which cannot import TypeScript sources. AST nodes are ESTree nodes with `parent` links (ESLint
 * sets them); they are typed loosely (`AstNode`) because the walk reads many node shapes, including
 * typescript-eslint's `TSNonNullExpression` / `TSAsExpression`.
 */

/** @typedef {any} AstNode an ESTree node (with `parent`), or a typescript-eslint node */

/**
 * @typedef {object} SendOptions
 * @property {string} [receiverPattern] regular expression (case-insensitive) the receiver of `.send()` must match
 * @property {string[]} [sendMethods] method names that send when called on a matching receiver
 * @property {string[]} [sendCalls] extra callee names that always send (`publishOrderCreated`, `sns.publish`)
 */

/**
 * @typedef {object} OutboxOptions
 * @property {string[]} [outboxCalls] callee names that write to the outbox (`enqueue`, `outbox.add`)
 * @property {string} [outboxPattern] regular expression (case-insensitive) on the callee text that marks an outbox write
 */

export const DEFAULT_RECEIVER_PATTERN = 'producer|kafka|broker|publisher';
export const DEFAULT_SEND_METHODS = ['send', 'sendBatch', 'publish'];
export const DEFAULT_OUTBOX_CALLS = ['enqueue'];
export const DEFAULT_OUTBOX_PATTERN = 'outbox';

/** Methods that run a callback in a transaction: most ORMs, Prisma's interactive form, MikroORM, postgres.js, pg-promise. */
const MANAGED_METHODS = new Set(['transaction', '$transaction', 'transactional', 'begin', 'tx']);
const SQL_BEGIN = /^\s*(BEGIN|START\s+TRANSACTION)\b/i;
const SQL_COMMIT = /^\s*(COMMIT|END)\b/i;
const SQL_ROLLBACK = /^\s*ROLLBACK\b(?!\s+TO\b)/i;
const SQL_OUTBOX_INSERT = /\binsert\s+into\s+[\w".]*outbox/i;
/** Names a transaction object usually has, for a `.commit()` on a transaction this file did not open. */
const TX_NAME = /^(t|tx|trx|txn)$|transaction$/i;

/** JSON schema of the options both rules accept. */
export const sendOptionProperties = {
  receiverPattern: { type: 'string' },
  sendMethods: { type: 'array', items: { type: 'string' }, uniqueItems: true },
  sendCalls: { type: 'array', items: { type: 'string' }, uniqueItems: true },
};

/** @param {AstNode} node */
export function isFunction(node) {
  return node?.type === 'FunctionDeclaration' || node?.type === 'FunctionExpression' || node?.type === 'ArrowFunctionExpression';
}

/** Strips `await`, `!`, `as T`, `<T>x`, `x satisfies T` and optional chains. @param {AstNode} node @returns {AstNode} */
export function unwrap(node) {
  let n = node;
  while (n && ['AwaitExpression', 'TSNonNullExpression', 'TSAsExpression', 'TSTypeAssertion', 'TSSatisfiesExpression', 'ChainExpression', 'ParenthesizedExpression'].includes(n.type)) {
    n = n.type === 'AwaitExpression' ? n.argument : n.expression;
  }
  return n;
}

/**
 * Source text of a callee or receiver, normalised: one line, no spaces around `.` and brackets, `?.` → `.`, no `!`.
 * @param {import('eslint').SourceCode} sourceCode @param {AstNode} node
 */
export function textOf(sourceCode, node) {
  return sourceCode.getText(node).replace(/\s+/g, ' ').replace(/ ?([.()[\],]) ?/g, '$1').replace(/\?\./g, '.').replace(/!(?=[.[(]|$)/g, '');
}

/** @param {AstNode} member @returns {string | undefined} */
function propertyName(member) {
  if (member.type !== 'MemberExpression') return undefined;
  if (!member.computed && member.property.type === 'Identifier') return member.property.name;
  if (member.computed && member.property.type === 'Literal' && typeof member.property.value === 'string') return member.property.value;
  return undefined;
}

/**
 * The method name and receiver of a call, `{ method: 'send', receiver: <producer> }`, or for a plain function
 * call `{ method: 'enqueue', receiver: undefined }`.
 * @param {AstNode} call
 * @returns {{ method: string | undefined, receiver: AstNode | undefined }}
 */
export function calleeParts(call) {
  const callee = unwrap(call.callee);
  if (callee?.type === 'MemberExpression') return { method: propertyName(callee), receiver: unwrap(callee.object) };
  if (callee?.type === 'Identifier') return { method: callee.name, receiver: undefined };
  return { method: undefined, receiver: undefined };
}

/** A string literal, a template literal without expressions or `{ text }` of one, else undefined. @param {AstNode} node @returns {string | undefined} */
function staticString(node) {
  const n = unwrap(node);
  if (!n) return undefined;
  if (n.type === 'Literal' && typeof n.value === 'string') return n.value;
  if (n.type === 'TemplateLiteral' && n.expressions.length === 0) return n.quasis[0].value.cooked ?? undefined;
  if (n.type === 'ObjectExpression') {
    const text = n.properties.find((/** @type {AstNode} */ p) => p.type === 'Property' && !p.computed && (p.key.name === 'text' || p.key.value === 'text'));
    return text ? staticString(text.value) : undefined;
  }
  return undefined;
}

/** @param {string[]} names @param {string} text */
function matchesName(names, text) {
  return names.some((name) => text === name || text.endsWith(`.${name}`));
}

/**
 * Everything the rules need about one file, built from the list of its call expressions.
 * @param {import('eslint').SourceCode} sourceCode
 * @param {AstNode[]} calls every CallExpression of the file, in source order
 * @param {SendOptions & OutboxOptions} options
 */
export function analyse(sourceCode, calls, options) {
  const receiverRe = new RegExp(options.receiverPattern ?? DEFAULT_RECEIVER_PATTERN, 'i');
  const sendMethods = options.sendMethods ?? DEFAULT_SEND_METHODS;
  const sendCalls = options.sendCalls ?? [];
  const outboxCalls = options.outboxCalls ?? DEFAULT_OUTBOX_CALLS;
  const outboxRe = new RegExp(options.outboxPattern ?? DEFAULT_OUTBOX_PATTERN, 'i');
  const text = (/** @type {AstNode} */ n) => textOf(sourceCode, n);
  const isBrokerReceiver = (/** @type {AstNode} */ r) => r !== undefined && receiverRe.test(text(r));

  /** @param {AstNode} call */
  const isSend = (call) => {
    if (matchesName(sendCalls, text(call.callee))) return true;
    const { method, receiver } = calleeParts(call);
    return method !== undefined && receiver !== undefined && sendMethods.includes(method) && isBrokerReceiver(receiver);
  };
  /** @param {AstNode} call */
  const isOutboxWrite = (call) => {
    const callee = text(call.callee);
    if (matchesName(outboxCalls, callee) || outboxRe.test(callee)) return true;
    const sql = call.arguments[0] ? staticString(call.arguments[0]) : undefined;
    return sql !== undefined && SQL_OUTBOX_INSERT.test(sql);
  };

  /** @type {{ call: AstNode, callbacks: AstNode[], label: string }[]} */
  const managed = [];
  /** @type {Region[]} */
  const regions = [];
  /** Variables holding a broker's own transaction (`await producer.transaction()`): their commit is Kafka's. */
  const brokerTxNames = new Set();

  for (const call of calls) {
    const { method, receiver } = calleeParts(call);
    if (!method || !receiver) continue;
    const fnArgs = call.arguments.filter(isFunction);
    // Kysely: db.transaction()[.setIsolationLevel(…)].execute(cb)
    if (method === 'execute' && fnArgs.length > 0 && chainHasMethod(receiver, 'transaction')) {
      managed.push({ call, callbacks: fnArgs, label: `\`${shorten(text(call.callee))}(…)\` callback` });
      continue;
    }
    if (MANAGED_METHODS.has(method)) {
      if (isBrokerReceiver(receiver)) {
        const target = assignedName(call);
        if (target) brokerTxNames.add(target);
        continue;
      }
      if (fnArgs.length > 0) {
        managed.push({ call, callbacks: fnArgs, label: `\`${shorten(text(call.callee))}(…)\` callback` });
      } else if (method === '$transaction' && unwrap(call.arguments[0])?.type === 'ArrayExpression') {
        managed.push({ call, callbacks: [], label: `\`${shorten(text(call.callee))}([…])\`` });
      } else if (method === 'transaction') {
        // Unmanaged: `const t = await sequelize.transaction()` (Sequelize, Knex) … `t.commit()`.
        const name = assignedName(call);
        if (name) regions.push(varRegion(call, name, `\`${name} = ${shorten(text(call.callee))}()\``));
      }
      continue;
    }
    if (method === 'startTransaction') {
      const execute = call.parent?.type === 'MemberExpression' && propertyName(call.parent) === 'execute' && call.parent.parent?.type === 'CallExpression' ? call.parent.parent : undefined;
      const name = execute ? assignedName(execute) : undefined;
      if (name) {
        // Kysely: const trx = await db.startTransaction().execute() … trx.commit().execute()
        regions.push(varRegion(call, name, `\`${name} = ${shorten(text(call.callee))}()\``));
      } else if (!isBrokerReceiver(receiver)) {
        // TypeORM: queryRunner.startTransaction() … queryRunner.commitTransaction()
        const key = text(receiver);
        regions.push({ start: call, fn: enclosingFunction(call), label: `\`${key}.startTransaction()\``, ends: [], isEnd: (c) => sameReceiver(c, key, ['commitTransaction', 'rollbackTransaction']) });
      }
      continue;
    }
    if (method === 'query' && call.arguments[0]) {
      const sql = staticString(call.arguments[0]);
      if (sql !== undefined && SQL_BEGIN.test(sql)) {
        const key = text(receiver);
        regions.push({
          start: call,
          fn: enclosingFunction(call),
          label: `\`${key}.query('${sql.trim().split(/\s+/)[0]}')\``,
          ends: [],
          isEnd: (c) => {
            const parts = calleeParts(c);
            if (parts.method !== 'query' || !parts.receiver || text(parts.receiver) !== key || !c.arguments[0]) return undefined;
            const s = staticString(c.arguments[0]);
            if (s === undefined) return undefined;
            return SQL_COMMIT.test(s) ? 'commit' : SQL_ROLLBACK.test(s) ? 'rollback' : undefined;
          },
        });
      }
    }
  }

  /** @param {AstNode} call @param {string} name @param {string} label @returns {Region} */
  function varRegion(call, name, label) {
    return {
      start: call,
      fn: enclosingFunction(call),
      label,
      ends: [],
      isEnd: (c) => {
        const parts = calleeParts(c);
        if (parts.receiver?.type !== 'Identifier' || parts.receiver.name !== name) return undefined;
        return parts.method === 'commit' ? 'commit' : parts.method === 'rollback' ? 'rollback' : undefined;
      },
    };
  }

  /** @param {AstNode} c @param {string} key @param {[string, string]} methods @returns {'commit' | 'rollback' | undefined} */
  function sameReceiver(c, key, [commit, rollback]) {
    const parts = calleeParts(c);
    if (!parts.receiver || text(parts.receiver) !== key) return undefined;
    return parts.method === commit ? 'commit' : parts.method === rollback ? 'rollback' : undefined;
  }

  for (const region of regions) {
    for (const call of calls) {
      if (call.range[0] < region.start.range[1] || !within(call, region.fn)) continue;
      const kind = region.isEnd(call);
      if (kind) region.ends.push({ call, kind });
    }
  }

  const sends = calls.filter(isSend);
  const outboxWrites = calls.filter(isOutboxWrite);
  const callbackSet = new Map(managed.flatMap((m) => m.callbacks.map((cb) => /** @type {[AstNode, typeof m]} */ ([cb, m]))));

  /**
   * The transaction scope a send is in, if any: a managed callback it sits in, or an unmanaged region it sits in
   * (after the begin, and before a commit/rollback of it — or no commit/rollback at all in that function).
   * @param {AstNode} send @returns {string | undefined} a label of the scope
   */
  function scopeOf(send) {
    for (let n = send.parent; n; n = n.parent) {
      const m = callbackSet.get(n);
      if (m) return m.label;
    }
    for (const region of regions) {
      if (send.range[0] < region.start.range[1] || !within(send, region.fn)) continue;
      if (region.ends.length === 0 || region.ends.some((e) => e.call.range[0] > send.range[1])) return region.label;
    }
    return undefined;
  }

  /**
   * Commits: a managed transaction call (it has committed when it returns), the commit of an unmanaged region,
   * and `.commit()` on a transaction-like name this file did not open (a parameter `t`, `tx`, `transaction`).
   * `outboxed` is true when an outbox write flows into that commit.
   * @returns {{ call: AstNode, label: string, outboxed: boolean }[]}
   */
  function commits() {
    /** @type {{ call: AstNode, label: string, outboxed: boolean }[]} */
    const out = [];
    const seen = new Set();
    for (const m of managed) {
      out.push({ call: m.call, label: `\`${shorten(text(m.call.callee))}(…)\``, outboxed: outboxWrites.some((w) => m.call.arguments.some((/** @type {AstNode} */ a) => within(w, a))) });
    }
    for (const region of regions) {
      for (const end of region.ends) {
        seen.add(end.call);
        if (end.kind !== 'commit') continue;
        out.push({ call: end.call, label: `\`${shorten(text(end.call))}\``, outboxed: outboxWrites.some((w) => w.range[0] > region.start.range[1] && w.range[1] < end.call.range[0] && reaches(w, end.call)) });
      }
    }
    for (const call of calls) {
      if (seen.has(call)) continue;
      const { method, receiver } = calleeParts(call);
      if (method !== 'commit' || !receiver || call.arguments.length > 0) continue;
      const name = receiver.type === 'Identifier' ? receiver.name : receiver.type === 'MemberExpression' ? propertyName(receiver) : undefined;
      if (!name || !TX_NAME.test(name) || brokerTxNames.has(name) || isBrokerReceiver(receiver)) continue;
      const fn = enclosingFunction(call);
      out.push({ call, label: `\`${shorten(text(call))}\``, outboxed: outboxWrites.some((w) => w.range[1] < call.range[0] && within(w, fn) && reaches(w, call)) });
    }
    return out;
  }

  return { sends, scopeOf, commits, text };
}

/**
 * @typedef {object} Region an unmanaged transaction: from `start` to its commit/rollback calls in `fn`
 * @property {AstNode} start
 * @property {AstNode} fn the function (or Program) the region lives in
 * @property {string} label
 * @property {{ call: AstNode, kind: 'commit' | 'rollback' }[]} ends
 * @property {(call: AstNode) => 'commit' | 'rollback' | undefined} isEnd
 */

/** @param {string} s */
export function shorten(s) {
  return s.length > 60 ? `${s.slice(0, 57)}…` : s;
}

/** @param {AstNode} node @param {AstNode} container */
export function within(node, container) {
  return node.range[0] >= container.range[0] && node.range[1] <= container.range[1];
}

/** @param {AstNode} node @returns {AstNode} the nearest enclosing function, or the Program */
export function enclosingFunction(node) {
  let n = node.parent;
  while (n && !isFunction(n) && n.type !== 'Program') n = n.parent;
  return n ?? node;
}

/** True when a member/call chain below `node` calls `.method(…)`: `db.transaction().setIsolationLevel(x)`. @param {AstNode} node @param {string} method */
function chainHasMethod(node, method) {
  for (let n = unwrap(node); n; ) {
    if (n.type === 'CallExpression') {
      const callee = unwrap(n.callee);
      if (callee?.type !== 'MemberExpression') return false;
      if (propertyName(callee) === method) return true;
      n = unwrap(callee.object);
    } else if (n.type === 'MemberExpression') {
      n = unwrap(n.object);
    } else {
      return false;
    }
  }
  return false;
}

/** The variable a call's (awaited) result goes to: `const t = await x.transaction()`, `t = …`. @param {AstNode} call @returns {string | undefined} */
function assignedName(call) {
  let n = call;
  while (n.parent && ['AwaitExpression', 'TSNonNullExpression', 'TSAsExpression', 'ChainExpression', 'ParenthesizedExpression'].includes(n.parent.type)) n = n.parent;
  const p = n.parent;
  if (p?.type === 'VariableDeclarator' && p.init === n && p.id.type === 'Identifier') return p.id.name;
  if (p?.type === 'AssignmentExpression' && p.right === n && p.left.type === 'Identifier') return p.left.name;
  return undefined;
}

const STOP = Symbol('stop');

/** The statement holding `node` directly in a statement list (block, program, switch case); null past a function. @param {AstNode} node */
function listStatement(node) {
  let cur = node;
  while (cur.parent) {
    const p = cur.parent;
    if (isFunction(p)) return null;
    if (p.type === 'BlockStatement' || p.type === 'Program' || p.type === 'StaticBlock') return cur;
    if (p.type === 'SwitchCase' && p.consequent.includes(cur)) return cur;
    cur = p;
  }
  return null;
}

/** @param {AstNode} s */
function terminates(s) {
  return s.type === 'ReturnStatement' || s.type === 'ThrowStatement' || s.type === 'BreakStatement' || s.type === 'ContinueStatement';
}

/**
 * Visits the statements that run after `from` in the same function, in order: the rest of its block, then the
 * rest of each enclosing block (after an `if`, a loop, a `try` — a catch clause is skipped, it runs only on
 * error). Stops at a return/throw/break/continue, at the function's end, or when `visit` returns STOP.
 * @param {AstNode} from @param {(statement: AstNode) => unknown} visit
 */
export function walkForward(from, visit) {
  let stmt = listStatement(from);
  if (stmt && terminates(stmt)) return;
  while (stmt) {
    const container = stmt.parent;
    const list = container.type === 'SwitchCase' ? container.consequent : container.body;
    for (const s of list.slice(list.indexOf(stmt) + 1)) {
      if (visit(s) === STOP) return;
      if (terminates(s)) return;
    }
    if (container.type === 'Program') return;
    if (container.type === 'SwitchCase') {
      stmt = listStatement(container.parent);
      continue;
    }
    const owner = container.parent;
    if (!owner || isFunction(owner)) return;
    stmt = owner.type === 'CatchClause' ? listStatement(owner.parent) : listStatement(owner);
  }
}

/** True when control flows from `from` to `to` in the walk above (no return/throw in between). @param {AstNode} from @param {AstNode} to */
function reaches(from, to) {
  const fromStmt = listStatement(from);
  if (fromStmt && within(to, fromStmt)) return true;
  let found = false;
  walkForward(from, (s) => {
    if (within(to, s)) {
      found = true;
      return STOP;
    }
    return undefined;
  });
  return found;
}

/**
 * The rule listener both rules share: collects every call of the file, then hands the file's analysis to
 * `onExit` once the whole file was seen.
 * @param {any} context the rule's context
 * @param {(a: ReturnType<typeof analyse>) => void} onExit
 */
export function onAnalysedFile(context, onExit) {
  /** @type {any[]} */
  const calls = [];
  return {
    /** @param {any} node */
    CallExpression(node) {
      calls.push(node);
    },
    'Program:exit'() {
      onExit(analyse(context.sourceCode, calls, context.options[0] ?? {}));
    },
  };
}
