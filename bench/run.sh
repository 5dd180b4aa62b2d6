#!/usr/bin/env bash
# npm run bench: ringio's echo server against the reference servers of the shared
# bench kit (C epoll, C io_uring, Node net; Bun when BUN=path is given), every
# echoed byte verified by the kit's C load generator. Figures are ratios to the
# first server of the same run: the machine is shared and noisy.
#
#   npm run bench                       # the default cells
#   CELLS="100x64x1" REPEAT=3 npm run bench
#   BUN=npm REPEAT=3 npm run bench      # with Bun beside node:net (issue 18's anchors)
set -euo pipefail
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
kit=${BENCH_KIT:-$root/../shared/bench}
[ -d "$kit" ] || { echo "bench: the shared bench kit is not at $kit (set BENCH_KIT)" >&2; exit 2; }
work=$(mktemp -d /tmp/ringio-bench.XXXXXX)
trap 'rm -rf "$work"' EXIT
cp "$kit"/*.c "$kit"/*.sh "$kit"/*.mjs "$kit"/Makefile "$work"/
cd "$work"
if ! [ -e /usr/include/liburing.h ]; then
  echo "# bench: installing liburing-dev for the C io_uring reference server" >&2
  (apt-get install -y -qq liburing-dev >/dev/null 2>&1 || { apt-get update -qq && apt-get install -y -qq liburing-dev >/dev/null; }) || true
fi
# need_deb PKG CMD: the Debian package of a load tool, when the command is missing.
need_deb() {
  command -v "$2" >/dev/null 2>&1 && return 0
  echo "# bench: installing $1 for $2" >&2
  apt-get install -y -qq "$1" >/dev/null 2>&1 || { apt-get update -qq && apt-get install -y -qq "$1" >/dev/null; } || echo "# bench: could not install $1: its line is skipped" >&2
}
need_deb redis-tools redis-benchmark
need_deb wrk wrk
make -s echo-load echo-epoll >/dev/null
servers=(epoll=./echo-epoll)
make -s echo-uring >/dev/null 2>&1 && servers+=(uring=./echo-uring)
# ringio on both backends in the same run, so a regression of either shows (issue 18).
servers+=("ringio=node $root/examples/dist/echo-server.js --port {port}" "ringio-poll=env RINGIO_BACKEND=poll node $root/examples/dist/echo-server.js --port {port}" "node=node echo-node-net.mjs")
# BUN=path runs the kit's Bun server too; BUN=npm fetches Bun's Linux x64 binary from the npm registry first.
if [ "${BUN:-}" = npm ]; then
  (npm pack -s @oven/bun-linux-x64@1 >/dev/null && tar xzf oven-bun-linux-x64-*.tgz) && BUN=$work/package/bin/bun || { echo "# bench: could not fetch bun from npm: its line is skipped" >&2; BUN=; }
fi
[ -n "${BUN:-}" ] && servers+=("bun=$BUN echo-bun.mjs")
export CELLS=${CELLS:-"1x64x1 100x64x1 1000x64x1 10000x64x1 100x4096x16"} DURATION=${DURATION:-3} REPEAT=${REPEAT:-1}
out=$root/bench/results/echo-$(date +%F-%H%M).txt
{ echo "# ringio $(git -C "$root" rev-parse --short HEAD) $(date -Is)"; ./run-bench.sh "${servers[@]}"; } 2>&1 | tee "$out"
# The proxy line: reactive-proxy vs a node:net pipe() proxy, through the kit's own load and echo server.
[ -f "$root/examples/dist/bench-proxy.js" ] && ECHO_LOAD=$work/echo-load ECHO_SERVER=$work/echo-epoll node "$root/examples/dist/bench-proxy.js" 2>&1 | grep -v '^# connected' | tee -a "$out"
# The pipelined protocol line: the custom-codec RESP server on framed() vs the same codec on node:net, driven by redis-benchmark.
# The HTTP line: Node's http/https on ringio (serveNode) vs native, driven by wrk.
for extra in bench-resp bench-http bench-stdout bench-fs bench-channels; do
  [ -f "$root/examples/dist/$extra.js" ] && { node "$root/examples/dist/$extra.js" 2>&1 | tee -a "$out" || echo "# $extra failed (exit $?)" | tee -a "$out"; }
done
# The multi-core line (issue 17): ringio on 2 worker threads vs 1 vs node:net under cluster with 2 workers,
# all on both CPUs (the load generator shares them: compare CPU per message, not only msgs/s).
if [ "${WORKERS_CELL:-1}" = 1 ]; then
  echo "# --workers: server and load generator share CPUs 0-1" | tee -a "$out"
  SERVER_CPU=0,1 CLIENT_CPU=0,1 CELLS=${WORKERS_CELLS:-"100x64x1 1000x64x1"} ./run-bench.sh \
    "ringio-w2=node $root/examples/dist/echo-server.js --port {port} --workers 2" \
    "ringio-w1=node $root/examples/dist/echo-server.js --port {port} --workers 1" \
    "node-cluster2=node $root/examples/dist/echo-server-node.js --port {port} --cluster 2" 2>&1 | tee -a "$out"
fi
# The pipe-to-pipe cat line (issue 16): examples/cat.js vs node's stdin.pipe(stdout) vs /bin/cat, wall time; 1 GiB x 5 rounds stays under a minute.
[ -f "$root/examples/dist/bench-cat.js" ] && { node "$root/examples/dist/bench-cat.js" --mib 1024 --rounds 5 2>&1 | tee -a "$out" || echo "# bench-cat failed (exit $?)" | tee -a "$out"; }
echo "# saved to $out"
