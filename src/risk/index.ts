// Front door of the risk room: classify tools, scan servers, write policy scaffolds.
export * from './types.js';
export { classifyTool, classifyToolDetail, classifyTools, type ClassificationDetail } from './classify.js';
export { tokenizeName } from './tokenize.js';
export { parseToolList, toolsFrom, ToolListError } from './tools.js';
