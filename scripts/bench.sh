#!/usr/bin/env bash
# Measures tcpgoon against the C reference (floodconnect) side by side, each run in a fresh
# network namespace beside the reference accept-and-hold sink (../shared/bench/netns-run), and
# prints ratios. Also: memory per held connection, idle CPU, pacing accuracy.
# Needs root (namespaces). Loopback only. Usage: scripts/bench.sh [REPEATS] (default 3).
set -euo pipefail
cd "$(dirname "$0")/.."
shared=${TCPGOON_SHARED:-../shared}
netns_run=$shared/bench/netns-run
reps=${1:-3}
[[ $(id -u) == 0 ]] || { echo "bench.sh: needs root for network namespaces" >&2; exit 1; }
[[ -x $netns_run ]] || { echo "bench.sh: $netns_run not found (set TCPGOON_SHARED)" >&2; exit 1; }
command -v /usr/bin/time >/dev/null || { echo "bench.sh: needs GNU time (apt-get install time)" >&2; exit 1; }
cargo build --release -q
bin=$PWD/target/release/tcpgoon
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

# measure CMD...: runs CMD in a fresh namespace; prints "wall_s maxrss_kb user_s sys_s".
# The wall time comes from bash's microsecond clock around the command (GNU time's %e has
# only 10 ms resolution); memory and CPU from GNU time.
measure() {
  "$netns_run" bash -c '
    t0=$EPOCHREALTIME
    /usr/bin/time -o "$0" -f "%M %U %S" "$@" >/dev/null 2>&1
    t1=$EPOCHREALTIME
    awk -v a="$t0" -v b="$t1" "BEGIN { printf \"%.3f \", b - a }" > "$0.wall"' "$tmp/t" "$@" || true
  echo "$(cat "$tmp/t.wall")$(cat "$tmp/t")"
}
# median of the first field over $reps runs of CMD...
median_wall() {
  for _ in $(seq "$reps"); do measure "$@" | cut -d' ' -f1; done | sort -n | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}'
}
ratio() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.2f", a / b }'; }

echo "machine: $(nproc) cores, $(uname -r), ip_local_port_range $(tr '\t' ' ' </proc/sys/net/ipv4/ip_local_port_range)"
echo "repeats: $reps (median wall time, each run in its own namespace)"
echo
printf '%-8s %-34s %10s %10s %8s\n' N reference "ref (s)" "tool (s)" ratio
for n in 1000 5000 14000 19500; do
  if [[ $n == 19500 ]]; then ref=(floodconnect 17001 "$n" 0 4); label="floodconnect, 4 source addresses"
  else ref=(floodconnect 17001 "$n"); label="floodconnect, 1 source address"; fi
  r=$(median_wall "${ref[@]}")
  t=$(median_wall "$bin" run 127.0.0.1 17001 -c "$n" -s 0 -y -i 0)
  printf '%-8s %-34s %10s %10s %8s\n' "$n" "$label" "$r" "$t" "$(ratio "$t" "$r")"
done
r1=$(median_wall floodconnect 17001 19500)
t=$(median_wall "$bin" run 127.0.0.1 17001 -c 19500 -s 0 -y -i 0)
printf '%-8s %-34s %10s %10s %8s\n' 19500 "floodconnect, 1 source address" "$r1" "$t" "$(ratio "$t" "$r1")"
# Past one process: 97,500 connections by 5 workers over 20 source addresses, against five
# floodconnect processes in parallel over the same 20 (4 each), beside a sink of 6 processes.
export SINK_WORKERS=6
workers=("$bin" run 127.0.0.1 17001 -c 97500 -s 0 -y -i 0 --workers 5 --source 127.0.0.1-127.0.0.20)
r5=$(median_wall bash -c 'for k in 0 1 2 3 4; do floodconnect 17001 19500 0 4 $((1+4*k)) & done; wait')
t5=$(median_wall "${workers[@]}")
printf '%-8s %-34s %10s %10s %8s\n' 97500 "5 x floodconnect, 20 source addr." "$r5" "$t5" "$(ratio "$t5" "$r5")"
held=$("$netns_run" "${workers[@]}" 2>/dev/null | grep '^Total' | tail -1)
echo "  --workers 5, its final line: $held"
# Each worker's peak RSS, read after the ramp while the connections are held (the largest of
# the five), and the peak of the whole process tree (the parent's, while it merges the reports).
w_rss=$("$netns_run" bash -c '"$@" --hold 12s >/dev/null 2>&1 & p=$!; sleep 10
  for c in $(pgrep -P $p); do awk "/VmHWM/ {print \$2}" /proc/$c/status; done | sort -n | tail -1; wait $p' _ "${workers[@]}")
tree_rss=$(measure "${workers[@]}" | cut -d' ' -f2)
unset SINK_WORKERS
echo

rss() { measure "$bin" run 127.0.0.1 17001 -c "$1" -s 0 -y -i 0 | cut -d' ' -f2; }
small=$(rss 500); large=$(rss 19500)
echo "memory: peak RSS ${small} KiB at 500, ${large} KiB at 19500 connections:" \
  "$(awk -v a="$small" -v b="$large" 'BEGIN { printf "%.1f", (b - a) * 1024 / 19000 }') bytes per added connection"
echo "memory, --workers 5 at 97500: the largest worker's peak RSS ${w_rss} KiB (19500 connections each):" \
  "$(awk -v a="$small" -v b="$w_rss" 'BEGIN { printf "%.1f", (b - a) * 1024 / 19000 }') bytes per added connection;" \
  "the largest process of the run (the parent merging the reports) ${tree_rss} KiB"

# Idle: the difference of whole-run CPU with and without a 10 s hold (medians: the dial phase's
# own CPU varies by a few hundredths between runs), and a direct reading of the CPU the process
# uses during 6 s of the hold (from /proc/PID/stat, in clock ticks).
cpu() {
  for _ in $(seq "$reps"); do
    measure "$bin" run 127.0.0.1 17001 -c 19500 -s 0 -y -i 1 --hold "$1" | awk '{ printf "%.2f\n", $3 + $4 }'
  done | sort -n | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}'
}
c0=$(cpu 0); c10=$(cpu 10s)
echo "idle: CPU (user+sys, median) holding 19500 connections for 0 s: ${c0} s, for 10 s: ${c10} s:" \
  "$(awk -v a="$c0" -v b="$c10" 'BEGIN { printf "%+.2f", b - a }') s"
# The same with keepalive every second: the kernel sends and answers the probes, not tcpgoon.
for keepalive in "" "--keepalive 1,1,3"; do
  "$netns_run" bash -c '
    "$0" run 127.0.0.1 17001 -c 19500 -s 0 -y -i 1 --hold 10s $1 > /dev/null & pid=$!
    sleep 3
    a=$(awk "{ print \$14 + \$15 }" /proc/$pid/stat)
    sleep 6
    b=$(awk "{ print \$14 + \$15 }" /proc/$pid/stat)
    wait $pid
    echo "idle, direct${1:+ ($1)}: $((b - a)) clock ticks ($(getconf CLK_TCK) per second) of CPU during 6 s of holding 19500 connections"' "$bin" "$keepalive"
done

# Pacing: 10,000 connections at 5,000/s. The tool reports its achieved rate and lag; the server
# side counts what it really holds during the hold.
"$netns_run" bash -c '
  "$0" run 127.0.0.1 17001 -c 10000 --rate 5000 -y -i 0 --hold 2s > "$1/pace" &
  sleep 3
  ss -Htn state established "( sport = :17001 )" | wc -l > "$1/held"
  wait' "$bin" "$tmp"
achieved=$(grep -o '([0-9.]* connections/s)' "$tmp/pace" | tr -d '(' | cut -d' ' -f1)
echo "pacing: --rate 5000 over 10000 connections achieved ${achieved}/s" \
  "($(awk -v a="$achieved" 'BEGIN { printf "%+.2f", (a - 5000) / 50 }')%);" \
  "$(grep -o 'at most .* behind schedule' "$tmp/pace");" \
  "the server held $(cat "$tmp/held") connections"

# Other programs after a run: floodconnect toward another port (17002) right after a FIN-closed
# run of 14,000 (its ports in TIME_WAIT), against floodconnect alone. Ports that tcpgoon bound
# explicitly were skipped by every other program's connect() port search for a minute.
after() {
  for _ in $(seq "$reps"); do
    "$netns_run" bash -c '
      if [[ $0 != none ]]; then "$0" run 127.0.0.1 17001 -c 14000 -s 0 -y -i 0 "$@" >/dev/null 2>&1; fi
      t0=$EPOCHREALTIME; floodconnect 17002 14000 >/dev/null 2>&1; t1=$EPOCHREALTIME
      awk -v a="$t0" -v b="$t1" "BEGIN { printf \"%.3f\n\", b - a }"' "$@"
  done | sort -n | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}'
}
alone=$(after none); behind=$(after "$bin")
echo "other programs: floodconnect 17002 14000 alone ${alone} s, right after tcpgoon -c 14000 (FIN) ${behind} s:" \
  "ratio $(ratio "$behind" "$alone")"
