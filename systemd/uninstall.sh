#!/bin/sh
# Removes the clusterwire service installed by systemd/install.sh.
#
#   sudo systemd/uninstall.sh           stop and disable the service, remove binary and unit;
#                                       keep /etc/clusterwire and the store in /var/lib/clusterwire
#   sudo systemd/uninstall.sh --purge   also delete the config, the store and the cache
#
# Environment: DESTDIR=/tmp/stage removes from under that directory (dry run, no systemctl).
set -eu

destdir=${DESTDIR:-}
prefix=/usr/local
purge=no
for arg in "$@"; do
  case "$arg" in
    --purge) purge=yes ;;
    -h|--help) sed -n '2,9p' "$0"; exit 0 ;;
    *) echo "uninstall.sh: unknown option $arg (see --help)" >&2; exit 2 ;;
  esac
done

if [ -z "$destdir" ] && [ "$(id -u)" -ne 0 ]; then
  echo "uninstall.sh: run as root (sudo), or set DESTDIR=/some/dir for a dry run" >&2
  exit 1
fi

unit="$destdir/etc/systemd/system/clusterwire.service"
if [ -z "$destdir" ] && [ -d /run/systemd/system ]; then
  systemctl disable --now clusterwire.service 2>/dev/null || true
fi

rm -f "$destdir$prefix/bin/clusterwire" "$unit"
rm -rf "$destdir$prefix/share/doc/clusterwire"
echo "removed $destdir$prefix/bin/clusterwire and $unit"

if [ -z "$destdir" ] && [ -d /run/systemd/system ]; then
  systemctl daemon-reload
  systemctl reset-failed clusterwire.service 2>/dev/null || true
fi

if [ "$purge" = yes ]; then
  # DynamicUser keeps the real directories under private/, with symlinks in /var/lib, /var/cache.
  rm -rf "$destdir/etc/clusterwire" \
    "$destdir/var/lib/clusterwire" "$destdir/var/lib/private/clusterwire" \
    "$destdir/var/cache/clusterwire" "$destdir/var/cache/private/clusterwire"
  echo "purged the config, the store and the cache"
else
  echo "kept $destdir/etc/clusterwire and $destdir/var/lib/clusterwire (use --purge to delete them)"
fi
