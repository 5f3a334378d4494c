#!/usr/bin/env bash
# bench/calls.sh N [HOLD_SECONDS] — N concurrent bridged, recorded calls.
#
# SIPp plays N strangers calling the service number (each sends a 440 Hz
# tone after the bridge) and the trunk (answers as the owner, echoing RTP).
# All N calls are up at once for at least HOLD_SECONDS/2 (they are started
# over HOLD_SECONDS/2). Reports failed calls, callrec's CPU seconds per
# call-minute, its peak RSS, and whether every recording is complete (stereo
# 8 kHz, duration within 1% of the bridged time).
set -euo pipefail
N=${1:?usage: bench/calls.sh N [HOLD_SECONDS]}
HOLD=${2:-60}
root=$(cd "$(dirname "$0")/.." && pwd)
work=$(mktemp -d /tmp/callrec-bench.XXXXXX)
trap 'kill $(jobs -p) 2>/dev/null || true; wait 2>/dev/null || true' EXIT
ulimit -n 65536 2>/dev/null || true

go build -o "$work/callrec" "$root/cmd/callrec"
# rtp_stream sends the file raw (a WAV header would be sent as audio).
sox -n -r 8000 -c 1 -t ul "$work/tone.ulaw" synth 10 sine 440 vol 0.5
# SIPp does not expand -key values inside rtp_stream="…": write the path in.
sed "s|\[tone\]|$work/tone.ulaw|" "$root/bench/caller.xml" > "$work/caller.xml"

SIP=5260 TRUNK=5270 CALLER=5280
cat > "$work/callrec.yaml" <<YAML
service_number: "+15550100"
owner_number: "+15550111"
data_dir: "$work/data"
max_concurrent_calls: $((N + 100))
shutdown_grace: "5s"
log: {level: warn}
sip:
  listen: "127.0.0.1:$SIP"
  media_address: "127.0.0.1"
  rtp_ports: "30000-31999"
trunk:
  address: "127.0.0.1:$TRUNK"
YAML

"$work/callrec" serve --config "$work/callrec.yaml" 2> "$work/callrec.log" &
pid=$!
for _ in $(seq 50); do (exec 3<>/dev/tcp/127.0.0.1/$SIP) 2>/dev/null && break; sleep 0.1; done

sipp -sf "$root/bench/trunk.xml" -i 127.0.0.1 -p $TRUNK -mi 127.0.0.1 -mp 7000 -rtp_echo \
  -nostdin -max_socket $((N * 2 + 100)) > "$work/trunk.out" 2>&1 &
trunk=$!
sleep 0.5

ticks() { awk '{print $14 + $15}' "/proc/$pid/stat"; }
hz=$(getconf CLK_TCK)
t0=$(ticks)
rate=$(( (N * 2 + HOLD - 1) / HOLD )) # start all calls within HOLD/2 seconds
start=$(date +%s.%N)
set +e
sipp -sf "$work/caller.xml" -i 127.0.0.1 -p $CALLER -mi 127.0.0.1 -mp 6000 \
  -key service +15550100 -key caller +12125550199 \
  -d $((HOLD * 1000)) -r "$rate" -rp 1000 -l "$N" -m "$N" -timeout $((HOLD * 3 + 120))s \
  -nostdin -max_socket $((N * 2 + 100)) 127.0.0.1:$SIP > "$work/caller.out" 2>&1
sipp_rc=$?
set -e
elapsed=$(echo "$(date +%s.%N) - $start" | bc)
sleep 2 # last recordings are stored after the final BYE
t1=$(ticks)
rss_kb=$(awk '/VmHWM/ {print $2}' "/proc/$pid/status")
kill -TERM $pid; wait $pid || true
kill $trunk 2>/dev/null || true

ok=$(awk -F'|' '/Successful call/ {gsub(/ /,"",$3); print $3}' "$work/caller.out" | tail -1)
failed=$(awk -F'|' '/Failed call/ {gsub(/ /,"",$3); print $3}' "$work/caller.out" | tail -1)
check=$("$work/callrec" calls list --json --limit 1000 --config "$work/callrec.yaml" | (cd "$root" && go run ./bench/checkrec)) || true
cpu=$(echo "scale=2; ($t1 - $t0) / $hz" | bc)
minutes=$(echo "$check" | sed -n 's/.*bridged_minutes=\([0-9.]*\).*/\1/p')
per=$(echo "scale=3; $cpu / $minutes" | bc 2>/dev/null || echo "?")
echo "N=$N hold=${HOLD}s sipp_rc=$sipp_rc successful=$ok failed=$failed wall=${elapsed%.*}s"
echo "callrec_cpu_seconds=$cpu cpu_seconds_per_call_minute=$per peak_rss_mb=$((rss_kb / 1024))"
echo "$check"
echo "errors_logged=$(grep -c 'level=ERROR' "$work/callrec.log" || true) (log: $work/callrec.log)"
