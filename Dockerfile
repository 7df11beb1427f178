# kata-otel-monitor image: build with Node 24, run on distroless Node 24.
#   docker build -t kata-otel-monitor:$(node -p 'require("./package.json").version') .
# Deployment: deploy/kubernetes/ (kubectl apply -k deploy/kubernetes).

# ---- build: compile TypeScript, then keep only the runtime dependencies ----
FROM node:24-slim AS build
WORKDIR /src
# Dependencies first, so source edits reuse this layer. --ignore-scripts: the
# `prepare` script would compile before the sources are copied in, and the
# `node` devDependency (Node 24 for CI machines whose own node is older) would
# download a second Node this image already has; its bin link is removed so
# npm scripts use the image's node. No dependency has a native part to build.
COPY package.json package-lock.json ./
RUN npm ci --no-audit --no-fund --ignore-scripts \
 && rm -f node_modules/.bin/node
COPY tsconfig.json tsconfig.build.json ./
COPY src/ src/
RUN npm run build \
 && npm prune --omit=dev --no-audit --no-fund \
 && npm cache clean --force

# ---- runtime ----
# distroless: no shell, no package manager, glibc + Node only. Its :nonroot
# variant runs as uid 65532, which is the right default for a container that
# only needs to serve HTTP (e.g. `-demo`). On a Kata node the DaemonSet
# overrides it with runAsUser: 0, because the shims' and containerd's unix
# sockets are root-owned and writable by their owner only; it then drops
# every capability, so uid 0 gets nothing beyond owning those files. See
# deploy/kubernetes/daemonset.yaml.
FROM gcr.io/distroless/nodejs24-debian12:nonroot
WORKDIR /app
ENV NODE_ENV=production
COPY --from=build /src/package.json ./package.json
COPY --from=build /src/node_modules ./node_modules
COPY --from=build /src/dist ./dist
# Read at run time: the CRI protos, the default configuration, and the
# recorded shim bodies the -demo mode serves.
COPY proto/ ./proto/
COPY config/ ./config/
COPY otel-config.example.yaml ./
COPY test/fixtures/ ./test/fixtures/
USER 65532:65532
EXPOSE 8090
# SIGTERM is handled by the daemon (graceful stop, final OTLP push); Node as
# PID 1 is fine: it starts no child processes to reap.
ENTRYPOINT ["/nodejs/bin/node", "--max-semi-space-size=2", "--expose-gc", "/app/dist/src/bin.js"]
# Upstream's default listen address is loopback; in a container that is
# unreachable, so the image listens on every interface unless told otherwise.
CMD ["-listen-address=0.0.0.0:8090"]
