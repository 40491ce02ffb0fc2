// Front door of the serve room: one gateway for many MCP servers.
export { loadGatewayConfig, parseGatewayConfig, looksLikeGatewayConfig, DEFAULT_SEPARATOR, SERVER_NAME } from './config.js';
export type { ConfigIo, ConfigResult, DashboardConfig, GatewayConfig, ListenConfig, ServerConfig } from './config.js';
export { Aggregator, AGG_PREFIX } from './aggregate.js';
export type { AggregatorOptions, MemberBinding, MemberHooks } from './aggregate.js';
export { HealthBoard, SupervisedUpstream } from './supervisor.js';
export type { BackoffOptions, ConnectionState, ServerHealthView, SupervisorOptions } from './supervisor.js';
export { startServeGateway } from './gateway.js';
export type { RunningServe, ServeGatewayOptions } from './gateway.js';
