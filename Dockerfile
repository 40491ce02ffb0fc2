# syntax=docker/dockerfile:1
# toolgate serve in a container: one gateway for many MCP servers, with its
# dashboard, state in a volume. See the README's "Container" section, and
# compose.yaml for toolgate + Redis + PostgreSQL.
#
# NOT BUILT OR RUN IN THIS PROJECT'S CI: the machines it runs on reach only the
# npm registry and Debian's packages, so no base image can be pulled.

# ---- build: compile, pack, and install the package as users do ----------------
FROM node:20-bookworm-slim AS build
RUN apt-get update \
 && apt-get install -y --no-install-recommends python3 make g++ \
 && rm -rf /var/lib/apt/lists/*
WORKDIR /src
COPY package.json package-lock.json ./
# The build needs TypeScript and esbuild only; the native SQLite module is built below, once.
RUN npm ci --ignore-scripts --no-audit --no-fund
COPY . .
RUN npm run build && npm pack --ignore-scripts --pack-destination /tmp
WORKDIR /opt/toolgate
RUN echo '{ "private": true }' > package.json \
 && npm install --omit=dev --no-audit --no-fund /tmp/toolgate-*.tgz

# ---- run: the installed package on a slim Node, as the unprivileged node user ----
FROM node:20-bookworm-slim
ENV NODE_ENV=production \
    TOOLGATE_HOME=/data \
    npm_config_cache=/data/.npm \
    npm_config_update_notifier=false
COPY --from=build /opt/toolgate /opt/toolgate
RUN ln -s /opt/toolgate/node_modules/.bin/toolgate /usr/local/bin/toolgate \
 && mkdir -p /data /config \
 && chown node:node /data
# Counters, approvals, pins, the audit spool, and npx's cache for servers started with npx:
# the only writable place, so the root filesystem can be mounted read-only (plus a /tmp tmpfs).
VOLUME /data
USER node
WORKDIR /config
EXPOSE 8080
HEALTHCHECK --interval=30s --timeout=5s --start-period=30s --retries=3 \
  CMD ["node", "-e", "fetch('http://127.0.0.1:' + (process.env.TOOLGATE_PORT || 8080) + '/healthz').then((r) => process.exit(r.ok ? 0 : 1), () => process.exit(1))"]
ENTRYPOINT ["toolgate"]
CMD ["serve", "-c", "/config/toolgate.yaml", "--bind", "0.0.0.0", "--log-format", "json"]
