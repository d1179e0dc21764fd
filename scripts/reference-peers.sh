#!/usr/bin/env bash
# Fetches the reference peers — Prometheus 3.5 (with promtool), Alertmanager and
# VictoriaMetrics (with vmagent, vmalert) — from Debian's unstable suite WITHOUT installing
# them system-wide: a private apt configuration (its own sources list, lists and cache under
# the cache folder) downloads the .deb files and `dpkg-deb -x` unpacks them into
# target/reference-peers/. The machine's own apt state and installed packages are untouched.
#
# Usage: scripts/reference-peers.sh [--quiet]
# Prints one line per peer: name, version, path. A second run with the packages present
# downloads nothing. Tests find the binaries through tidemark_tests::peers (which reads the
# same folder, or TIDEMARK_REFERENCE_PEERS).
set -euo pipefail

top=$(cd "$(dirname "$0")/.." && pwd)
cache=${TIDEMARK_REFERENCE_PEERS:-$top/target/reference-peers}
quiet=${1:-}

# Packages and the version line each must be on. A moving suite may have newer builds of the
# same line; any build of the line is accepted.
packages=(prometheus:3.5. promtool:3.5. prometheus-alertmanager:0. victoria-metrics:1.)

log() { [ "$quiet" = --quiet ] || echo "$@" >&2; }

have_all() {
  [ -x "$cache/root/usr/bin/prometheus" ] && [ -x "$cache/root/usr/bin/promtool" ] \
    && [ -x "$cache/root/usr/bin/prometheus-alertmanager" ] \
    && [ -x "$cache/root/usr/bin/victoria-metrics" ] && [ -f "$cache/versions" ]
}

if ! have_all; then
  mkdir -p "$cache/apt/lists/partial" "$cache/apt/archives/partial" "$cache/debs" "$cache/root"
  # The Debian mirror this machine already uses, from its own apt sources (deb822 or
  # one-line format), so the script names no host of its own.
  mirror=$(sed -n 's/^URIs:[[:space:]]*\([^[:space:]]*\/debian\)\/*$/\1/p' \
    /etc/apt/sources.list.d/*.sources 2>/dev/null | head -n 1)
  if [ -z "$mirror" ]; then
    mirror=$(sed -n 's/^deb[[:space:]]\+\(\[[^]]*\][[:space:]]\+\)\?\([^[:space:]]*\/debian\)\/\?[[:space:]].*/\2/p' \
      /etc/apt/sources.list /etc/apt/sources.list.d/*.list 2>/dev/null | head -n 1)
  fi
  if [ -z "$mirror" ]; then
    echo "reference-peers: no Debian mirror found in /etc/apt/sources.list{,.d}" >&2
    exit 1
  fi
  echo "deb [signed-by=/usr/share/keyrings/debian-archive-keyring.gpg] $mirror unstable main" \
    > "$cache/apt/sources.list"
  : > "$cache/apt/status"
  apt_opts=(
    -o "Dir::Etc::SourceList=$cache/apt/sources.list"
    -o "Dir::Etc::SourceParts=/nonexistent"
    -o "Dir::State=$cache/apt"
    -o "Dir::State::Lists=$cache/apt/lists"
    -o "Dir::State::status=$cache/apt/status"
    -o "Dir::Cache=$cache/apt"
    -o "Dir::Cache::Archives=$cache/apt/archives"
    -o "APT::Architecture=$(dpkg --print-architecture)"
    -o "Debug::NoLocking=1"
    -o "APT::Sandbox::User=root"
  )
  log "reference-peers: reading the unstable suite's package lists (private apt state in $cache/apt)"
  apt-get "${apt_opts[@]}" -qq update >&2
  : > "$cache/versions.new"
  for spec in "${packages[@]}"; do
    name=${spec%%:*}
    line=${spec#*:}
    version=$(apt-cache "${apt_opts[@]}" madison "$name" | awk -F'|' '{gsub(/ /,"",$2); print $2}' \
      | grep -E "^([0-9]+:)?${line//./\\.}" | head -n 1 || true)
    if [ -z "$version" ]; then
      echo "reference-peers: Debian unstable has no $name of the ${line}x line any more" \
        "(found: $(apt-cache "${apt_opts[@]}" madison "$name" | awk -F'|' '{print $2}' | xargs))" >&2
      exit 1
    fi
    log "reference-peers: downloading $name $version"
    (cd "$cache/debs" && apt-get "${apt_opts[@]}" -qq download "$name=$version" >&2)
    deb=$(ls -t "$cache/debs/${name}_"*.deb | head -n 1)
    dpkg-deb -x "$deb" "$cache/root"
    echo "$name $version" >> "$cache/versions.new"
  done
  mv "$cache/versions.new" "$cache/versions"
fi

while read -r name version; do
  case $name in
    prometheus) bin=$cache/root/usr/bin/prometheus ;;
    promtool) bin=$cache/root/usr/bin/promtool ;;
    prometheus-alertmanager) bin=$cache/root/usr/bin/prometheus-alertmanager ;;
    victoria-metrics) bin=$cache/root/usr/bin/victoria-metrics ;;
  esac
  echo "$name $version $bin"
done < "$cache/versions"
