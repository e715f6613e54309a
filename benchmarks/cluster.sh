#!/usr/bin/env bash
# Cluster figures on PostgreSQL with real silo processes (`hopt silo --insecure`, loopback), driven by `hopt load`.
#   benchmarks/cluster.sh throughput SILOS JOBS INPUT [EVALS]   jobs/s and latency with SILOS silos
#   benchmarks/cluster.sh chaos JOBS INPUT [EVALS] [EVERY]      3 silos, one SIGKILLed every EVERY s (default 60) and
#                                                               restarted; prints each kill's recovery time (kill until
#                                                               a job the dead silo held runs again elsewhere)
# Needs HOPT_TEST_POSTGRES (an admin connection string) and psql. Prints what it measured, one line each.
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
hopt="$root/src/HeavyOptimizer.Admin/bin/Release/net10.0/hopt"
mode="$1"; shift
admin="${HOPT_TEST_POSTGRES:?set HOPT_TEST_POSTGRES}"
pg() { # key=value pairs of an Npgsql string -> libpq
  local s="$1" db="${2:-}"; s="${s//;/ }"; s="${s//Host=/host=}"; s="${s//Port=/port=}"; s="${s//Username=/user=}"; s="${s//Password=/password=}"
  s="${s//Database=/dbname=}"; [ -n "$db" ] && s="$(echo "$s" | sed "s/dbname=[^ ]*//") dbname=$db"; echo "$s"
}
db="hopt_bench_$$"
psql "$(pg "$admin")" -qc "CREATE DATABASE $db" >/dev/null
conn="$(echo "$admin" | sed "s/Database=[^;]*/Database=$db/")"
work="$(mktemp -d)"
pids=(); ports=()
cleanup() { for p in "${pids[@]}"; do kill -9 "$p" 2>/dev/null || true; done; sleep 1; psql "$(pg "$admin")" -qc "DROP DATABASE IF EXISTS $db WITH (FORCE)" >/dev/null; rm -rf "$work"; }
trap cleanup EXIT
"$hopt" db init --provider postgres --connection "$conn" >/dev/null
q() { psql "$(pg "$admin" "$db")" -Atc "$1"; }
start() { # index
  local i="$1"
  [ -n "${ports[$i]:-}" ] || ports[$i]=$((21000 + 10 * i))
  "$hopt" silo --postgres "$conn" --insecure --data-dir "$work/data" --silo-port "${ports[$i]}" --gateway-port $((ports[i] + 1)) \
    --dashboard-port $((ports[i] + 2)) --gpu off --heavydb embedded --watchdog 5 --input-root "$work" >"$work/silo$i.log" 2>&1 &
  pids[$i]=$!
}
active() { q "SELECT count(*) FROM orleansmembershiptable WHERE status = 3"; }
wait_active() { until [ "$(active)" -ge "$1" ]; do sleep 0.5; done; }

case "$mode" in
throughput)
  silos="$1" jobs="$2" input="$3" evals="${4:-2000}"
  cp "$input" "$work/input.csv"
  for ((i = 0; i < silos; i++)); do start "$i"; done
  wait_active "$silos"
  "$hopt" load --cluster "$conn" --jobs 4 --input "$work/input.csv" -n 10 --max-evaluations "$evals" --job-prefix warm- >/dev/null
  "$hopt" load --cluster "$conn" --jobs "$jobs" --concurrency $((8 * silos)) --input "$work/input.csv" -n 10 --max-evaluations "$evals"
  ;;
chaos)
  jobs="$1" input="$2" evals="${3:-2000}" every="${4:-60}"
  cp "$input" "$work/input.csv"
  for i in 0 1 2; do start "$i"; done
  wait_active 3
  "$hopt" load --cluster "$conn" --jobs "$jobs" --concurrency 24 --input "$work/input.csv" -n 10 --max-evaluations "$evals" \
    --job-prefix chaos- >"$work/load.txt" 2>&1 &
  load=$!
  round=0
  while kill -0 "$load" 2>/dev/null; do
    sleep "$every"; kill -0 "$load" 2>/dev/null || break
    victim=$((round % 3)); round=$((round + 1))
    held="$(q "SELECT string_agg(job_id, ',') FROM hopt_queue WHERE silo LIKE '%:${ports[$victim]}:%'")"
    kill -9 "${pids[$victim]}"; killed=$(date +%s.%N)
    start "$victim"
    if [ -n "$held" ]; then
      first="${held%%,*}"
      until q "SELECT state FROM hopt_jobs WHERE job_id = '$first'" | grep -q Completed || [ -n "$(q "SELECT silo FROM hopt_queue WHERE job_id = '$first' AND silo NOT LIKE '%:${ports[$victim]}:%'")" ]; do sleep 0.2; done
      printf 'kill %d (silo port %s, held %s jobs): job %s running again after %.1f s\n' "$round" "${ports[$victim]}" "$(echo "$held" | tr ',' '\n' | wc -l)" "$first" "$(echo "$(date +%s.%N) - $killed" | bc)"
    else
      printf 'kill %d (silo port %s): it held no job\n' "$round" "${ports[$victim]}"
    fi
  done
  wait "$load" && rc=0 || rc=$?
  cat "$work/load.txt"
  echo "hopt load exit $rc; completed rows $(q "SELECT count(*) FROM hopt_jobs WHERE state = 'Completed'"), outcomes $(q "SELECT count(*) FROM hopt_outcomes"), queue left $(q "SELECT count(*) FROM hopt_queue")"
  ;;
*) echo "usage: $0 throughput SILOS JOBS INPUT [EVALS] | chaos JOBS INPUT [EVALS] [EVERY]" >&2; exit 2 ;;
esac
