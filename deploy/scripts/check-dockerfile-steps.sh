#!/usr/bin/env bash
# Runs deploy/Dockerfile's steps in a clean Debian bookworm root made by debootstrap, for machines
# where no container engine runs (docs/decisions.md § Operations records why and the last run).
# It is slow (a Debian root, FFmpeg from Debian, a full pnpm install): run it by hand, not in the
# test suite:   sudo deploy/scripts/check-dockerfile-steps.sh
# What it checks: the build stage's commands succeed on bookworm + Node 24 (install, build, pnpm
# deploy --prod, sources removed), the runtime stage's apt-get line and user exist, the deployed
# tree has no dev dependency, and `node /app/dist/cli.js serve` started as the unprivileged user
# answers /health and the HEALTHCHECK command (then SIGTERM stops it within SHUTDOWN_TIMEOUT).
# Differences from a real build: the node:24-bookworm-slim base is emulated (this machine's Node 24
# binary and pnpm copied into /usr/local), and both stages share one root.
set -euo pipefail
REPO="$(cd "$(dirname "$0")/../.." && pwd)"
ROOT="${ROOT:-/tmp/robian-dockerfile-root}"
MIRROR="${MIRROR:-http://deb.debian.org/debian}"
NODE_BIN="$(command -v node)"
PNPM_DIR="$(dirname "$(dirname "$(readlink -f "$(command -v pnpm)")")")"
PORT="${PORT:-18765}"
log() { printf '\n== %s\n' "$*"; }

cleanup() {
  for m in dev/pts dev proc; do mountpoint -q "$ROOT/$m" && umount -l "$ROOT/$m" || true; done
}
trap cleanup EXIT

if [ ! -x "$ROOT/usr/bin/apt-get" ]; then
  log "debootstrap bookworm into $ROOT"
  debootstrap --variant=minbase bookworm "$ROOT" "$MIRROR"
fi
mount -t proc proc "$ROOT/proc"; mount --bind /dev "$ROOT/dev"; mount --bind /dev/pts "$ROOT/dev/pts"
cp /etc/resolv.conf "$ROOT/etc/resolv.conf"
# a network that re-signs TLS (this machine's) needs its CA inside the root too, as a docker build would
EXTRA_CA=()
if [ -n "${NODE_EXTRA_CA_CERTS:-}" ] && [ -f "$NODE_EXTRA_CA_CERTS" ]; then
  mkdir -p "$ROOT/etc/robian-build" && cp "$NODE_EXTRA_CA_CERTS" "$ROOT/etc/robian-build/extra-ca.crt"
  EXTRA_CA=(NODE_EXTRA_CA_CERTS=/etc/robian-build/extra-ca.crt)
fi
# the PATH of Debian's images (and so of node:24-bookworm-slim): RUN lines find groupadd/useradd in /usr/sbin
IMAGE_PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin
in_root() { chroot "$ROOT" /usr/bin/env -i PATH="$IMAGE_PATH" HOME=/root SCARF_ANALYTICS=false YOUTUBE_DL_SKIP_DOWNLOAD=1 CI=true "${EXTRA_CA[@]}" "$@"; }

log "base: Node $("$NODE_BIN" --version) and pnpm into /usr/local (what node:24-bookworm-slim provides)"
install -m 0755 "$NODE_BIN" "$ROOT/usr/local/bin/node"
rm -rf "$ROOT/usr/local/lib/pnpm" && mkdir -p "$ROOT/usr/local/lib" && cp -a "$PNPM_DIR" "$ROOT/usr/local/lib/pnpm"
ln -sf /usr/local/lib/pnpm/bin/pnpm.cjs "$ROOT/usr/local/bin/pnpm"

log "build stage: COPY (the context minus .dockerignore), install, build, deploy"
rm -rf "$ROOT/src" "$ROOT/out" && mkdir -p "$ROOT/src"
(cd "$REPO" && tar --exclude=node_modules --exclude=dist --exclude='*.tsbuildinfo' -cf - package.json pnpm-lock.yaml pnpm-workspace.yaml .npmrc tsconfig.base.json tsup.base.ts packages examples) | tar -C "$ROOT/src" -xf -
in_root sh -c 'cd /src && pnpm install --frozen-lockfile --reporter=append-only >/tmp/install.log 2>&1 || { tail -30 /tmp/install.log; exit 1; }'
in_root sh -c 'cd /src && pnpm build >/tmp/build.log 2>&1 || { tail -30 /tmp/build.log; exit 1; }'
in_root sh -c "cd /src && pnpm --filter @robian/host deploy --prod --legacy /out >/tmp/deploy.log 2>&1 || { tail -30 /tmp/deploy.log; exit 1; }"
in_root sh -c "find /out -path '*/@robian/*/src' -prune -exec rm -rf {} + && rm -rf /out/src /out/test"

log "runtime stage: FFmpeg, yt-dlp, tini from Debian; the robian user; /app"
in_root sh -c 'apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends ffmpeg yt-dlp ca-certificates tini >/tmp/apt.log 2>&1 || { tail -30 /tmp/apt.log; exit 1; }'
in_root sh -c 'getent group robian >/dev/null || groupadd --system --gid 10001 robian; getent passwd robian >/dev/null || useradd --system --uid 10001 --gid robian --home-dir /data --shell /usr/sbin/nologin robian; mkdir -p /data && chown robian:robian /data'
rm -rf "$ROOT/app" && mv "$ROOT/out" "$ROOT/app"

log "checks on the deployed tree"
for dev in typescript tsup @types/node; do
  if [ -e "$ROOT/app/node_modules/$dev" ]; then echo "dev dependency $dev in /app"; exit 1; fi
done
if find "$ROOT/app/node_modules" -path '*/@robian/*/src' | grep -q .; then echo "sources left in /app"; exit 1; fi
echo "/app: $(du -sh "$ROOT/app" | cut -f1), $(find "$ROOT/app/node_modules/.pnpm" -maxdepth 1 -mindepth 1 | wc -l) packages"
in_root /usr/bin/ffmpeg -hide_banner -version | head -1
in_root /usr/bin/yt-dlp --version

log "serve as robian (uid 10001) on 127.0.0.1:$PORT"
chroot --userspec=10001:10001 "$ROOT" /usr/bin/env -i PATH="$IMAGE_PATH" NODE_ENV=production ENVIRONMENT=production \
  HOST=127.0.0.1 PORT="$PORT" DATA_DIR=/data LOG_FORMAT=json FFMPEG_PATH=/usr/bin/ffmpeg FFPROBE_PATH=/usr/bin/ffprobe YTDLP_PATH=/usr/bin/yt-dlp \
  SECRET_KEY="$(head -c 48 /dev/urandom | base64)" ADMIN_API_KEY="$(head -c 48 /dev/urandom | base64)" \
  /usr/bin/tini -s -- node /app/dist/cli.js serve >"$ROOT/tmp/serve.log" 2>&1 &
SERVE=$!
for i in $(seq 1 60); do
  if in_root node -e "fetch('http://127.0.0.1:$PORT/health').then(r=>process.exit(r.ok?0:1),()=>process.exit(1))"; then break; fi
  sleep 1
done
in_root node -e "fetch('http://127.0.0.1:$PORT/health').then(async r=>{console.log('HEALTHCHECK', r.status, await r.text()); process.exit(r.ok?0:1)},()=>process.exit(1))"
kill -TERM "$SERVE"
wait "$SERVE" && echo "stopped cleanly after SIGTERM" || { echo "serve exited with $?"; tail -20 "$ROOT/tmp/serve.log"; exit 1; }
log "OK: the Dockerfile's steps pass on Debian bookworm"
