// Policies for the benchmarks: realistic shapes, limits high enough never to deny.

/** 50 rules: argument conditions, rate limits and a spend counter on the benchmarked tool, others on 12 more tools, and a wildcard rule. */
export function fiftyRulePolicy(): string {
  const lines = ['version: "1"', 'description: "benchmark: 50 rules"', 'hide:', '  - tool_49', 'tools:'];
  let rules = 0;
  const rule = (body: string[]) => {
    rules++;
    return body.map((l) => `      ${l}`);
  };
  lines.push('  echo:', '    rules:');
  lines.push(...rule(['- name: "message present"', '  conditions:', '    - { path: "args.message", op: "exists", value: true }']));
  lines.push(...rule(['- name: "no secrets"', '  conditions:', '    - { path: "args.message", op: "regex", value: "^[^%]*$" }']));
  lines.push(...rule(['- name: "not forbidden"', '  conditions:', '    - { path: "args.message", op: "not_in", value: ["drop", "truncate", "rm -rf"] }']));
  lines.push(...rule(['- name: "echo per minute"', '  rate_limit: 100000000/minute']));
  lines.push(
    ...rule([
      '- name: "echo per day"',
      '  conditions:',
      '    - { path: "state.echo.daily", op: "lte", value: 1000000000 }',
      '  state: { counter: "daily", window: "day" }',
    ]),
  );
  for (let t = 1; rules < 49; t++) {
    lines.push(`  tool_${t}:`, '    rules:');
    for (let r = 0; r < 4 && rules < 49; r++) {
      lines.push(
        ...rule([
          `- name: "tool ${t} rule ${r}"`,
          '  conditions:',
          `    - { path: "args.amount", op: "lte", value: ${1000 * (r + 1)} }`,
          `    - { path: "args.message", op: "neq", value: "blocked-${r}" }`,
        ]),
      );
    }
  }
  lines.push('  "*":', '    rules:');
  lines.push(...rule(['- name: "global rate limit"', '  rate_limit: 100000000/minute']));
  return lines.join('\n') + '\n';
}

/** 1,000 tools with two rules each, plus a wildcard rule. */
export function thousandToolPolicy(): string {
  const lines = ['version: "1"', 'default: deny', 'tools:'];
  for (let t = 0; t < 1000; t++) {
    lines.push(`  tool_${t}:`, '    rules:');
    lines.push(`      - name: "t${t} cap"`, '        conditions:', `          - { path: "args.amount", op: "lte", value: ${t + 1} }`);
    lines.push(`      - name: "t${t} currency"`, '        conditions:', '          - { path: "args.currency", op: "in", value: ["usd", "eur"] }');
  }
  lines.push('  "*":', '    rules:', '      - name: "wildcard"', '        conditions:', '          - { path: "args.currency", op: "exists", value: true }');
  return lines.join('\n') + '\n';
}
