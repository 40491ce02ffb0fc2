// Split tool names and prose into lower-case word tokens.

/**
 * Tokenise an identifier in any naming style: snake_case, kebab-case, camelCase, PascalCase,
 * dotted, slashed, or prefixed (`mcp__github__create_issue`, `getJSONData` → get, json, data).
 * Digits stay attached to the word they follow (`d1`, `hyper3d`).
 */
export function tokenizeName(name: string): string[] {
  const spaced = name
    // lower or digit followed by upper: getJira → get Jira
    .replace(/([a-z0-9])([A-Z])/g, '$1 $2')
    // run of capitals followed by a capitalised word: JSONData → JSON Data
    .replace(/([A-Z]+)([A-Z][a-z])/g, '$1 $2');
  return spaced
    .split(/[^A-Za-z0-9]+/)
    .filter((t) => t.length > 0)
    .map((t) => t.toLowerCase());
}

/** Words of a prose text (descriptions), lower-case, in order; with `commas`, commas are tokens too. */
export function tokenizeText(text: string, commas = false): string[] {
  const lower = text.toLowerCase();
  return (commas ? lower.replace(/,/g, ' , ') : lower).split(commas ? /[^a-z0-9,]+/ : /[^a-z0-9]+/).filter((t) => t.length > 0);
}
