#!/usr/bin/env bash
# Builds the Kubernetes test bed (docs: ../shared/kubernetes/README.md, "Level A"), only what
# is missing: etcd 3.6 (Debian's 3.4 is too old for the 1.34 API server's watches), the API
# server, controller manager and scheduler 1.34, kwok (fake nodes and pods) and the Chaos Mesh
# controller manager with its CRD manifest. Everything is built from the Go module proxy into
# a user cache shared by every clone on this machine
# (${XDG_CACHE_HOME:-~/.cache}/chaos-harness/k8s/<component>-<version>/) and linked into the
# checkout's .bin/k8s/, where the test bed (tests/k8s/testbed.py) looks.
# The wrapper modules next to this script pin every version (scripts/k8s/*/go.mod) and every
# checksum (go.sum); the builds are -mod=readonly: go neither adds nor changes either.
# Builds run under `nice -n 19`: the machine's other work keeps its timing.
#   scripts/install-k8s.sh [--without-chaos-mesh]
set -euo pipefail
cd "$(dirname "$0")/.."

ETCD_VERSION=v3.6.16
KUBERNETES_VERSION=v1.34.3
KWOK_VERSION=v0.7.0
# the proxy serves no Chaos Mesh tags: this pseudo-version is what @latest resolved to
CHAOS_MESH_VERSION=v0.9.1-0.20260902003049-47411975a8cb

CACHE_DIR="${XDG_CACHE_HOME:-$HOME/.cache}/chaos-harness/k8s"
LINK_DIR="$PWD/.bin/k8s"
WRAPPERS="$PWD/scripts/k8s"

with_chaos_mesh=1
for arg in "$@"; do
  case "$arg" in
    --without-chaos-mesh) with_chaos_mesh="" ;;
    *) echo "usage: scripts/install-k8s.sh [--without-chaos-mesh]" >&2; exit 2 ;;
  esac
done

command -v go >/dev/null || { echo "go is needed to build the Kubernetes test bed: install Go 1.26+"; exit 1; }
mkdir -p "$CACHE_DIR" "$LINK_DIR"

# clients parse the server's version: without these the API server reports v0.0.0
K8S_LDFLAGS="-X k8s.io/component-base/version.gitVersion=${KUBERNETES_VERSION}"
K8S_LDFLAGS+=" -X k8s.io/component-base/version.gitMajor=1"
K8S_LDFLAGS+=" -X k8s.io/component-base/version.gitMinor=$(echo "$KUBERNETES_VERSION" | cut -d. -f2)"
K8S_LDFLAGS+=" -X k8s.io/component-base/version.gitTreeState=clean"

# announce NAME VERSION ESTIMATE: what is built, where, and about how long it takes
# (figures measured on 2 busy cores with nothing cached; once built, nothing is rebuilt)
announce() {
  echo "building $1 $2 into $CACHE_DIR/$1-$2 (takes $3)"
}

# link NAME VERSION FILE: .bin/k8s/FILE -> the cached copy
link() {
  ln -sfn "$CACHE_DIR/$1-$2/$3" "$LINK_DIR/$3"
}

# build_in_wrapper WRAPPER PACKAGE OUT [LDFLAGS]: builds a package of a pinned dependency from
# a scratch copy of its wrapper module (go writes into its module directory; the checkout stays clean)
build_in_wrapper() {
  local wrapper=$1 package=$2 out=$3 ldflags=${4:-} tmp started
  tmp="$(mktemp -d)"
  cp "$WRAPPERS/$wrapper"/* "$tmp/"
  started=$SECONDS
  mkdir -p "$(dirname "$out")"
  if ! (cd "$tmp" && GOFLAGS=-mod=readonly nice -n 19 go build -ldflags "$ldflags" -o "$out.partial" "$package"); then
    rm -rf "$tmp" "$out.partial"
    return 1
  fi
  mv "$out.partial" "$out"
  rm -rf "$tmp"
  echo "  built $(basename "$out") in $((SECONDS - started)) s"
}

if [ ! -x "$CACHE_DIR/etcd-$ETCD_VERSION/etcd" ]; then
  announce etcd "$ETCD_VERSION" "about 30 s to 1 minute"
  build_in_wrapper etcd go.etcd.io/etcd/server/v3 "$CACHE_DIR/etcd-$ETCD_VERSION/etcd"
fi
link etcd "$ETCD_VERSION" etcd

# the API server first: it compiles most of what the other two share (they then take less)
for name in kube-apiserver kube-controller-manager kube-scheduler; do
  if [ ! -x "$CACHE_DIR/$name-$KUBERNETES_VERSION/$name" ]; then
    case "$name" in
      kube-apiserver) estimate="5 to 7 minutes" ;;
      kube-controller-manager) estimate="2 to 3 minutes: most of it is shared with the API server" ;;
      kube-scheduler) estimate="about 10 s after the controller manager" ;;
    esac
    announce "$name" "$KUBERNETES_VERSION" "$estimate"
    build_in_wrapper kubernetes "k8s.io/kubernetes/cmd/$name" \
      "$CACHE_DIR/$name-$KUBERNETES_VERSION/$name" "$K8S_LDFLAGS"
  fi
  link "$name" "$KUBERNETES_VERSION" "$name"
done

if [ ! -x "$CACHE_DIR/kwok-$KWOK_VERSION/kwok" ]; then
  announce kwok "$KWOK_VERSION" "1 to 3 minutes"
  started=$SECONDS
  GOBIN="$CACHE_DIR/kwok-$KWOK_VERSION" GOFLAGS=-mod=mod nice -n 19 \
    go install "sigs.k8s.io/kwok/cmd/kwok@$KWOK_VERSION"
  echo "  built kwok in $((SECONDS - started)) s"
fi
link kwok "$KWOK_VERSION" kwok

if [ -n "$with_chaos_mesh" ]; then
  cm_dir="$CACHE_DIR/chaos-mesh-$CHAOS_MESH_VERSION"
  if [ ! -x "$cm_dir/chaos-controller-manager" ]; then
    announce chaos-mesh "$CHAOS_MESH_VERSION" "about 5.5 minutes"
    build_in_wrapper chaos-mesh github.com/chaos-mesh/chaos-mesh/cmd/chaos-controller-manager \
      "$cm_dir/chaos-controller-manager"
  fi
  if [ ! -f "$cm_dir/crd.yaml" ]; then
    # the 23 CRDs ship in the module itself (the build above downloaded it)
    src="$(go mod download -json "github.com/chaos-mesh/chaos-mesh@$CHAOS_MESH_VERSION" \
      | sed -n 's/^[[:space:]]*"Dir": "\(.*\)",$/\1/p')"
    [ -f "$src/manifests/crd.yaml" ] || { echo "no manifests/crd.yaml in the Chaos Mesh module ($src)"; exit 1; }
    cp "$src/manifests/crd.yaml" "$cm_dir/crd.yaml.partial"
    chmod u+w "$cm_dir/crd.yaml.partial"
    mv "$cm_dir/crd.yaml.partial" "$cm_dir/crd.yaml"
  fi
  link chaos-mesh "$CHAOS_MESH_VERSION" chaos-controller-manager
  ln -sfn "$cm_dir/crd.yaml" "$LINK_DIR/chaos-mesh-crd.yaml"
fi
echo "Kubernetes test bed binaries: $LINK_DIR"
