// Front door of the web room: the dashboard and its admin HTTP API.
export { createDashboard, isLoopback, startDashboard } from './server.js';
export type { Dashboard, DashboardOptions, RunningDashboard, StartDashboardOptions } from './server.js';
export { checkKeys, MIN_KEY_LENGTH, roleOfKey, SESSION_COOKIE } from './auth.js';
export type { Role } from './auth.js';
export { DashboardData } from './data.js';
export { CALL_STATUSES, callRow } from './calls.js';
export { computeStats } from './stats.js';
export type { CallFilter, CallRow } from './calls.js';
export type { CounterView } from './counters.js';
export type { ServerView, ToolView } from './catalogue.js';
export type { Stats } from './stats.js';
