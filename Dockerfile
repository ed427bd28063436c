# mcp-gateway container image: a small Debian node base, production dependencies only, non-root.
#   docker build -t mcp-gateway .
#   docker run -p 39400:39400 -v "$PWD/deploy:/etc/mcp-gateway:ro" -e MCP_GATEWAY_TOKEN=... mcp-gateway
# The config is read from /etc/mcp-gateway/gateway.yaml (mount a folder there; capability_dirs
# and relative paths in it resolve against that folder). It must bind 0.0.0.0 to be reachable,
# which the gateway allows only with `auth` (see deploy/gateway.yaml).

# Build stage: devDependencies (esbuild) bundle src/ into dist/.
FROM node:20-bookworm-slim AS build
WORKDIR /app
COPY package.json package-lock.json ./
# --ignore-scripts: `prepare` would build before the sources are here; the build runs below.
RUN npm ci --ignore-scripts --no-audit --no-fund
COPY tsconfig.json ./
COPY scripts ./scripts
COPY src ./src
RUN node scripts/build.mjs

# Runtime stage: production dependencies and the bundle only.
FROM node:20-bookworm-slim
ENV NODE_ENV=production
WORKDIR /app
COPY package.json package-lock.json ./
RUN npm ci --omit=dev --ignore-scripts --no-audit --no-fund && npm cache clean --force
COPY --from=build /app/dist ./dist
# The image's unprivileged user (uid 1000); backends the gateway starts run as this user too.
USER node
EXPOSE 39400
ENTRYPOINT ["node", "/app/dist/cli.js"]
CMD ["--config", "/etc/mcp-gateway/gateway.yaml"]
