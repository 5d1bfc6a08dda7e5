/** Where each rule is documented: the package README (rendered on npm), one section per rule. */
export const DOCS_BASE = 'https://www.npmjs.com/package/eslint-plugin-dual-write';

/** @param {string} ruleName */
export function docsUrl(ruleName) {
  return `${DOCS_BASE}#${ruleName}`;
}
