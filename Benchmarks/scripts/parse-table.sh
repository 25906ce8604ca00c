#!/usr/bin/env bash
# Issue 17, item 5: one table of parser throughput on the standard corpus, every row measured in
# the same run: raw libxml2 (SAX2 and xmlReadMemory) and clusterwire's rows from
# `cwbench parse-bench`, then the peer parsers of ../shared/bench/peers (feedparser-rs,
# fastfeedparser, feedparser), each as MB/s and as a ratio to the raw SAX row of this run.
#
#   python3 ../shared/bench/gen_corpus.py --seed 1 -n 200 --out .build/corpus
#   python3 -m venv .build/peers && .build/peers/bin/pip install -r ../shared/bench/peers/requirements.txt
#   swift build -c release --product cwbench
#   Benchmarks/scripts/parse-table.sh [CORPUS] [RUNS]
set -euo pipefail
cd "$(dirname "$0")/../.."
corpus=${1:-.build/corpus}
runs=${2:-5}
peers_dir=${PEERS_DIR:-../shared/bench/peers}
python=${PEERS_PYTHON:-.build/peers/bin/python}
cwbench=${CWBENCH:-.build/release/cwbench}

ours=$("$cwbench" parse-bench --corpus "$corpus" --runs "$runs")
echo "$ours" | sed -n '1,4p'
# Rows of parse-bench's table: | name | median s | MB/s | entries/s | × raw SAX | × xmlReadMemory |
rows=$(echo "$ours" | grep '^| [^-m]' | grep -v '^| measurement')
sax=$(echo "$rows" | awk -F'|' 'NR == 1 { gsub(/ /, "", $4); print $4 }')

peer_rows=""
for p in feedparser_rs fastfeedparser feedparser; do
  peer_runs=$runs
  # feedparser is ~200 times slower than libxml2: one timed pass is minutes already.
  [ "$p" = feedparser ] && peer_runs=1
  line=$("$python" "$peers_dir/bench_py.py" --parser "$p" --corpus "$corpus" --runs "$peer_runs" \
    --out .build/peer-results | grep '^RESULT')
  mb=$(echo "$line" | sed -n 's/.* mb_s=\([0-9.]*\).*/\1/p')
  eps=$(echo "$line" | sed -n 's/.* entries_s=\([0-9]*\).*/\1/p')
  version=$(echo "$line" | sed -n 's/.* version=\([^ ]*\).*/\1/p')
  peer_rows+="$p $version|$mb|$eps"$'\n'
done

echo
echo "| parser | MB/s | entries/s | × raw SAX (same run) |"
echo "|---|---:|---:|---:|"
echo "$rows" | awk -F'|' -v sax="$sax" '{
  name = $2; gsub(/^ +| +$/, "", name); mb = $4; gsub(/ /, "", mb); eps = $5; gsub(/ /, "", eps)
  printf "| %s | %s | %s | %.2f |\n", name, mb, eps, mb / sax }'
printf '%s' "$peer_rows" | awk -F'|' -v sax="$sax" 'NF == 3 {
  printf "| %s (peer) | %.1f | %s | %.2f |\n", $1, $2, $3, $2 / sax }'
