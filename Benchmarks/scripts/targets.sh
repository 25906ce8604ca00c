#!/usr/bin/env bash
# Issue 17's table in one run: every target row measured here, now, against its same-run
# baseline (raw libxml2, the peer parsers, the raw SQLite limit, xmllint, nginx), by the scripts
# beside this one, whose full output goes to $OUT (default /tmp/cw-targets). Takes ~10 minutes.
#
#   needs what parse-table.sh, crawl-table.sh and serve-table.sh need (release cwbench and
#   clusterwire, the corpus, the peers' venv, farm-bench, xmllint, sqlite3, nginx, wrk)
#   Benchmarks/scripts/targets.sh [RUNS]
set -euo pipefail
cd "$(dirname "$0")/../.."
runs=${1:-5}
out=${OUT:-/tmp/cw-targets}
mkdir -p "$out"
cwbench=${CWBENCH:-.build/release/cwbench}

echo "parser rows…" >&2
Benchmarks/scripts/parse-table.sh .build/corpus "$runs" > "$out/parse.txt"
echo "store ingest…" >&2
"$cwbench" store-bench --corpus .build/corpus --big 0 --runs 3 --in-flight 16 > "$out/store.txt"
echo "crawl --once…" >&2
Benchmarks/scripts/crawl-table.sh .build/corpus "$runs" > "$out/crawl.txt" 2>&1
echo "serving…" >&2
Benchmarks/scripts/serve-table.sh "$runs" 5 32 > "$out/serve.txt"

row() { grep -F "| $1 |" "$out/parse.txt" | head -1; }
ratio() { row "$1" | awk -F'|' '{ gsub(/ /, "", $5); print $5 }'; }
mbs() { row "$1" | awk -F'|' '{ gsub(/ /, "", $3); print $3 }'; }
full=$(ratio "FeedParser.parse, full pipeline")
refetch=$(ratio "FeedParser.parse, re-fetch, 10 % of entries changed")
vs_rs=$(awk -v a="$(mbs "FeedParser.parse, full pipeline")" \
  -v b="$(grep -F '| feedparser_rs' "$out/parse.txt" | awk -F'|' '{ gsub(/ /, "", $3); print $3 }')" \
  'BEGIN { printf "%.2f", a / b }')
ingest=$(grep -E '^standard corpus .*16 in flight' "$out/store.txt" | sed -n 's/.* = \([0-9]*\) entries\/s; .*/\1/p' | head -1)
floor=$(grep -oE '16 in flight [0-9.]+× of this limit' "$out/store.txt" | head -1 | grep -oE '[0-9.]+×')
# farm-bench's "A/B wall  min median max" lines: the first is the cold crawl, the second the
# re-crawl; A is clusterwire, B xmllint, so clusterwire's speed ratio is 1 / (A/B).
cold=$(grep '^A/B wall' "$out/crawl.txt" | sed -n 1p | awk '{ printf "%.2f", 1 / $4 }')
warm=$(grep '^A/B wall' "$out/crawl.txt" | sed -n 2p | awk '{ printf "%.2f", 1 / $4 }')
s200=$(grep -F '| clusterwire | 200 |' "$out/serve.txt" | awk -F'|' '{ print $8 }' | sed 's/^ *//; s/ *$//')
s304=$(grep -F '| clusterwire | 304 |' "$out/serve.txt" | awk -F'|' '{ print $8 }' | sed 's/^ *//; s/ *$//')

uptime >&2
echo "| what (same run, $(date -u +%F), $(nproc) cores) | measured | target |"
echo "|---|---:|---:|"
echo "| full pipeline, cold, vs raw SAX | ${full}× | ≥ 0.5× |"
echo "| full pipeline, cold, vs feedparser-rs | ${vs_rs}× | ≥ 2× |"
echo "| re-fetch with 10 % changed entries, vs raw SAX | ${refetch}× | ≥ 0.8× |"
echo "| ingest with de-dup, standard corpus, 16 in flight | ${ingest}/s, ${floor} the raw SQLite limit (same batching) | ≥ 20 000/s and ≥ 0.9× |"
echo "| \`crawl --once\` into a fresh store vs xmllint (libxml2 DOM), same bytes | ${cold}× (re-crawl, HTML reused: ${warm}×) | ≥ 0.35× |"
echo "| \`/feed.atom\` 200 / 304 vs nginx | ${s200} / ${s304} | ≥ 1.0× / ≥ 1.0× |"
