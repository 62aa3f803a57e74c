#!/usr/bin/env bash
# Prints a tree's description, one sorted line per object below DIR (DIR itself left out): name, type, mode,
# owner, mtime in seconds, and by type: size, link count and content sha256 (regular files), target (symlinks),
# device numbers (devices); then the xattrs other than the overlay's own. Two trees are equal for the image
# tests when these lines are. A few processes in all (not some per file), so that large trees stay quick.
set -euo pipefail
cd "$1"
work=$(mktemp -d "${TMPDIR:-/tmp}/tree.XXXXXX")
trap 'rm -rf "$work"' EXIT
find . -mindepth 1 -type f -print0 | xargs -0 -r sha256sum > "$work/sums"
find . -mindepth 1 \( -type c -o -type b \) -print0 | xargs -0 -r stat -c '%n %t:%T' > "$work/devs"
getfattr -R -h -d -m - -e hex . 2>/dev/null | grep -v 'overlay\.' > "$work/xattrs" || true
find . -mindepth 1 -printf '%p %y %m %U:%G %T@' \
  \( -type f -printf ' size=%s links=%n' -o -type l -printf ' -> %l' -o -true \) -printf '\n' > "$work/meta"
awk -v sums="$work/sums" -v devs="$work/devs" -v xattrs="$work/xattrs" '
  BEGIN {
    while ((getline l < sums) > 0) { h = substr(l, 1, 16); p = substr(l, 67); sha[p] = " sha=" h }
    while ((getline l < devs) > 0) { n = split(l, f, " "); dev[f[1]] = " dev=" f[n] }
    while ((getline l < xattrs) > 0) {
      if (l ~ /^# file: /) { cur = substr(l, 9); if (cur !~ /^\./) cur = "./" cur; continue }
      if (l != "") x[cur] = x[cur] " " l
    }
  }
  { p = $1; sub(/\.[0-9]+$/, "", $5); print $0 sha[p] dev[p] x[p] }
' "$work/meta" | sort
