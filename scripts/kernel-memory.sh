#!/usr/bin/env bash
# The kernel's memory per held, idle TCP connection: the growth of the slab caches a socket
# uses (objects × size, /proc/slabinfo) between before a run and during its hold, in a fresh
# network namespace beside the reference sink (../shared/bench/netns-run). Both ends are on
# this machine, so the growth is divided by twice the connections. Needs root and a release
# build. Usage: scripts/kernel-memory.sh [CONNECTIONS] (default 19500).
set -euo pipefail
cd "$(dirname "$0")/.."
n=${1:-19500}
if [[ -z "${TCPGOON_IN_NETNS:-}" ]]; then
  exec env TCPGOON_IN_NETNS=1 ../shared/bench/netns-run "$PWD/scripts/kernel-memory.sh" "$n"
fi
caches="TCP sock_inode_cache filp dentry eventpoll_epi kmalloc-256"
slab() { awk -v want="$caches" 'BEGIN {split(want, w, " "); for (i in w) keep[w[i]] = 1}
  ($1 in keep) {print $1, $2 * $4}' /proc/slabinfo | sort; }
before=$(slab)
target/release/tcpgoon run -y -c "$n" -s 0 -i 0 --hold 8s 127.0.0.1 17001 >/dev/null &
sleep 5
during=$(slab)
grep '^TCP:' /proc/net/sockstat
wait
join <(echo "$before") <(echo "$during") |
  awk -v s=$((2 * n)) '{d = $3 - $2; t += d; printf "%-18s %6.0f bytes per socket\n", $1, d / s}
    END {printf "%-18s %6.0f bytes per socket\n", "all of them", t / s}'
