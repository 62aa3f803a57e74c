#!/usr/bin/env bash
# make bench: install what the benchmark needs, build layerfs if its jar is missing or older than its sources,
# then run scripts/bench/bench.py (kernel overlay vs fuse-overlayfs vs layerfs). Arguments go to bench.py.
#
#   QUICK=1       smaller sizes, fewer rounds (the overlay rows in about 2 minutes)
#   NOPLOT=1      do not install gnuplot-nox for the PNG of the ratios
#   BENCH_DIR=D   create the data directory under D (default /var/tmp; all targets use that one filesystem)
#   SCALE=0       skip the rows at scale (scripts/bench/scale.py: 100,000 entries in a directory, 100 layers,
#                 a million files)
#   IMAGES=0      skip the image rows (scripts/bench/images.sh: layerfs image against umoci and podman)
#   SERVE=0       skip the resident daemon's rows (scripts/bench/serve.sh: live mount, 100 idle mounts, 1,000
#                 mounts in a row, 20 podman runs rootful and rootless; through `layerfs serve`, a JVM per mount,
#                 fuse-overlayfs)
set -euo pipefail
root=$(cd "$(dirname "$0")/../.." && pwd)
cd "$root"

if [ "$(id -u)" != 0 ]; then
  echo "make bench mounts overlays and drops the page cache: run it as root" >&2
  exit 1
fi

bash scripts/install-deps.sh bench

# The plot is optional: gnuplot-nox is small (a handful of packages). A failure here only costs the PNG.
if [ "${NOPLOT:-0}" != 1 ] && ! command -v gnuplot >/dev/null 2>&1; then
  echo "bench: installing gnuplot-nox for the plot (NOPLOT=1 skips it)"
  if ! { apt-get -o DPkg::Lock::Timeout=300 install -y -qq --no-install-recommends gnuplot-nox >/dev/null 2>&1 \
         || { apt-get -o DPkg::Lock::Timeout=300 update -qq >/dev/null 2>&1 \
              && apt-get -o DPkg::Lock::Timeout=300 install -y -qq --no-install-recommends gnuplot-nox >/dev/null 2>&1; }; }
  then
    echo "bench: could not install gnuplot-nox; no PNG this time" >&2
  fi
fi

# Build when the jar is missing or any source or pom of the modules it is made from is newer.
jar=fuse-mount/target/layerfs.jar
if [ ! -f "$jar" ] || [ -n "$(find pom.xml core/pom.xml core/src fuse-mount/pom.xml fuse-mount/src \
                                  -newer "$jar" -type f -print -quit 2>/dev/null)" ]; then
  echo "bench: building layerfs (make build)"
  "${MAKE:-make}" build
fi

args=()
case "${QUICK:-}" in ''|0) ;; *) args+=(--quick) ;; esac
python3 scripts/bench/bench.py "${args[@]}" "$@"

# The rows at scale (a directory of 100,000 entries, a hundred layers, a million files): results/scale-*.md.
# SCALE=0 skips them.
if [ "${SCALE:-1}" != 0 ]; then
  python3 scripts/bench/scale.py "${args[@]}"
fi

# The image rows (layerfs image against umoci and podman): results/images.md. IMAGES=0 skips them.
if [ "${IMAGES:-1}" != 0 ]; then
  bash scripts/install-deps.sh containers
  [ -f image/target/layerfs-image.jar ] || "${MAKE:-make}" build
  QUICK="${QUICK:-}" bash scripts/bench/images.sh
fi

# The resident daemon's rows: results/serve.md. SERVE=0 skips them.
if [ "${SERVE:-1}" != 0 ]; then
  bash scripts/install-deps.sh containers
  [ -f daemon/target/layerfs-daemon.jar ] && [ -x daemon/target/layerfs-client ] || "${MAKE:-make}" build
  case "${QUICK:-}" in ''|0) serve_args=() ;; *) serve_args=(-n 5 -m 20 -l 100 -p 3) ;; esac
  mkdir -p results
  { echo '# layerfs serve: one daemon for many mounts'; echo; echo '```';
    bash scripts/bench/serve.sh "${serve_args[@]}" ready rss leak podman rootless 2>&1 | grep -v '^unknown argument ignored: lazytime$';
    echo '```'; } | tee results/serve.md
fi
