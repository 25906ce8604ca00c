#!/usr/bin/env bash
# Issue 17, lever 4: one table of /feed.atom served by nginx and by clusterwire, every row
# measured in the same run by wrk (same threads and connections): 200s, then 304s with
# If-None-Match, each as requests/s, p50 and p99 (medians over ROUNDS interleaved rounds) and as a
# ratio to nginx's row of the same status. wrk, nginx and clusterwire share this machine's cores.
#
#   apt-get install -y wrk nginx-light
#   swift build -c release --product cwbench
#   Benchmarks/scripts/serve-table.sh [ROUNDS] [DURATION_S] [CONNECTIONS]
set -euo pipefail
cd "$(dirname "$0")/../.."
rounds=${1:-5}
duration=${2:-8}
connections=${3:-32}
cwbench=${CWBENCH:-.build/release/cwbench}

out=$("$cwbench" serve-bench --rounds "$rounds" --duration "$duration" \
  --connections "$connections" --threads 2)
echo "$out" | grep -E '^(document|response head|wrk )'
echo "$out" | grep '^ROUND' | awk -F'|' '{ gsub(/^ +| +$/, "", $2); gsub(/ req\/s/, "", $3);
  printf "  round %s %-22s %s req/s\n", substr($1, 7), $2, $3 }'
# Per round, clusterwire / nginx of the same status (the rows of a round ran back to back, so a
# ratio holds when the shared machine's speed drifts between rounds); the median is quoted.
ratios=$(echo "$out" | grep '^ROUND' | awk -F'|' '
  { r = $1; gsub(/[^0-9]/, "", r); name = $2; gsub(/^ +| +$/, "", name); v = $3 + 0; x[r, name] = v
    if (r > n) n = r }
  END {
    for (i = 1; i <= n; i++) {
      printf "200 %.4f\n", x[i, "clusterwire 200"] / x[i, "nginx 200"]
      printf "304 %.4f\n", x[i, "clusterwire 304"] / x[i, "nginx 304"]
    }
  }')
median() { sort -n | awk '{ a[NR] = $1 } END { if (NR % 2) print a[(NR + 1) / 2]; else print (a[NR / 2] + a[NR / 2 + 1]) / 2 }'; }
r200=$(echo "$ratios" | awk '$1 == 200 { print $2 }' | median)
r304=$(echo "$ratios" | awk '$1 == 304 { print $2 }' | median)
span200=$(echo "$ratios" | awk '$1 == 200 { print $2 }' | sort -n | awk 'NR == 1 { lo = $1 } { hi = $1 } END { printf "%.2f–%.2f", lo, hi }')
span304=$(echo "$ratios" | awk '$1 == 304 { print $2 }' | sort -n | awk 'NR == 1 { lo = $1 } { hi = $1 } END { printf "%.2f–%.2f", lo, hi }')
echo
echo "| server | status | req/s (median) | min–max | p50 ms | p99 ms | × nginx (median of rounds, spread) |"
echo "|---|---|---:|---:|---:|---:|---:|"
# MEDIAN | name | rps | min-max | p50 | p99 | errors
echo "$out" | grep '^MEDIAN' | awk -F'|' -v r200="$r200" -v r304="$r304" -v s200="$span200" \
  -v s304="$span304" '
  { name = $2; gsub(/^ +| +$/, "", name); range = $4; gsub(/^ +| +$/, "", range)
    split(name, w, " "); status = w[2]; if (w[3] != "") status = status " " w[3]
    ratio = "1.00"
    if (name == "clusterwire 200") ratio = sprintf("**%.2f** (%s)", r200, s200)
    else if (name == "clusterwire 304") ratio = sprintf("**%.2f** (%s)", r304, s304)
    else if (w[1] == "clusterwire") ratio = "—"
    printf "| %s | %s | %.0f | %s | %.2f | %.2f | %s |\n", w[1], status, $3, range, $5, $6, ratio }'
