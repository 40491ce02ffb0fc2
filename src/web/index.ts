// Front door of the web room: the dashboard and its admin HTTP API.
export { createDashboard, isLoopback, startDashboard } from './server.js';
export type { Dashboard, DashboardOptions, RunningDashboard, StartDashboardOptions } from './server.js';
export { checkKeys, MIN_KEY_LENGTH, roleOfKey, SESSION_COOKIE } from './auth.js';
export type { Role } from './auth.js';
export { CALL_STATUSES, DashboardData, callRow, computeStats } from './data.js';
export type { CallFilter, CallRow, CounterView, ServerView, Stats, ToolView } from './data.js';
