#!/usr/bin/env bash
# End-to-end timing of `./hopt optimize` (whole command: start-up, parse, search, output) with wall time and peak
# memory from /usr/bin/time, and the best fitness from --json. Prints a Markdown table for benchmarks/README.md.
# Usage: benchmarks/e2e.sh [path/to/sensex_2500.csv]
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
sensex="${1:-$root/../shared/data/sensex_2500.csv}"
cache="${TMPDIR:-/tmp}/hopt-bench"
mkdir -p "$cache"
wide="$cache/sample_25544x82_seed7.csv"
"$root/hopt" --help >/dev/null
[ -f "$wide" ] || "$root/hopt" sample --strategies 25544 --rows 82 --seed 7 --output "$wide" >/dev/null

run() { # label input seed time-limit
  local json="$cache/result.json" stats="$cache/time.txt"
  /usr/bin/time -f "%e %M" -o "$stats" "$root/hopt" optimize --input "$2" --portfolio-size 35 --seed "$3" \
    --time-limit "$4" --output "$cache/runs" --json >"$json" 2>/dev/null
  local best method
  best=$(sed -n '/"best": {/,/}/p' "$json" | sed -n 's/.*"fitness": \([-0-9.eE+]*\).*/\1/p' | head -1)
  method=$(sed -n '/"best": {/,/}/p' "$json" | sed -n 's/.*"algorithm": "\([A-Z]*\)".*/\1/p' | head -1)
  read -r wall kb <"$stats"
  printf '| %s | %s | %s | %s s | %.0f MB | %.2f (%s) |\n' "$1" "$3" "$4" "$wall" "$((kb / 1024))" "$best" "$method"
}

echo "| input | seed | --time-limit | wall (whole command) | peak RSS | best fitness (method) |"
echo "|---|---|---|---|---|---|"
if [ -f "$sensex" ]; then
  for seed in 1 2 3; do run "sensex_2500.csv (2,500 x 82)" "$sensex" "$seed" 2; done
else
  echo "| sensex_2500.csv | - | - | skipped: $sensex not found | | |"
fi
run "generated 25,544 x 82 (40 MB)" "$wide" 1 5

# Backend ingest of the 25,544 x 82 file into a fresh store: whole command and its peak memory.
echo
echo "| backend | ingest 25,544 x 82 (whole \`hopt dataset ingest\` command) | peak RSS |"
echo "|---|---|---|"
for backend in parquet heavydb; do
  store="$cache/store-$backend"
  rm -rf "$store"
  /usr/bin/time -f "%e %M" -o "$cache/time.txt" "$root/hopt" dataset ingest --input "$wide" --backend "$backend" --data-dir "$store" >/dev/null
  read -r wall kb <"$cache/time.txt"
  printf '| %s | %s s | %s MB |\n' "$backend" "$wall" "$((kb / 1024))"
done
