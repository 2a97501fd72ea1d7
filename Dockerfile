# syntax=docker/dockerfile:1
# One Dockerfile for every Flotilla service, and for the tunnel agent. A service image holds the
# whole built workspace; the SERVICE build argument picks the service it runs (FLOTILLA_SERVICE
# overrides it at run time):
#   docker build --build-arg SERVICE=inventory -t flotilla/inventory .
#   docker run -e DATABASE_URL=... -e NATS_URL=... -p 8080:8080 flotilla/inventory
# Stages: base -> manifests (package files only) -> deps (npm ci) -> build (tsc -b, then prune to
# production dependencies) -> runtime (non-root, the default target).
#
# The tunnel agent, which runs in workload clusters, is its own small image: its code, the tunnel
# library and their production dependencies only, as uid 65532. Tag it with the version of
# agents/tunnel-agent/package.json, the one the importer's manifests name by default:
#   docker build --target tunnel-agent -t flotilla/tunnel-agent:0.1.0 .
# Stages: manifests -> tunnel-agent-deps (npm ci of the agent's workspace, production only);
# deps -> tunnel-agent-build (tsc -b of the agent and the tunnel library) -> tunnel-agent.
#
# The fleet dashboard is an nginx image of its static build: deps -> dashboard-build -> dashboard.
#   docker build --target dashboard -t flotilla/dashboard .

ARG NODE_IMAGE=node:20-bookworm-slim

FROM ${NODE_IMAGE} AS base
WORKDIR /app
ENV NPM_CONFIG_UPDATE_NOTIFIER=false \
    NPM_CONFIG_FUND=false \
    NPM_CONFIG_AUDIT=false

# Just the package manifests, in their directories, so `npm ci` reruns only when one changes
# (COPY --from is cached by content). Found with find, so a new workspace needs no edit here.
FROM base AS manifests
COPY . /src
RUN cd /src \
 && find . -name node_modules -prune -o -type f \( -name package.json -o -name package-lock.json -o -name .npmrc \) -print \
    | tar -cf - -T - | tar -xf - -C /app

FROM base AS deps
COPY --from=manifests /app/ ./
RUN --mount=type=cache,target=/root/.npm npm ci

FROM deps AS build
COPY . .
# The root tsconfig references every project; services are named as well in case one is not yet.
RUN npx tsc -b tsconfig.json $(ls services/*/tsconfig.json 2>/dev/null) \
 && npm prune --omit=dev \
 && find libs services agents -name node_modules -prune -o -type f \
      \( -name '*.tsbuildinfo' -o -name '*.spec.js' -o -name '*.spec.js.map' -o -name '*.spec.d.ts' -o -name '*.spec.d.ts.map' \) \
      -exec rm -f {} +

# The tunnel agent: only its workspace's production dependencies (no service's), ...
FROM base AS tunnel-agent-deps
COPY --from=manifests /app/ ./
RUN --mount=type=cache,target=/root/.npm npm ci --omit=dev --workspace @flotilla/tunnel-agent

# ... its code and the tunnel library's, built alone, without tests or the test kit.
FROM deps AS tunnel-agent-build
COPY tsconfig.base.json ./
COPY libs/tunnel libs/tunnel
COPY agents/tunnel-agent agents/tunnel-agent
RUN npx tsc -b agents/tunnel-agent/tsconfig.app.json \
 && rm -rf libs/tunnel/dist/src/testing \
 && find libs/tunnel/dist agents/tunnel-agent/dist -type f \
      \( -name '*.tsbuildinfo' -o -name '*.spec.js' -o -name '*.spec.js.map' -o -name '*.spec.d.ts' -o -name '*.spec.d.ts.map' \) \
      -exec rm -f {} +

FROM base AS tunnel-agent
ENV NODE_ENV=production
COPY --from=tunnel-agent-deps /app/ ./
COPY --from=tunnel-agent-build /app/libs/tunnel/dist/src libs/tunnel/dist/src
COPY --from=tunnel-agent-build /app/agents/tunnel-agent/dist/src agents/tunnel-agent/dist/src
# The uid the manifest runs it as (runAsNonRoot); files stay owned by root, read-only to it.
USER 65532:65532
# exec form: node is the container's main process and gets SIGTERM itself.
ENTRYPOINT ["node", "--enable-source-maps", "agents/tunnel-agent/dist/src/main.js"]

# The fleet dashboard: its static build in an nginx image, behind the entry point's `/`
# (deploy/nginx/dashboard.conf.template). FLOTILLA_TRACE_VIEWER_URL links trace ids to a viewer.
#   docker build --target dashboard -t flotilla/dashboard .
FROM deps AS dashboard-build
COPY tsconfig.base.json ./
COPY clients/dashboard clients/dashboard
RUN npx tsc -b clients/dashboard/tsconfig.json \
 && cd clients/dashboard && npx vite build --logLevel warn

FROM nginx:1.27-alpine AS dashboard
ENV FLOTILLA_TRACE_VIEWER_URL=""
COPY deploy/nginx/dashboard.conf.template /etc/nginx/templates/default.conf.template
COPY --from=dashboard-build /app/clients/dashboard/dist/app /usr/share/nginx/html
EXPOSE 8080

FROM base AS runtime
ARG SERVICE
ENV NODE_ENV=production \
    FLOTILLA_SERVICE=${SERVICE}
# Files stay owned by root: the service can read its code but not change it.
COPY --from=build /app/ ./
RUN if [ -z "$SERVICE" ]; then \
      echo 'build with --build-arg SERVICE=<inventory|provisioner|importer|upgrade-planner|tunnel-broker>' >&2; exit 1; \
    fi \
 && if [ ! -f "services/$SERVICE/dist/src/main.js" ]; then \
      echo "services/$SERVICE/dist/src/main.js was not built" >&2; exit 1; \
    fi
USER node
# exec: node becomes the container's main process and gets SIGTERM from `docker stop` directly.
CMD ["sh", "-c", "exec node --enable-source-maps --import @flotilla/telemetry/register \"services/$FLOTILLA_SERVICE/dist/src/main.js\""]
