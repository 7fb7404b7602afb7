#!/usr/bin/env bash
# The container image's steps, kept out of the Dockerfile so that CI runs them without a Docker engine
# (apps/server/test/deploy-image.test.ts builds, moves and starts the result).
#
#   image-steps.sh build <out dir>   build the server and web client and lay out a self-contained app in <out dir>
#   image-steps.sh start [app dir]   run a laid-out app in production (default: the folder holding this script)
#
# The layout `build` writes, and the only things the runtime gets:
#   package.json       "type": "module" for the bundle, and the pinned runtime dependencies
#   node_modules/      production dependencies only, installed from the lockfile (no dev tools, no workspace links)
#   dist/main.js       the server bundle; @fixthread/* packages are bundled into it
#   drizzle/           the SQL migrations, applied at start-up (core finds them by walking up from dist/)
#   web/               the web client, served by the server (WEB_DIST_DIR)
#   image-steps.sh     this script, for `start`
set -euo pipefail
umask 022

script_dir="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"

die() {
  echo "image-steps: $*" >&2
  exit 1
}

step() {
  echo "image-steps [${SECONDS}s]: $*"
}

usage() {
  die "usage: image-steps.sh build <out dir> | start [app dir]"
}

# Built files point at source maps that are not shipped; the dangling comments go with them.
strip_source_map_comments() {
  find "$1" -type f \( -name '*.js' -o -name '*.css' \) -exec sed -i \
    -e '/^\/\/# sourceMappingURL=/d' -e '/^\/\*# sourceMappingURL=.*\*\/$/d' {} +
}

build() {
  local out="${1:-}"
  [ -n "$out" ] || usage
  [ ! -e "$out" ] || [ -z "$(ls -A "$out")" ] || die "$out is not empty"
  command -v pnpm >/dev/null || die "pnpm is not installed (npm install -g pnpm@<version in package.json>)"
  mkdir -p "$out"
  out="$(cd "$out" && pwd)"

  local repo work
  repo="$(cd "$script_dir/.." && pwd)"
  [ -f "$repo/pnpm-workspace.yaml" ] || die "$repo is not the FixThread workspace"
  work="$(mktemp -d "${TMPDIR:-/tmp}/fixthread-image.XXXXXX")"
  # shellcheck disable=SC2064 -- expand now: `work` is local to this function
  trap "rm -rf '$work'" EXIT
  trap 'exit 130' INT
  trap 'exit 143' TERM

  # NODE_ENV=production would make the install skip the build tools, and NODE_ENV=test (a test runner's) would
  # give a development build of React; the builds choose their own mode.
  unset NODE_ENV

  # Everything happens in a private copy of the sources, so building never touches a checkout that others
  # are using, and a build on a developer's machine sees what the Docker build context sees.
  step "copying the sources"
  mkdir "$work/src"
  tar -C "$repo" \
    --exclude=node_modules --exclude=dist --exclude=.git --exclude=.turbo --exclude=.data \
    --exclude=test-results --exclude=test-artifacts --exclude='*.log' --exclude=.env \
    -cf - . | tar -C "$work/src" -xf -

  step "installing from the lockfile"
  (cd "$work/src" && pnpm install --frozen-lockfile --prefer-offline --reporter=append-only)

  # `name...` also builds the workspace packages each one imports (in dependency order) whose exports point
  # at build output rather than at TypeScript source.
  step "building the server bundle and the web client"
  (cd "$work/src" && pnpm --filter '@fixthread/server...' --filter '@fixthread/web...' run build)

  # pnpm 10 deploys only with injected workspace packages: copies rather than symlinks into the workspace.
  step "production install of the server"
  (cd "$work/src" && pnpm deploy --filter @fixthread/server --prod \
    --config.inject-workspace-packages=true --reporter=append-only "$work/deploy")

  # The bundle already holds the @fixthread/* packages, so their own dependencies (drizzle, postgres, openai,
  # the tokenizer, sharp...) are dead weight, and so is TypeScript, pulled in only as tRPC's peer. The deployed
  # manifest is trimmed to the bundle's external imports and reinstalled against the lockfile pnpm deploy
  # wrote: resolutions are kept, only what nothing needs any more goes. Copies, not hard links into the store.
  step "pruning to the bundle's runtime dependencies"
  node -e '
    const fs = require("node:fs");
    const file = process.argv[1];
    const manifest = JSON.parse(fs.readFileSync(file, "utf8"));
    const dependencies = Object.fromEntries(
      Object.entries(manifest.dependencies).filter(([name]) => !name.startsWith("@fixthread/")),
    );
    const trimmed = { name: manifest.name, version: manifest.version, private: true, type: manifest.type, dependencies, pnpm: manifest.pnpm };
    fs.writeFileSync(file, JSON.stringify(trimmed, null, 2) + "\n");
  ' "$work/deploy/package.json"
  rm -rf "$work/deploy/node_modules"
  (cd "$work/deploy" && pnpm install --prod --no-frozen-lockfile --prefer-offline --ignore-workspace \
    --config.auto-install-peers=false --config.allow-unused-patches=true \
    --config.package-import-method=copy --reporter=append-only)

  step "laying out $out"
  mv "$work/deploy/node_modules" "$out/node_modules"
  # Bin shims hold absolute paths of the build folder, and nothing at run time calls them.
  find "$out/node_modules" -type d -name .bin -prune -exec rm -rf {} +
  rm -f "$out/node_modules"/.pnpm-workspace-state*.json
  find "$out/node_modules" -type f \
    \( -name '*.map' -o -name '*.ts' -o -name '*.mts' -o -name '*.cts' \) -delete

  node -e '
    const fs = require("node:fs");
    const path = require("node:path");
    const [source, out] = process.argv.slice(1);
    const manifest = JSON.parse(fs.readFileSync(source, "utf8"));
    const installed = (name) => JSON.parse(fs.readFileSync(path.join(out, "node_modules", name, "package.json"), "utf8")).version;
    const dependencies = Object.fromEntries(Object.keys(manifest.dependencies).sort().map((name) => [name, installed(name)]));
    const runtime = { name: manifest.name, version: manifest.version, private: true, type: "module", dependencies };
    fs.writeFileSync(path.join(out, "package.json"), JSON.stringify(runtime, null, 2) + "\n");
  ' "$work/deploy/package.json" "$out"

  mkdir -p "$out/dist" "$out/drizzle/meta" "$out/web"
  cp "$work/src/apps/server/dist/main.js" "$out/dist/main.js"
  cp "$work/src/drizzle/"*.sql "$out/drizzle/"
  # drizzle-kit's snapshots are for generating migrations; applying them reads only the journal.
  cp "$work/src/drizzle/meta/_journal.json" "$out/drizzle/meta/"
  cp -R "$work/src/apps/web/dist/." "$out/web/"
  find "$out/web" -type f -name '*.map' -delete
  strip_source_map_comments "$out/dist"
  strip_source_map_comments "$out/web"
  cp "$script_dir/image-steps.sh" "$out/image-steps.sh"
  chmod 755 "$out/image-steps.sh"

  step "built $out ($(du -sh "$out" | cut -f1))"
}

start() {
  local app="${1:-$script_dir}"
  [ -f "$app/dist/main.js" ] || die "$app/dist/main.js not found: run 'image-steps.sh build <dir>' and start that dir"
  app="$(cd "$app" && pwd)"
  cd "$app"
  export NODE_ENV=production
  # The server anchors relative defaults at the workspace root, which a deployed app does not have.
  export WEB_DIST_DIR="${WEB_DIST_DIR:-$app/web}"
  export DATA_DIR="${DATA_DIR:-$app/.data}"
  # exec: node takes this process's place, so SIGTERM from the container runtime reaches the server itself.
  exec node dist/main.js
}

case "${1:-}" in
  build) build "${2:-}" ;;
  start) start "${2:-}" ;;
  *) usage ;;
esac
