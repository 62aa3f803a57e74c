#!/usr/bin/env bash
# Prints a tree's description, one sorted line per object below DIR (DIR itself left out): name, type, mode,
# owner, size (regular files), mtime (seconds; directories too), symlink target, device numbers, content sha256,
# and xattrs other than the overlay's own. Two trees are equal for the image tests when these lines are.
set -euo pipefail
cd "$1"
find . -mindepth 1 -printf '%p %y %m %U:%G %T@ ' \( -type f -printf 'size=%s ' -o -type l -printf '-> %l ' -o -true \) \
  \( \( -type c -o -type b \) -exec stat -c 'dev=%t:%T' {} \; -o -printf '\n' \) \
  | sed 's/ \([0-9]*\)\.[0-9]* / \1 /' | sort > /tmp/.tree.$$ 
while read -r line; do
  name=${line%% *}
  extra=""
  if [ -f "$name" ] && [ ! -L "$name" ]; then extra="sha=$(sha256sum < "$name" | cut -c1-16)"; fi
  x=$(getfattr -h -d -m - -e hex "$name" 2>/dev/null | grep -v '^#' | grep -v '^$' | grep -v 'overlay\.' | tr '\n' ' ' || true)
  echo "$line $extra $x"
done < /tmp/.tree.$$
rm -f /tmp/.tree.$$
