#!/usr/bin/env bash
# Builds deploy/Dockerfile with a real container engine and runs the image: the check of
# docs/operations.md § Container image, run by hand (it takes minutes: a full pnpm install and build
# inside the image, FFmpeg from Debian), not by `pnpm test`.
#   sudo deploy/scripts/check-image.sh
# What it checks: the multi-stage build succeeds; the image declares USER robian, VOLUME /data,
# EXPOSE 8000 and a HEALTHCHECK; /app holds no dev dependency and no package source; the container
# runs as uid 10001, Docker's own HEALTHCHECK reports it `healthy`, /health answers 200, an audio
# extraction-free API call works with DATA_DIR on the volume, and `docker stop` ends it with exit
# code 0 within Robian's shutdown timeout (tini forwards SIGTERM).
#
# Base image: node:24-bookworm-slim when the engine has it or can pull it. Where Docker Hub is out
# of reach (these machines reach only the npm registry and Debian), a stand-in with the same name
# parts is made locally (NODE_IMAGE=robian-local/node:24-bookworm-slim): a Debian bookworm minbase
# root from debootstrap, this machine's Node 24 binary, npm from the npm registry, and this
# machine's CA bundle (a network that re-signs TLS needs it for the build's npm and pnpm downloads).
set -euo pipefail
REPO="$(cd "$(dirname "$0")/../.." && pwd)"
IMAGE="${IMAGE:-robian:check}"
NODE_IMAGE="${NODE_IMAGE:-node:24-bookworm-slim}"
ROOT="${ROOT:-/var/tmp/bookworm-root}"
MIRROR="${MIRROR:-http://deb.debian.org/debian}"
PORT="${PORT:-18766}"
NAME="robian-check-$$"
VOLUME="robian-check-data-$$"
log() { printf '\n== %s\n' "$*"; }
fail() { printf 'FAIL: %s\n' "$*" >&2; exit 1; }

cleanup() {
  docker rm -f "$NAME" >/dev/null 2>&1 || true
  docker volume rm "$VOLUME" >/dev/null 2>&1 || true
}
trap cleanup EXIT

node -e 'process.exit(+process.versions.node.split(".")[0] >= 24 ? 0 : 1)' || fail "needs Node >= 24 on PATH (its binary goes into the stand-in base)"
docker info >/dev/null 2>&1 || fail "no container engine answers (docker info); see docs/operations.md"

# --- base image ---------------------------------------------------------------------------------
if ! docker image inspect "$NODE_IMAGE" >/dev/null 2>&1 && ! docker pull "$NODE_IMAGE" >/dev/null 2>&1; then
  NODE_IMAGE=robian-local/node:24-bookworm-slim
  if ! docker image inspect "$NODE_IMAGE" >/dev/null 2>&1; then
    log "making the stand-in base $NODE_IMAGE (Docker Hub unreachable)"
    if [ ! -x "$ROOT/usr/bin/apt-get" ]; then
      debootstrap --variant=minbase bookworm "$ROOT" "$MIRROR"
    fi
    BASE="$(mktemp -d)"
    cp -a "$ROOT/." "$BASE/"
    rm -rf "$BASE/var/cache/apt/archives/"*.deb "$BASE/var/lib/apt/lists/"*
    install -m 0755 "$(command -v node)" "$BASE/usr/local/bin/node"
    npm install --global --prefix "$BASE/usr/local" --no-audit --no-fund npm@11 >/dev/null
    if [ -n "${NODE_EXTRA_CA_CERTS:-}" ] && [ -f "$NODE_EXTRA_CA_CERTS" ]; then
      install -D -m 0644 "$NODE_EXTRA_CA_CERTS" "$BASE/etc/robian-build/extra-ca.crt"
      EXTRA_CA_ENV=(--change 'ENV NODE_EXTRA_CA_CERTS=/etc/robian-build/extra-ca.crt')
    else
      EXTRA_CA_ENV=()
    fi
    tar -C "$BASE" -c . | docker import \
      --change 'ENV PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin' \
      --change 'ENV NODE_VERSION='"$(node -p process.versions.node)" \
      "${EXTRA_CA_ENV[@]}" --change 'CMD ["node"]' - "$NODE_IMAGE" >/dev/null
    rm -rf "$BASE"
  fi
fi
log "base image: $NODE_IMAGE ($(docker run --rm "$NODE_IMAGE" node --version))"

# --- build (BUILD=0 checks an image built before) ----------------------------------------------------
if [ "${BUILD:-1}" != 0 ]; then
  log "docker build -f deploy/Dockerfile -t $IMAGE"
  started=$(date +%s)
  docker build --network host --build-arg NODE_IMAGE="$NODE_IMAGE" -f "$REPO/deploy/Dockerfile" -t "$IMAGE" "$REPO"
  log "built in $(( $(date +%s) - started )) s"
fi
log "image $IMAGE: $(docker image inspect -f '{{.Size}}' "$IMAGE" | awk '{printf "%.0f MB", $1/1e6}'), created $(docker image inspect -f '{{.Created}}' "$IMAGE")"

# --- what the image declares ----------------------------------------------------------------------
[ "$(docker image inspect -f '{{.Config.User}}' "$IMAGE")" = robian ] || fail "USER is not robian"
docker image inspect -f '{{json .Config.Volumes}}' "$IMAGE" | grep -q '"/data"' || fail "no VOLUME /data"
docker image inspect -f '{{json .Config.ExposedPorts}}' "$IMAGE" | grep -q '8000/tcp' || fail "8000 not exposed"
docker image inspect -f '{{json .Config.Healthcheck}}' "$IMAGE" | grep -q '/health' || fail "no HEALTHCHECK on /health"

# --- what /app holds ------------------------------------------------------------------------------
contents="$(docker run --rm --network none --entrypoint sh "$IMAGE" -c '
  ls /app/node_modules | tr "\n" " "; echo;
  for d in typescript tsup @types/node; do [ -e "/app/node_modules/$d" ] && echo "DEV:$d"; done;
  find /app/node_modules/@robian -maxdepth 3 -name src -path "*/@robian/*" 2>/dev/null | sed "s/^/SRC:/";
  for b in ffmpeg yt-dlp tini; do command -v "$b"; done')"
echo "$contents" | grep -q '^DEV:' && fail "dev dependencies in /app: $(echo "$contents" | grep '^DEV:')"
echo "$contents" | grep -q '^SRC:' && fail "package sources in /app: $(echo "$contents" | grep '^SRC:')"
for bin in ffmpeg yt-dlp tini; do echo "$contents" | grep -q "/$bin\$" || fail "$bin missing"; done

# --- run --------------------------------------------------------------------------------------------
log "docker run (host network, port $PORT, DATA_DIR on volume $VOLUME)"
docker volume create "$VOLUME" >/dev/null
# secrets at run time only, as in production (an env file; the image refuses to start without them)
ENV_FILE="$(mktemp)"
printf 'SECRET_KEY=%s\nADMIN_API_KEY=%s\n' "$(openssl rand -hex 32)" "$(openssl rand -hex 32)" > "$ENV_FILE"
docker run -d --name "$NAME" --network host --env-file "$ENV_FILE" -e PORT="$PORT" -e HOST=127.0.0.1 \
  -v "$VOLUME:/data" "$IMAGE" >/dev/null
rm -f "$ENV_FILE"
uid="$(docker exec "$NAME" id -u)"
[ "$uid" = 10001 ] || fail "runs as uid $uid, not 10001"
status=starting
for _ in $(seq 1 40); do
  status="$(docker inspect -f '{{.State.Health.Status}}' "$NAME")"
  [ "$status" = healthy ] && break
  [ "$(docker inspect -f '{{.State.Running}}' "$NAME")" = true ] || { docker logs "$NAME" | tail -20; fail "container exited"; }
  sleep 3
done
[ "$status" = healthy ] || { docker logs "$NAME" | tail -20; fail "HEALTHCHECK says $status"; }
code="$(curl -s -o /dev/null -w '%{http_code}' "http://127.0.0.1:$PORT/health")"
[ "$code" = 200 ] || fail "/health answered $code"
code="$(curl -s -o /dev/null -w '%{http_code}' "http://127.0.0.1:$PORT/api/debats")"
[ "$code" = 200 ] || fail "/api/debats answered $code"
docker exec "$NAME" sh -c 'ls /data' | grep -q . || fail "nothing written to DATA_DIR (/data)"
log "healthy as uid $uid; /health and /api/debats 200; /data: $(docker exec "$NAME" sh -c 'ls /data | tr "\n" " "')"

stop_started=$(date +%s)
docker stop -t 30 "$NAME" >/dev/null
exit_code="$(docker inspect -f '{{.State.ExitCode}}' "$NAME")"
[ "$exit_code" = 0 ] || { docker logs "$NAME" | tail -20; fail "exit code $exit_code after docker stop (not a graceful stop)"; }
log "stopped by SIGTERM in $(( $(date +%s) - stop_started )) s, exit code 0"
echo "PASS: $IMAGE built from $NODE_IMAGE and ran"
