# syntax=docker/dockerfile:1
# imgpath: on-the-fly image delivery server.
#   docker build -t imgpath .
#   docker run -p 3000:3000 -v imgpath-data:/app/data -v imgpath-cache:/app/cache imgpath
# TypeScript runs directly through tsx (a runtime dependency): there is no build output to copy.

# ---- build: install dependencies with the toolchain native modules may need ----
FROM node:22-bookworm-slim AS build
WORKDIR /app
# better-sqlite3 compiles from source when no prebuilt binary matches the platform.
RUN apt-get update \
 && apt-get install -y --no-install-recommends python3 make g++ \
 && rm -rf /var/lib/apt/lists/*
COPY package.json package-lock.json ./
RUN npm ci --no-audit --no-fund
# tsconfig.json tells tsx how to compile (ES2022 class fields, NodeNext modules).
COPY tsconfig.json ./
COPY bin ./bin
COPY src ./src
COPY samples ./samples
# Dev tools (vitest, drizzle-kit, typescript…) stay in this stage.
RUN npm prune --omit=dev --no-audit --no-fund

# ---- runtime: no compiler, no dev dependencies, not root ----
FROM node:22-bookworm-slim
# jpegtran: lossless baseline copies of progressive JPEG originals, decoded in their place (ORIGINALS_CACHE_MB).
RUN apt-get update && apt-get install -y --no-install-recommends libjpeg-turbo-progs && rm -rf /var/lib/apt/lists/*
# MALLOC_ARENA_MAX: glibc's per-thread arenas inflate RSS under sustained renders (bench: ~600 MB -> ~370 MB).
# UV_THREADPOOL_SIZE: each running render holds a libuv pool thread, and cache hits and original reads
# need one too; libuv's default of 4 is filled by RENDER_CONCURRENCY=4 (its default on a 4-core host).
# 8 = 4 renders + 4 for I/O; use RENDER_CONCURRENCY + 4 on bigger hosts (start-up warns when too small).
# It must be set here, in the environment: libuv reads it before imgpath's own code runs.
ENV NODE_ENV=production \
    HOST=0.0.0.0 \
    PORT=3000 \
    DATA_DIR=/app/data \
    CACHE_DIR=/app/cache \
    MALLOC_ARENA_MAX=2 \
    UV_THREADPOOL_SIZE=8
WORKDIR /app
# Code is owned by root and read-only for the server; only data/ and cache/ are writable.
COPY --from=build /app/package.json /app/tsconfig.json ./
COPY --from=build /app/node_modules ./node_modules
COPY --from=build /app/bin ./bin
COPY --from=build /app/src ./src
COPY --from=build /app/samples ./samples
# /app/inbox: a drop folder several nodes share (docker-compose.scale.yml); a named volume mounted
# there starts with this directory's owner, so the server can move imported files out of it.
RUN mkdir -p /app/data /app/cache /app/inbox && chown node:node /app/data /app/cache /app/inbox
USER node
VOLUME ["/app/data", "/app/cache"]
EXPOSE 3000
# Liveness through node's own fetch: the slim image has no curl or wget.
HEALTHCHECK --interval=30s --timeout=5s --start-period=30s --retries=3 \
  CMD ["node", "-e", "fetch('http://127.0.0.1:'+(process.env.PORT||3000)+'/healthz').then(r=>process.exit(r.ok?0:1),()=>process.exit(1))"]
# Node is PID 1 and handles SIGTERM itself (drain, flush the cache, close the DB). Give it
# more than SHUTDOWN_TIMEOUT_MS: `docker stop -t 30`, or stop_grace_period in compose.
STOPSIGNAL SIGTERM
CMD ["node", "bin/imgpath.js", "serve"]
