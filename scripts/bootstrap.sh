#!/usr/bin/env bash
# bootstrap.sh - install what building (and testing) mcpproxy needs on Debian.
#
#   scripts/bootstrap.sh build   compiler, cmake and the C libraries
#   scripts/bootstrap.sh test    the above, plus cmocka, valgrind, clang with
#                                libFuzzer, Node.js, the npm test peers and
#                                Debian's chromium
#   scripts/bootstrap.sh cluster the build list plus nats-server (make cluster-demo)
#
# Installs only what is missing, so running it again costs a second.
set -euo pipefail
cd "$(dirname "$0")/.."

mode=${1:-build}
# cmocka too: the build configures the unit tests beside the binaries.
# help2man: `make install` writes the man page from `mcpproxy --help`.
packages=(build-essential cmake pkg-config libwebsockets-dev libwebsockets-evlib-uv libuv1-dev libjansson-dev libcmocka-dev libcurl4-openssl-dev zlib1g-dev libssl-dev libnats-dev help2man libsqlite3-dev)
if [ "$mode" = test ]; then
  # clang's libFuzzer runtime is only a Recommends of clang: name it.
  # openssl: the remote-server tests make a self-signed certificate with it.
  # nats-server: the cluster tests start their own (with -js).
  packages+=(valgrind nodejs npm chromium clang clang-format libclang-rt-14-dev python3 openssl nats-server)
elif [ "$mode" = cluster ]; then
  packages+=(nats-server)
elif [ "$mode" != build ]; then
  echo "usage: $0 build|test|cluster" >&2
  exit 2
fi

missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
# Node.js may come from elsewhere than Debian (e.g. NodeSource): a working
# node and npm on PATH are as good as the packages.
if command -v node >/dev/null && command -v npm >/dev/null; then
  filtered=()
  for p in "${missing[@]}"; do
    [ "$p" = nodejs ] || [ "$p" = npm ] || filtered+=("$p")
  done
  missing=("${filtered[@]+"${filtered[@]}"}")
fi

if [ ${#missing[@]} -gt 0 ]; then
  echo "bootstrap: installing ${missing[*]}"
  sudo=""
  [ "$(id -u)" -eq 0 ] || sudo="sudo"
  $sudo apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi

if [ "$mode" = test ]; then
  # npm ci is exact (package-lock.json) and skips work when node_modules is current.
  if [ ! -f node_modules/.package-lock.json ] || [ package-lock.json -nt node_modules/.package-lock.json ]; then
    echo "bootstrap: installing npm test peers"
    npm ci --no-audit --no-fund --loglevel=error
  fi
fi
