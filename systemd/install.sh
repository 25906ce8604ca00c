#!/bin/sh
# Installs clusterwire as a systemd service on a Debian/Ubuntu server.
#
#   swift build -c release && sudo systemd/install.sh --no-build
#   sudo systemctl enable --now clusterwire
#
# What it does: (1) builds the release binary (unless --no-build or --binary PATH),
# (2) installs it as /usr/local/bin/clusterwire, (3) installs feeds/network.toml as
# /etc/clusterwire/clusterwire.toml if no config is there yet (an existing config is never
# touched), with the store path set to /var/lib/clusterwire/clusterwire.sqlite, (4) installs the
# unit as /etc/systemd/system/clusterwire.service and (5) runs `systemctl daemon-reload`.
#
# Options:
#   --no-build      use the existing release build (.build/release/clusterwire)
#   --binary PATH   install this binary instead of building one
#   --config PATH   example config to install (default: feeds/network.toml)
# Environment:
#   DESTDIR=/tmp/stage   dry run: install under this directory, run no systemctl, need no root
set -eu

here=$(cd "$(dirname "$0")" && pwd)
root=$(dirname "$here")
destdir=${DESTDIR:-}
prefix=/usr/local
binary=
build=yes
example="$root/feeds/network.toml"

while [ $# -gt 0 ]; do
  case "$1" in
    --no-build) build=no ;;
    --binary)
      [ $# -ge 2 ] || { echo "install.sh: --binary needs a path" >&2; exit 2; }
      binary=$2; build=no; shift ;;
    --config)
      [ $# -ge 2 ] || { echo "install.sh: --config needs a path" >&2; exit 2; }
      example=$2; shift ;;
    -h|--help) sed -n '2,24p' "$0"; exit 0 ;;
    *) echo "install.sh: unknown option $1 (see --help)" >&2; exit 2 ;;
  esac
  shift
done

if [ -z "$destdir" ] && [ "$(id -u)" -ne 0 ]; then
  echo "install.sh: run as root (sudo), or set DESTDIR=/some/dir for a dry run" >&2
  exit 1
fi

if [ -z "$binary" ]; then
  if [ "$build" = yes ]; then
    echo "building the release binary (this takes a while the first time)…"
    (cd "$root" && swift build -c release --product clusterwire)
    binary="$(cd "$root" && swift build -c release --show-bin-path)/clusterwire"
  else
    # No swift call here: under sudo, root's PATH often has no swift.
    binary="$root/.build/release/clusterwire"
  fi
fi
[ -x "$binary" ] || { echo "install.sh: no executable at $binary (build it first)" >&2; exit 1; }
[ -f "$example" ] || { echo "install.sh: example config $example not found" >&2; exit 1; }

bindir="$destdir$prefix/bin"
confdir="$destdir/etc/clusterwire"
unitdir="$destdir/etc/systemd/system"
docdir="$destdir$prefix/share/doc/clusterwire"

# sources.d/: where the example config's `include` looks for drop-in [[source]] files.
install -d -m 0755 "$bindir" "$confdir" "$confdir/sources.d" "$unitdir"
install -m 0755 "$binary" "$bindir/clusterwire"
echo "installed $bindir/clusterwire"

config="$confdir/clusterwire.toml"
if [ -e "$config" ]; then
  echo "kept existing $config"
else
  # Point [store] path at the service's StateDirectory; add a [store] table if there is none.
  tmp=$(mktemp)
  awk -v store='path = "/var/lib/clusterwire/clusterwire.sqlite"' '
    /^[[:space:]]*\[/ { table = $0; gsub(/[[:space:]]/, "", table) }
    table == "[store]" && /^[[:space:]]*path[[:space:]]*=/ { print store; done = 1; next }
    { print }
    END { if (!done) { print ""; print "[store]"; print store } }
  ' "$example" > "$tmp"
  install -m 0644 "$tmp" "$config"
  rm -f "$tmp"
  echo "installed $config (from $example)"
fi

install -m 0644 "$here/clusterwire.service" "$unitdir/clusterwire.service"
echo "installed $unitdir/clusterwire.service"
if [ -f "$root/README.md" ]; then
  install -d -m 0755 "$docdir"
  install -m 0644 "$root/README.md" "$docdir/README.md"
fi

if [ -z "$destdir" ]; then
  if [ -d /run/systemd/system ]; then
    systemctl daemon-reload
  else
    echo "systemd is not running here: skipped systemctl daemon-reload"
  fi
  "$prefix/bin/clusterwire" check-config --config "$config" || \
    echo "warning: $config does not validate yet; fix it before starting the service" >&2
else
  echo "dry run under DESTDIR=$destdir: systemctl not called"
fi

cat <<MSG

Next steps:
  edit /etc/clusterwire/clusterwire.toml (server.base_url, sources)
  sudo systemctl enable --now clusterwire
  systemctl status clusterwire; journalctl -u clusterwire -f
  after editing the config: sudo systemctl reload clusterwire
MSG
