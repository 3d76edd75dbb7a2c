#!/bin/bash
# usage: scale/profile.sh TOOL SERVER CONNS SECONDS RATE  -- runs SERVER under valgrind TOOL, drives it with ssekit bench
# Outputs go to $OUT (default /tmp/scale-prof): TOOL.SERVER.massif / .cg, .bench (the bench JSON).
# Build first: cargo build --release -p scale -p ssekit-cli (binaries from $CARGO_TARGET_DIR/release, default target/release)
set -u
cd "$(dirname "$0")/.."
bin="${CARGO_TARGET_DIR:-target}/release"
tool=$1; s=$2; n=$3; secs=$4; rate=$5; ARGS="${ARGS:-}"  # ARGS=--defaults: the server's defaults
mkdir -p "${OUT:-/tmp/scale-prof}"; out="${OUT:-/tmp/scale-prof}/$tool.$s"
rm -f $out.*; mkfifo $out.ctl
if [ $tool = massif ]; then vopts="--tool=massif --massif-out-file=$out.massif --threshold=0.5"; else vopts="--tool=callgrind --callgrind-out-file=$out.cg"; fi
valgrind $vopts $bin/$s $ARGS < $out.ctl > $out.stdout 2> $out.vg &
vpid=$!
exec 7>$out.ctl
for i in $(seq 1 100); do grep -q listening $out.stdout 2>/dev/null && break; sleep 0.2; done
addr=$(awk '/listening/{print $2}' $out.stdout)
$bin/ssekit bench http://$addr/events -c $n -d $((secs+8)) --json > $out.bench &
bpid=$!
sleep 6
[ "$rate" != 0 ] && echo "rate $rate" >&7
sleep $secs
echo "rate 0" >&7
wait $bpid
exec 7>&-
wait $vpid
rm -f $out.ctl
echo "done $s"
