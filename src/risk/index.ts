// Front door of the risk room: classify tools, scan servers, write policy scaffolds.
export * from './types.js';
export { classifyTool, classifyToolDetail, type ClassificationDetail } from './classify.js';
export { classifyTools, classifyToolsDetail, inListing } from './listing.js';
export { tokenizeName } from './tokenize.js';
export { parseToolList, toolsFrom, ToolListError } from './tools.js';
export { buildScaffold, toolRuleLines, RECOMMENDED_RATE, SPEND_CAP_PLACEHOLDER, type ScaffoldOptions } from './scaffold.js';
export { scanServer, collectTools, parseHeaders, ScanError, type ScanTarget, type ScanResult, type ScanOptions, type ListPage } from './scan.js';
export { formatTable } from './table.js';
export { toolPage, formatToolPage, type ToolPage, type AttackPattern } from './page.js';
export { ATTACK_PAGES, attackPagesFor, type AttackPage } from './attack-pages.js';
