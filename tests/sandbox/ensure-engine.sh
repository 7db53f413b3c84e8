#!/usr/bin/env bash
# Make sure this machine has what the sandbox needs: a running Docker engine
# and debootstrap. On a fresh Debian machine without systemd as PID 1 this
# installs Debian's docker.io and starts dockerd in the background.
set -euo pipefail
log() { printf '[engine] %s\n' "$*" >&2; }
need=()
command -v dockerd >/dev/null || need+=(docker.io)
command -v debootstrap >/dev/null || need+=(debootstrap)
command -v gpg >/dev/null || need+=(gnupg)
if [ ${#need[@]} -gt 0 ]; then
  log "installing ${need[*]}"
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${need[@]}" >/dev/null
fi
if docker info >/dev/null 2>&1; then exit 0; fi
if [ -d /run/systemd/system ]; then
  systemctl start docker
else
  log "starting dockerd (log: /var/log/dockerd.log)"
  nohup dockerd >/var/log/dockerd.log 2>&1 &
fi
for _ in $(seq 1 60); do
  docker info >/dev/null 2>&1 && { log "engine is up"; exit 0; }
  sleep 1
done
log "the Docker engine did not come up:"; tail -n 30 /var/log/dockerd.log >&2 || true
exit 1
