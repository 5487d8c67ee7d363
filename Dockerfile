# syntax=docker/dockerfile:1
# Multi-stage: the build stage compiles TypeScript, the WebAssembly kernels and the native addon;
# the runtime stage carries only production dependencies, the build outputs and system ffmpeg.

FROM node:20-bookworm AS build
WORKDIR /app
# g++, make and python3 come with the node image; node-gyp builds the native kernels against it.
# The whole tree goes in before `npm ci`: its install/prepare scripts build the native addon, the
# TypeScript, the WebAssembly kernels and the dashboard, which need native/, src/, assembly/ and web/.
COPY . .
RUN npm ci && npm prune --omit=dev

FROM node:20-bookworm-slim AS runtime
RUN apt-get update \
 && apt-get install -y --no-install-recommends ffmpeg tini \
 && rm -rf /var/lib/apt/lists/*
WORKDIR /app
ENV NODE_ENV=production FFMPEG_PATH=/usr/bin/ffmpeg XNORCAM_LOG_FORMAT=json
COPY --from=build /app/package.json ./
COPY --from=build /app/node_modules ./node_modules
COPY --from=build /app/dist ./dist
COPY --from=build /app/build ./build
COPY --from=build /app/native/build ./native/build
COPY --from=build /app/bin ./bin
COPY --from=build /app/models ./models
COPY --from=build /app/pipelines ./pipelines
COPY --from=build /app/web ./web
# The output volume is created from this folder, so it must belong to the user the app runs as.
RUN mkdir -p /app/out && chown node:node /app/out
USER node
EXPOSE 8080
HEALTHCHECK --interval=15s --timeout=3s --start-period=30s CMD node -e "fetch('http://127.0.0.1:8080/healthz').then(r=>process.exit(r.ok?0:1),()=>process.exit(1))"
ENTRYPOINT ["/usr/bin/tini", "--", "node", "bin/xnorcam.js"]
CMD ["run", "pipelines/docker.yaml"]
