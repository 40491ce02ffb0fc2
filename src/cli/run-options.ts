// The gateway's flags as commander hands them over (run.ts declares them), before runtime-config.ts and
// listen.ts map them to typed configs.
export interface RunOptions {
  config?: string;
  stateDir?: string;
  stateDsn?: string;
  statePrefix?: string;
  stateFailMode?: string;
  logLevel: string;
  logFormat?: string;
  /** The event log's field names: toolgate's, or Intercept's (`--events-format intercept`). */
  eventsFormat?: 'toolgate' | 'intercept';
  transport?: string;
  upstream?: string;
  header?: string[];
  bind?: string;
  port?: string;
  identity?: string;
  upstreamTransport?: string;
  upstreamProtocol?: string;
  apiKey?: string[];
  apiKeyFile?: string;
  insecureNoAuth?: boolean;
  allowedHost?: string[];
  allowedOrigin?: string[];
  maxSessions?: string;
  sessionIdleTimeout?: string;
  sessionMode?: string;
  maxBodyBytes?: string;
  maxDepth?: string;
  maxKeys?: string;
  maxBatch?: string;
  maxMessageBytes?: string;
  pin: string;
  serverName?: string;
  auditDsn?: string;
  auditRetention?: string;
  auditHmacKeyFile?: string;
  mode?: string;
  jwtKeyFile?: string;
  jwtJwksUrl?: string;
  jwtClaim?: string;
  jwtIssuer?: string;
  jwtAudience?: string;
  oauth?: string;
  oauthIssuer?: string;
  upstreamOauth?: boolean;
  upstreamTokenExchange?: string;
  tokenKeyFile?: string;
  metricsPort?: string;
  metricsBind?: string;
  metricsKey?: string;
  metricsKeyFile?: string;
  otlpEndpoint?: string;
  enableAdminApi?: boolean;
  adminAddr?: string;
  approvalWebhookSecretFile?: string;
}
