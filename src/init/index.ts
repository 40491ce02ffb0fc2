// Front door of the init room: find MCP client configs, choose per tool on a local page, write
// one policy per server and run every server through toolgate (with a backup and --undo).
export { clientConfigLocations, type ClientConfigLocation, type LocateOptions } from './clients.js';
export { ConfigError, isWrapped, parseConfigText, readConfigFile, rewriteServer, writeFileAtomic, type ConfigFile, type FoundServer } from './config-file.js';
export { Backups, type BackupEntry } from './backup.js';
export { ACTIONS, policyFor, recommend, type InitAction, type ToolChoice } from './policy.js';
export { discover, recommendedRequest, save, savable, type InitOptions, type Plan, type PlannedServer, type SaveResult } from './plan.js';
export { startInitPage, type InitPage } from './server.js';
