#!/usr/bin/env bash
# Feed renders per minute while every source answers 304 (issue: "re-render only when what is
# published changes"). Serves N RSS files from python3's http.server on loopback (it answers
# If-Modified-Since with 304), runs the real daemon on them with a short interval, lets the
# first fetch of every source land, then reads clusterwire_feed_renders_total at the start and
# the end of a window while a client requests /feed.atom every second.
#   Benchmarks/scripts/renders-under-304.sh [SOURCES=1000] [WINDOW_SECONDS=60]
set -euo pipefail
n=${1:-1000}
window=${2:-60}
root=$(cd "$(dirname "$0")/../.." && pwd)
bin=${CLUSTERWIRE:-$root/.build/release/clusterwire}
[ -x "$bin" ] || bin=$root/.build/debug/clusterwire
work=$(mktemp -d)
trap 'kill $(jobs -p) 2>/dev/null; wait 2>/dev/null; rm -rf "$work"' EXIT
mkdir -p "$work/www"
for i in $(seq 1 "$n"); do
  printf '<?xml version="1.0"?><rss version="2.0"><channel><title>S%s</title><link>https://s%s.example/</link><item><title>Item of %s</title><link>https://s%s.example/1</link><guid>https://s%s.example/1</guid><pubDate>Tue, 01 Dec 2026 10:00:00 +0000</pubDate></item></channel></rss>' \
    "$i" "$i" "$i" "$i" "$i" > "$work/www/s$i.xml"
done
origin=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
python3 -m http.server --bind 127.0.0.1 --directory "$work/www" "$origin" >/dev/null 2>"$work/origin.log" &
{
  printf '[server]\nlisten = "127.0.0.1:%s"\nbase_url = "https://news.example.org/"\n' "$port"
  printf '[store]\npath = "%s/state.sqlite"\n[feed]\ntitle = "Bench"\n' "$work"
  printf '[crawl]\ninterval = "20s"\nper_host = 8\nconcurrency = 16\n[log]\nlevel = "warning"\n'
  for i in $(seq 1 "$n"); do
    printf '[[source]]\nid = "s%s"\nurl = "http://127.0.0.1:%s/s%s.xml"\n' "$i" "$origin" "$i"
  done
} > "$work/clusterwire.toml"
"$bin" run --config "$work/clusterwire.toml" 2>"$work/daemon.log" >/dev/null &
renders() { curl -s "http://127.0.0.1:$port/metrics" | awk '/^clusterwire_feed_renders_total/ {s+=$2} END {print s+0}'; }
# Wait until every source's first fetch has landed (n entries stored).
for _ in $(seq 1 600); do
  got=$(curl -s "http://127.0.0.1:$port/metrics" 2>/dev/null | awk '/^clusterwire_entries_stored/ {print $2}' || true)
  [ "${got%.*}" = "$n" ] && break
  sleep 1
done
echo "sources: $n, entries stored: ${got:-?}"
sleep 25   # one more full interval: every source has now been asked again and answered 304
curl -s "http://127.0.0.1:$port/feed.atom" >/dev/null
start=$(renders)
before304=$(grep -c '" 304 ' "$work/origin.log" || true)
for _ in $(seq 1 "$window"); do curl -s "http://127.0.0.1:$port/feed.atom" >/dev/null; sleep 1; done
end=$(renders)
after304=$(grep -c '" 304 ' "$work/origin.log" || true)
echo "304 answers in the window: $((after304 - before304)); other answers: $(grep -c '" 200 ' "$work/origin.log" || true) 200s in all"
echo "feed renders in ${window} s of all-304 crawling: $((end - start)) (counter $start -> $end)"
