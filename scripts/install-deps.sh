#!/usr/bin/env bash
# Install the system packages that layerfs's tests need, only when missing.
#
# Usage: scripts/install-deps.sh [bench] [containers]
#   (no argument)  libfuse 2 runtime, fuse3 (fusermount3, mount.fuse3),
#                  fuse-overlayfs, attr (getfattr/setfattr), util-linux
#                  (runuser/setpriv), locales (the ISO-8859-1 charmap bin/layerfs
#                  builds its byte-exact locale for the image commands from), gcc (the build compiles
#                  the daemon's mount client, daemon/src/main/c, with cc);
#                  makes sure /dev/fuse exists.
#   bench          also fio
#   containers     also podman, buildah, runc and busybox-static (the offline test image), skopeo, uidmap
#                  and umoci (the image tests compare layerfs image with them), and containerd (with
#                  ctr; the snapshotter tests run their own containerd)
#
# Idempotent and silent when everything is already present. Runs
# `apt-get update` at most once, and only if something must be installed.
# Never installs the Debian package `fuse` (FUSE 2 utilities): fuse3
# Breaks/Replaces it, and installing `fuse` would remove fuse3 and
# fuse-overlayfs.
#
# Environment:
#   LAYERFS_ALLOW_NO_FUSE=1  only warn (exit 0) when /dev/fuse is missing.
set -euo pipefail

want_bench=0
want_containers=0
for arg in "$@"; do
  case "$arg" in
    bench) want_bench=1 ;;
    containers) want_containers=1 ;;
    -h|--help) sed -n '2,20p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
    *) echo "install-deps: unknown argument '$arg' (expected: bench, containers)" >&2; exit 2 ;;
  esac
done

# runuser, ldconfig, mount.fuse3 and modprobe live in sbin; a non-root PATH may lack it.
PATH="$PATH:/usr/local/sbin:/usr/sbin:/sbin"

have() { command -v "$1" >/dev/null 2>&1; }

# Is the FUSE 2 shared library (libfuse.so.2) present?
# (Captured into a variable rather than `ldconfig -p | grep -q`: with pipefail,
# grep -q exiting early can make the pipeline fail with SIGPIPE.)
have_libfuse2() {
  local cache=""
  if have ldconfig; then
    cache="$(ldconfig -p 2>/dev/null || true)"
    [[ "$cache" == *"libfuse.so.2 "* ]] && return 0
  fi
  compgen -G '/lib/*/libfuse.so.2' >/dev/null \
    || compgen -G '/usr/lib/*/libfuse.so.2' >/dev/null \
    || compgen -G '/usr/lib/libfuse.so.2' >/dev/null
}

# Candidate version of a package per `apt-cache policy`, empty if none.
apt_candidate() {
  local out cand
  out="$(apt-cache policy "$1" 2>/dev/null || true)"
  cand="$(printf '%s\n' "$out" | sed -n 's/^ *Candidate: *//p')"
  [[ "$cand" == "(none)" ]] && cand=""
  printf '%s' "$cand"
}

# Debian 13 renamed libfuse2 to libfuse2t64 (64-bit time_t transition);
# there `libfuse2` is at most a virtual package with no candidate.
libfuse2_package() {
  if [[ -n "$(apt_candidate libfuse2)" ]]; then
    echo libfuse2
  elif [[ -n "$(apt_candidate libfuse2t64)" ]]; then
    echo libfuse2t64
  else
    echo ""
  fi
}

# --- what is missing -------------------------------------------------------
missing=()   # Debian package names; the placeholder @LIBFUSE2@ is resolved later
have_libfuse2 || missing+=("@LIBFUSE2@")
have fusermount3 && have mount.fuse3 || missing+=(fuse3)
have fuse-overlayfs || missing+=(fuse-overlayfs)
have getfattr && have setfattr || missing+=(attr)
have runuser && have setpriv || missing+=(util-linux)
[[ -f /usr/share/i18n/charmaps/ISO-8859-1.gz ]] || missing+=(locales)
have cc || missing+=(gcc)
if (( want_bench )); then
  have fio || missing+=(fio)
fi
if (( want_containers )); then
  have podman || missing+=(podman)
  have newuidmap && have newgidmap || missing+=(uidmap)   # rootless podman (RootlessPodmanThroughDaemonTest)
  have buildah || missing+=(buildah)
  have runc || missing+=(runc)
  [[ -x /bin/busybox ]] || missing+=(busybox-static)
  have skopeo || missing+=(skopeo)
  have umoci || missing+=(umoci)
  have containerd && have ctr || missing+=(containerd)
fi

# Fill pkgs from missing, resolving the libfuse 2 package name;
# libfuse2_unresolved=1 when neither name has a candidate.
resolve_packages() {
  local p lf
  pkgs=()
  libfuse2_unresolved=0
  for p in "${missing[@]}"; do
    if [[ "$p" == "@LIBFUSE2@" ]]; then
      lf="$(libfuse2_package)"
      if [[ -z "$lf" ]]; then
        libfuse2_unresolved=1
        lf=libfuse2
      fi
      pkgs+=("$lf")
    else
      pkgs+=("$p")
    fi
  done
}

# --- install ---------------------------------------------------------------
if (( ${#missing[@]} )); then
  if (( EUID != 0 )); then
    resolve_packages
    note=""
    (( libfuse2_unresolved )) && note=" (libfuse2t64 instead of libfuse2 on Debian 13+)"
    echo "install-deps: missing packages; as root run: apt-get install --no-install-recommends ${pkgs[*]}$note" >&2
    exit 1
  fi
  export DEBIAN_FRONTEND=noninteractive
  log="$(mktemp)"
  trap 'rm -f "$log"' EXIT
  if ! apt-get -o DPkg::Lock::Timeout=300 update -qq >"$log" 2>&1; then
    cat "$log" >&2
    echo "install-deps: apt-get update failed" >&2
    exit 1
  fi
  resolve_packages
  if (( libfuse2_unresolved )); then
    echo "install-deps: neither libfuse2 nor libfuse2t64 has an install candidate (see apt-cache policy)" >&2
    exit 1
  fi
  echo "install-deps: installing ${pkgs[*]}"
  if ! apt-get -o DPkg::Lock::Timeout=300 install -y -qq --no-install-recommends "${pkgs[@]}" >"$log" 2>&1; then
    cat "$log" >&2
    echo "install-deps: apt-get install ${pkgs[*]} failed" >&2
    exit 1
  fi
fi

# --- /dev/fuse -------------------------------------------------------------
if [[ ! -c /dev/fuse ]]; then
  if (( EUID == 0 )); then
    have modprobe && modprobe fuse >/dev/null 2>&1 || true
    # Module present (built in or loaded) but no device node, as in some containers.
    if [[ ! -e /dev/fuse && -e /sys/class/misc/fuse ]]; then
      mknod -m 0666 /dev/fuse c 10 229 2>/dev/null || true
    fi
  fi
  if [[ ! -c /dev/fuse ]]; then
    msg="install-deps: /dev/fuse is missing (no FUSE kernel support here, or the container does not expose /dev/fuse); FUSE mount tests cannot run"
    if [[ "${LAYERFS_ALLOW_NO_FUSE:-0}" == 1 ]]; then
      echo "$msg (continuing: LAYERFS_ALLOW_NO_FUSE=1)" >&2
    else
      echo "$msg" >&2
      exit 1
    fi
  fi
fi
