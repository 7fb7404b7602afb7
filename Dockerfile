# syntax=docker/dockerfile:1
# FixThread server + web client. The build and start steps live in deploy/image-steps.sh, which CI runs
# without Docker (apps/server/test/deploy-image.test.ts), so what this image does is tested even where no
# Docker engine is.
#
#   docker build -t fixthread .
#   docker run -p 8000:8000 -e JWT_SECRET=... -e DATABASE_URL=postgres://... fixthread

FROM node:20-bookworm-slim AS build
# Keep in step with "packageManager" in package.json (the deploy test checks it).
RUN npm install -g pnpm@10.34.9
WORKDIR /src
# The package store depends only on the lockfile, so this layer survives source changes.
COPY package.json pnpm-lock.yaml pnpm-workspace.yaml ./
COPY patches ./patches
RUN pnpm fetch
COPY . .
RUN bash deploy/image-steps.sh build /out

FROM node:20-bookworm-slim AS runtime
ENV NODE_ENV=production \
    PORT=8000 \
    DATA_DIR=/data
# The app stays owned by root and read-only to the server; only its data folder (the embedded PGlite database
# and the dev-mode secret, both unused with DATABASE_URL) is writable.
COPY --from=build /out /app
RUN mkdir -p /data && chown node:node /data
WORKDIR /app
USER node
EXPOSE 8000
STOPSIGNAL SIGTERM
HEALTHCHECK --interval=10s --timeout=3s --start-period=30s --retries=3 \
  CMD ["node", "-e", "fetch('http://127.0.0.1:' + (process.env.PORT || 8000) + '/health').then((r) => process.exit(r.ok ? 0 : 1), () => process.exit(1))"]
CMD ["/app/image-steps.sh", "start"]
