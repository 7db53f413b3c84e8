#!/usr/bin/env bash
# Local sandbox hosts for tests and `make demo`.
#
# A sandbox host is a Debian 13 container that boots systemd as PID 1 and runs
# its own Docker engine inside (Docker-in-Docker), so our roles and playbooks
# treat it like a real on-prem host. No container registry is needed: the base
# root file system comes from debootstrap and every image is built locally and
# tagged by a hash of what went into it, so a second run reuses it.
#
# Usage:
#   sandbox.sh images [KIND...]    build (or reuse) base images, print their tags
#                                  (kinds: host host-ready airflow-base postgres
#                                  redis s3; default all)
#   sandbox.sh create NAME...      start sandbox hosts (idempotent)
#   sandbox.sh destroy NAME...     remove sandbox hosts and their volumes
#   sandbox.sh image-tag KIND      print the tag of a base image (rootfs or a kind)
#   sandbox.sh s3 NAME BUCKET      start the sandbox's S3 object store (SeaweedFS,
#                                  HTTPS with a certificate of the throwaway CA,
#                                  the identity of the sandbox vault's S3 keys)
#                                  and make BUCKET in it (idempotent)
#   sandbox.sh address NAME        print a sandbox host's address on the network
#   sandbox.sh tls MASTER          a throwaway CA (once) and a certificate for the
#                                  sandbox master MASTER (its address, 127.0.0.1,
#                                  localhost), in .cache/tls/ of the project
#
# Environment:
#   SANDBOX_NETWORK      docker network the hosts share (default: airflow-sandbox)
#   SANDBOX_MIRROR       Debian mirror for debootstrap (default: the one in this
#                        machine's apt sources)
#   SANDBOX_PRIVILEGED   set to 1 where plain `docker run --privileged` works
#                        (a normal CI runner); the default is the option set
#                        this sandbox needs (see ../shared/SANDBOX.md)
#   SANDBOX_PUBLISH      extra `-p` specs for `create`, e.g. "127.0.0.1:8080:8080"
#   SANDBOX_HOST_KIND    the image `create` starts hosts from: host (default, a
#                        bare Debian host) or host-ready (the packages the
#                        roles install already there, see host.Dockerfile)
#   SANDBOX_CPU_SHARES   the hosts' CPU weight when the CPU is busy (`docker run
#                        --cpu-shares`, default 1024): make test gives its
#                        background molecule hosts less than the e2e cluster's
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
SANDBOX_NETWORK=${SANDBOX_NETWORK:-airflow-sandbox}
SUITE=trixie
LABEL=io.airflow-sandbox

# The one place that says how a sandbox host container is run. `--privileged`
# fails here (the sandbox withholds CAP_SYS_RESOURCE), so we grant everything
# else explicitly; systemd and a nested Docker engine need all of it.
run_options() {
  if [ "${SANDBOX_PRIVILEGED:-0}" = 1 ]; then
    printf '%s\n' --privileged
  else
    printf '%s\n' --cap-add=ALL --cap-drop=SYS_RESOURCE \
      --security-opt=seccomp=unconfined --security-opt=apparmor=unconfined \
      --security-opt=systempaths=unconfined \
      '--device-cgroup-rule=a *:* rwm'
  fi
  printf '%s\n' --volume=/sys/fs/cgroup:/sys/fs/cgroup:rw --cgroupns=host \
    --tmpfs=/run --tmpfs=/run/lock
  if [ -n "${SANDBOX_CPU_SHARES:-}" ]; then printf '%s\n' "--cpu-shares=$SANDBOX_CPU_SHARES"; fi
}

log() { printf '[sandbox] %s\n' "$*" >&2; }

mirror() {
  if [ -n "${SANDBOX_MIRROR:-}" ]; then echo "$SANDBOX_MIRROR"; return; fi
  local m
  m=$(grep -hsE '^(URIs:|deb )' /etc/apt/sources.list.d/*.sources /etc/apt/sources.list.d/*.list /etc/apt/sources.list \
      | grep -oE 'https?://[^ ]+/debian/?( |$)' | head -n1 | tr -d ' ')
  [ -n "$m" ] || { log "cannot find a Debian mirror in apt sources; set SANDBOX_MIRROR"; exit 1; }
  echo "${m%/}"
}

# Extra CA certificates this machine trusts (a TLS-intercepting package proxy,
# a corporate CA): sandbox hosts and images must trust them too.
ca_files() { find /usr/local/share/ca-certificates -type f -name '*.crt' 2>/dev/null | sort; }

hash_of() { cat "$@" | sha256sum | cut -c1-12; }

rootfs_tag() { echo "airflow-sandbox/rootfs:${SUITE}-$(printf '%s\n' "$SUITE minbase v1" | sha256sum | cut -c1-12)"; }

KINDS="host host-ready airflow-base postgres redis s3"

# The Dockerfile a kind is built from (KIND.Dockerfile) and, for the kinds of
# a Dockerfile with several targets, the target (without one, the legacy
# builder builds every stage and tags the last).
dockerfile_of() { case $1 in host-ready) echo host ;; *) echo "$1" ;; esac; }
target_of() { case $1 in host|host-ready) echo "$1" ;; esac; }

# Files an image is built from: its Dockerfile and its KIND-* companions
# (entrypoint, constraints).
kind_files() {
  local kind
  kind=$(dockerfile_of "$1")
  echo "$here/$kind.Dockerfile"
  find "$here" -maxdepth 1 -type f -name "$kind-*" | sort
}

image_tag() {
  local kind=$1 files=() f
  case " $KINDS " in *" $kind "*) ;; *) log "unknown image kind: $kind (one of: rootfs $KINDS)"; exit 2 ;; esac
  while IFS= read -r f; do files+=("$f"); done < <(kind_files "$kind"; ca_files)
  echo "airflow-sandbox/$kind:${SUITE}-$( { rootfs_tag; target_of "$kind"; cat "${files[@]}"; } | sha256sum | cut -c1-12)"
}

have_image() { docker image inspect "$1" >/dev/null 2>&1; }

build_rootfs() {
  local tag dir
  tag=$(rootfs_tag)
  if have_image "$tag"; then log "reusing $tag"; return; fi
  command -v debootstrap >/dev/null || { log "debootstrap missing: apt-get install -y debootstrap"; exit 1; }
  dir=$(mktemp -d /var/tmp/sandbox-rootfs.XXXXXX)
  log "debootstrap $SUITE into $dir"
  debootstrap --variant=minbase "$SUITE" "$dir" "$(mirror)" >/dev/null
  # apt inside the image uses the same mirror debootstrap did
  tar -C "$dir" -c . | docker import --change 'CMD ["/bin/bash"]' - "$tag" >/dev/null
  rm -rf "$dir"
  log "built $tag"
}

build_kind() {
  local kind=$1 tag ctx ca f target
  tag=$(image_tag "$kind")
  target=$(target_of "$kind")
  if have_image "$tag"; then log "reusing $tag"; return; fi
  ctx=$(mktemp -d)
  mkdir -p "$ctx/ca"
  while IFS= read -r ca; do cp "$ca" "$ctx/ca/"; done < <(ca_files)
  while IFS= read -r f; do cp "$f" "$ctx/"; done < <(kind_files "$kind")
  mv "$ctx/$(dockerfile_of "$kind").Dockerfile" "$ctx/Dockerfile"
  log "building $tag"
  docker build -q --build-arg "BASE=$(rootfs_tag)" ${target:+--target "$target"} -t "$tag" "$ctx" >/dev/null
  rm -rf "$ctx"
  log "built $tag"
}

# images [KIND...]: build what is missing, print the tags
cmd_images() {
  local kind kinds=("$@")
  [ ${#kinds[@]} -gt 0 ] || read -r -a kinds <<< "$KINDS"
  build_rootfs
  # the kinds at once: each mostly waits for the package mirror or PyPI (a
  # cold build takes the longest one's time, not the sum)
  local pids=() failed=0 pid
  for kind in "${kinds[@]}"; do build_kind "$kind" & pids+=($!); done
  for pid in "${pids[@]}"; do wait "$pid" || failed=1; done
  [ "$failed" = 0 ] || { log "an image failed to build (above)"; exit 1; }
  rootfs_tag
  for kind in "${kinds[@]}"; do image_tag "$kind"; done
}

ensure_network() {
  docker network inspect "$SANDBOX_NETWORK" >/dev/null 2>&1 \
    || docker network create --label "$LABEL=1" "$SANDBOX_NETWORK" >/dev/null
}

cmd_create() {
  local name tag publish=() p opts kind=${SANDBOX_HOST_KIND:-host}
  case $kind in host|host-ready) ;; *) log "SANDBOX_HOST_KIND is '$kind': it must be host or host-ready"; exit 2 ;; esac
  tag=$(image_tag "$kind")
  mapfile -t opts < <(run_options)
  have_image "$tag" || cmd_images "$kind" >/dev/null
  ensure_network
  for p in ${SANDBOX_PUBLISH:-}; do publish+=(-p "$p"); done
  for name in "$@"; do
    if [ "$(docker inspect -f '{{.State.Running}}' "$name" 2>/dev/null)" = true ]; then
      log "$name already running"; continue
    fi
    docker rm -f "$name" >/dev/null 2>&1 || true
    docker run -d --name "$name" --hostname "$name" --network "$SANDBOX_NETWORK" \
      --label "$LABEL=1" "${opts[@]}" "${publish[@]}" \
      -v "$name-docker:/var/lib/docker" \
      "$tag" /sbin/init >/dev/null
    log "started $name"
  done
  for name in "$@"; do
    for _ in $(seq 1 60); do
      state=$(docker exec "$name" systemctl is-system-running 2>/dev/null || true)
      case "$state" in running|degraded) break ;; esac
      sleep 1
    done
    case "$state" in
      running|degraded) log "$name is up (systemd: $state)" ;;
      *) log "$name did not boot (systemd: ${state:-no answer})"; docker logs --tail 50 "$name" >&2; exit 1 ;;
    esac
  done
}

cmd_destroy() {
  local name pids=()
  # all at once: removing a host's Docker volume (its images' layers) is most
  # of the time
  for name in "$@"; do
    { docker rm -f -v "$name" >/dev/null 2>&1 || true
      docker volume rm "$name-docker" "$name-data" >/dev/null 2>&1 || true
      log "removed $name"; } &
    pids+=("$!")
  done
  [ ${#pids[@]} -eq 0 ] || wait "${pids[@]}"
  # drop the network once no sandbox host uses it any more
  if docker network inspect "$SANDBOX_NETWORK" >/dev/null 2>&1 \
     && [ -z "$(docker network inspect -f '{{range .Containers}}x{{end}}' "$SANDBOX_NETWORK")" ]; then
    docker network rm "$SANDBOX_NETWORK" >/dev/null || true
  fi
}

# The sandbox's S3 store: a container of its own (not a systemd host), its
# data on the volume NAME-data, its identity (the access and secret key) from
# the sandbox vault, as a store's operator gives the cluster an account and a
# bucket. Hosts and containers reach it by address (https://ADDRESS:8333).
cmd_s3() {
  local name=$1 bucket=$2 tag project state
  project=$(cd "$here/../.." && pwd)
  tag=$(image_tag s3)
  have_image "$tag" || cmd_images s3 >/dev/null
  ensure_network
  mkdir -p "$project/.cache/s3" "$project/.cache/tls"
  ansible-vault view --vault-password-file "$here/demo-vault-password" "$project/inventory/sandbox/group_vars/all/vault.yml" \
    | "$(dirname "$(command -v ansible-vault)")/python" -c 'import json, sys, yaml; v = yaml.safe_load(sys.stdin); print(json.dumps({"identities": [{"name": "airflow",
        "credentials": [{"accessKey": v["vault_airflow_s3_access_key_id"], "secretKey": v["vault_airflow_s3_secret_access_key"]}],
        "actions": ["Admin", "Read", "Write", "List", "Tagging"]}]}))' > "$project/.cache/s3/s3.json.$$"
  # a file of this run's own, then renamed: two stores may start at once (make test's two clusters)
  chmod 600 "$project/.cache/s3/s3.json.$$"; mv "$project/.cache/s3/s3.json.$$" "$project/.cache/s3/s3.json"
  if [ "$(docker inspect -f '{{.State.Running}}' "$name" 2>/dev/null)" != true ]; then
    docker rm -f "$name" >/dev/null 2>&1 || true
    docker run -d --name "$name" --hostname "$name" --network "$SANDBOX_NETWORK" --label "$LABEL=1" \
      -v "$name-data:/data" -v "$project/.cache/tls:/tls:ro" -v "$project/.cache/s3:/etc/seaweedfs:ro" \
      "$tag" >/dev/null
    log "started $name"
  fi
  cmd_tls "$name"
  # ready once the S3 gateway has joined the store's master (cluster.ps lists
  # it); a fresh store lists no bucket, so the bucket list cannot tell
  for _ in $(seq 1 90); do
    if docker exec "$name" sh -c 'echo cluster.ps | timeout 10 weed shell 2>/dev/null' | grep -q 's3 servers [1-9]'; then break; fi
    sleep 1
  done
  if docker exec "$name" sh -c 'echo s3.bucket.list | weed shell 2>/dev/null' | grep -qw "$bucket"; then
    log "bucket $bucket already in $name"
  else
    docker exec "$name" sh -c "echo 's3.bucket.create -name $bucket' | weed shell" >/dev/null
    log "made bucket $bucket in $name"
  fi
  state=$(docker inspect -f "{{(index .NetworkSettings.Networks \"$SANDBOX_NETWORK\").IPAddress}}" "$name")
  log "$name serves S3 at https://$state:8333 (CA: $project/.cache/tls/ca.crt)"
}

# The sandbox's TLS files, standing in for what an operator's CA issues:
# .cache/tls/ca.{crt,key} (made once), MASTER.{crt,key} (made again when the
# master's address is not in it). The sandbox inventory points at them.
cmd_tls() {
  local name=$1 dir ip
  dir=$(cd "$here/../.." && pwd)/.cache/tls
  ip=$(docker inspect -f "{{(index .NetworkSettings.Networks \"$SANDBOX_NETWORK\").IPAddress}}" "$name")
  [ -n "$ip" ] || { log "$name has no address on $SANDBOX_NETWORK"; exit 1; }
  mkdir -p "$dir"
  # one at a time (make test deploys two clusters at once): one CA, one serial file
  exec {lock}>"$dir/.lock"; flock "$lock"
  if [ ! -s "$dir/ca.crt" ]; then
    # keyUsage on the CA and the key identifiers on the leaf: Python 3.13's
    # default (strict X.509) verification refuses certificates without them
    openssl req -x509 -newkey rsa:2048 -nodes -days 3650 -subj "/CN=Airflow sandbox CA (throwaway)" \
      -addext "basicConstraints=critical,CA:TRUE" -addext "keyUsage=critical,keyCertSign,cRLSign" \
      -keyout "$dir/ca.key" -out "$dir/ca.crt" 2>/dev/null
    chmod 600 "$dir/ca.key"
  fi
  if [ -s "$dir/$name.crt" ] && openssl x509 -in "$dir/$name.crt" -noout -ext subjectAltName 2>/dev/null \
       | grep -q "IP Address:$ip\(,\|\$\)"; then
    log "TLS certificate of $name ($ip) already in $dir"; flock -u "$lock"; return
  fi
  openssl req -newkey rsa:2048 -nodes -subj "/CN=$name" -keyout "$dir/$name.key" -out "$dir/$name.csr" 2>/dev/null
  openssl x509 -req -in "$dir/$name.csr" -CA "$dir/ca.crt" -CAkey "$dir/ca.key" -CAcreateserial -days 825 \
    -extfile <(printf '%s\n' "subjectAltName=IP:$ip,IP:127.0.0.1,DNS:localhost,DNS:$name" \
                 "basicConstraints=critical,CA:FALSE" "keyUsage=critical,digitalSignature,keyEncipherment" \
                 "extendedKeyUsage=serverAuth" "subjectKeyIdentifier=hash" "authorityKeyIdentifier=keyid,issuer") \
    -out "$dir/$name.crt" 2>/dev/null
  chmod 600 "$dir/$name.key"; rm -f "$dir/$name.csr"
  flock -u "$lock"
  log "TLS certificate of $name ($ip) written to $dir (CA: $dir/ca.crt)"
}

case "${1:-}" in
  images) shift; cmd_images "$@" ;;
  image-tag)
    case "${2:-}" in rootfs) rootfs_tag ;; "") log "image-tag KIND"; exit 2 ;; *) image_tag "$2" ;; esac ;;
  create) shift; [ $# -gt 0 ] || { log "create NAME..."; exit 2; }; cmd_create "$@" ;;
  destroy) shift; [ $# -gt 0 ] || { log "destroy NAME..."; exit 2; }; cmd_destroy "$@" ;;
  s3) [ $# -eq 3 ] || { log "s3 NAME BUCKET"; exit 2; }; cmd_s3 "$2" "$3" ;;
  address) docker inspect -f "{{(index .NetworkSettings.Networks \"$SANDBOX_NETWORK\").IPAddress}}" "$2" ;;
  tls) [ $# -eq 2 ] || { log "tls MASTER"; exit 2; }; cmd_tls "$2" ;;
  run-options) run_options ;;
  *) sed -n '2,35p' "$0" | sed 's/^# \{0,1\}//'; exit 2 ;;
esac
