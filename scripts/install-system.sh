#!/usr/bin/env bash
# Installs the system programs the local stack runs, only when missing (idempotent):
# PostgreSQL, Prometheus + promtool and Alertmanager from Debian, and Toxiproxy built
# with `go install` into the project-local, git-ignored .bin/ directory (and Jaeger v2,
# built there from its downloaded module: the stack's trace backend). Also promtool 3
# into .bin/prom3/, for checks only (`harness alerts check` runs the rule tests with it
# and with Debian's promtool 2); keep .bin/prom3 off PATH: Prometheus 2 runs the stack.
set -euo pipefail
cd "$(dirname "$0")/.."

TOXIPROXY_VERSION=v2.12.0
# Prometheus's Go module versions are v0.<major><minor>.<patch>: v0.316.0 is 3.16.0
PROMTOOL3_MODULE_VERSION=v0.316.0
PROMTOOL3_VERSION=3.16.0
BIN_DIR="$PWD/.bin"
# pint (Cloudflare's rule linter) is opt-in: `scripts/install-system.sh --pint` (`make pint`)
PINT_VERSION=v0.87.0
# Jaeger v2 (cmd/jaeger of the v1.76.0 module): the local stack's trace backend
JAEGER_VERSION=v1.76.0

need_apt=()
command -v prometheus >/dev/null || need_apt+=(prometheus)
command -v promtool >/dev/null || need_apt+=(prometheus)
command -v prometheus-alertmanager >/dev/null || command -v alertmanager >/dev/null \
  || need_apt+=(prometheus-alertmanager)
ls /usr/lib/postgresql/*/bin/postgres >/dev/null 2>&1 || need_apt+=(postgresql)
command -v redis-server >/dev/null || need_apt+=(redis-server)
# the report is checked as users see it: rendered by headless Chromium (tests)
command -v chromium >/dev/null || command -v chromium-browser >/dev/null || need_apt+=(chromium)
# benchmarks only: `scripts/install-system.sh --bench`
if [ "${1:-}" = "--bench" ]; then
  command -v wrk >/dev/null || need_apt+=(wrk)
fi

if [ ${#need_apt[@]} -gt 0 ]; then
  sudo=""
  [ "$(id -u)" -eq 0 ] || sudo="sudo"
  echo "installing Debian packages: ${need_apt[*]}"
  $sudo apt-get update -q
  # no recommends: keeps node-exporter and friends (and their services) off the machine
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -q --no-install-recommends \
    "${need_apt[@]}"
fi

if [ ! -x "$BIN_DIR/toxiproxy-server" ]; then
  command -v go >/dev/null || { echo "go is needed to build Toxiproxy: install Go 1.23+"; exit 1; }
  echo "building toxiproxy-server $TOXIPROXY_VERSION into $BIN_DIR"
  mkdir -p "$BIN_DIR"
  GOBIN="$BIN_DIR" GOFLAGS=-mod=mod go install \
    -ldflags "-X github.com/Shopify/toxiproxy/v2.Version=${TOXIPROXY_VERSION#v}" \
    "github.com/Shopify/toxiproxy/v2/cmd/server@${TOXIPROXY_VERSION}"
  mv "$BIN_DIR/server" "$BIN_DIR/toxiproxy-server"
fi

# build_from_module MODULE VERSION PACKAGE OUT [LDFLAGS]: for modules whose `go install` is
# refused (Jaeger: a replace directive; pint: the proxy answers 403 on its version list)
# but which download: build from a writable copy of the module (the cache is read-only)
build_from_module() {
  local module=$1 version=$2 package=$3 out=$4 ldflags=${5:-} src tmp
  src="$(go mod download -json "${module}@${version}" \
    | sed -n 's/^[[:space:]]*"Dir": "\(.*\)",$/\1/p')"
  [ -d "$src" ] || { echo "go mod download gave no directory for $module"; return 1; }
  tmp="$(mktemp -d)"
  cp -r "$src" "$tmp/module"
  chmod -R u+w "$tmp/module"
  mkdir -p "$(dirname "$out")"
  (cd "$tmp/module" && go build -ldflags "$ldflags" -o "$out" "$package") || { rm -rf "$tmp"; return 1; }
  rm -rf "$tmp"
}

# Jaeger v2 (measured: 5.5 minutes with nothing cached)
if [ ! -x "$BIN_DIR/jaeger" ]; then
  command -v go >/dev/null || { echo "go is needed to build Jaeger: install Go 1.24+"; exit 1; }
  echo "building jaeger $JAEGER_VERSION into $BIN_DIR (about 5 minutes the first time)"
  build_from_module github.com/jaegertracing/jaeger "$JAEGER_VERSION" ./cmd/jaeger "$BIN_DIR/jaeger"
fi

if [ ! -x "$BIN_DIR/prom3/promtool" ]; then
  command -v go >/dev/null || { echo "go is needed to build promtool 3: install Go 1.26.7+"; exit 1; }
  echo "building promtool $PROMTOOL3_VERSION into $BIN_DIR/prom3 (a few minutes the first time)"
  mkdir -p "$BIN_DIR/prom3"
  GOBIN="$BIN_DIR/prom3" GOFLAGS=-mod=mod go install \
    -ldflags "-X github.com/prometheus/common/version.Version=${PROMTOOL3_VERSION}" \
    "github.com/prometheus/prometheus/cmd/promtool@${PROMTOOL3_MODULE_VERSION}"
fi

# pint only with --pint (built like Jaeger: its `go install` is refused)
want_pint=""
for arg in "$@"; do case "$arg" in --pint) want_pint=1 ;; esac; done
if [ -n "$want_pint" ] && [ ! -x "$BIN_DIR/pint" ]; then
  command -v go >/dev/null || { echo "go is needed to build pint: install Go 1.26+"; exit 1; }
  echo "building pint $PINT_VERSION into $BIN_DIR (about a minute)"
  build_from_module github.com/cloudflare/pint "$PINT_VERSION" ./cmd/pint "$BIN_DIR/pint" \
    "-X main.version=${PINT_VERSION#v}"
fi
