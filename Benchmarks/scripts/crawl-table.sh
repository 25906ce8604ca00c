#!/usr/bin/env bash
# Issue 17: `clusterwire crawl --once` of the standard corpus into a fresh SQLite store, against a
# raw libxml2 DOM parse of the same bytes (`xmllint --noout`, one process for all files), paired
# run by run with farm-bench so the ratio holds when the machine's speed drifts. Both times are
# whole processes (start-up included). The crawl reads every file as a `file:` source, parses,
# sanitises, de-duplicates and commits; a second row re-crawls the same store with the bodies
# unchanged but their validators forgotten, so every document is parsed again and its stored
# HTML reused (`html=…-reused` in the log).
#
#   python3 ../shared/bench/gen_corpus.py --seed 1 -n 200 --out .build/corpus
#   swift build -c release --product clusterwire
#   Benchmarks/scripts/crawl-table.sh [CORPUS] [RUNS]
set -euo pipefail
cd "$(dirname "$0")/../.."
corpus=$(cd "${1:-.build/corpus}" && pwd)
runs=${2:-5}
cw=$(pwd)/${CLUSTERWIRE:-.build/release/clusterwire}
work=$(mktemp -d /tmp/cw-crawl-bench.XXXXXX)
trap 'rm -rf "$work"' EXIT

{
  printf '[store]\npath = "%s/store.sqlite"\n\n[crawl]\nconcurrency = 16\nper_host = 16\n' "$work"
  printf 'max_body = "16MiB"\n\n[log]\nlevel = "warning"\n\n'
  for f in "$corpus"/*.xml; do
    id=$(basename "$f" .xml | tr '_' '-')
    printf '[[source]]\nid = "%s"\nurl = "%s"\n\n' "$id" "$f"
  done
} > "$work/bench.toml"
"$cw" check-config "$work/bench.toml" > /dev/null

files=("$corpus"/*.xml)
echo "corpus: ${#files[@]} files, $(du -cb "${files[@]}" | tail -1 | cut -f1) bytes"
echo
echo "== crawl --once into a fresh store vs xmllint --noout (A/B)"
farm-bench -n "$runs" --timeout 900 \
  --vs "xmllint --noout ${files[*]}" \
  -- sh -c "rm -f '$work'/store.sqlite*; exec '$cw' crawl --once --config '$work/bench.toml'"

echo
echo "== re-crawl, bodies unchanged but re-parsed, stored HTML reused vs xmllint --noout (A/B)"
rm -f "$work"/store.sqlite*
"$cw" crawl --once --config "$work/bench.toml"
cp "$work/store.sqlite" "$work/primed.sqlite"
farm-bench -n "$runs" --timeout 900 \
  --vs "xmllint --noout ${files[*]}" \
  -- sh -c "rm -f '$work'/store.sqlite-*; cp '$work/primed.sqlite' '$work/store.sqlite'; sqlite3 '$work/store.sqlite' 'UPDATE source SET etag = NULL, lastModified = NULL, bodyHash = NULL' && exec '$cw' crawl --once --config '$work/bench.toml'"
