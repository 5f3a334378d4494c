#!/usr/bin/env bash
# bench/calls.sh [--codec pcmu|g722] [--trunk-codec pcmu|g722] [--srtp] [--check-audio] N [HOLD_SECONDS]
#   — N concurrent bridged, recorded calls.
#
# SIPp plays N strangers calling the service number (each sends a 440 Hz
# tone after the bridge) and the trunk (answers as the owner, echoing RTP).
# All N calls are up at once for at least HOLD_SECONDS/2 (they are started
# over HOLD_SECONDS/2). Reports failed calls, callrec's CPU seconds per
# call-minute, its peak RSS, and whether every recording is complete (stereo
# 8 kHz, or 16 kHz when both sides are G.722; duration within 1% of the
# bridged time).
#
# --codec is the strangers' codec, --trunk-codec the owner's (both PCMU by
# default): G.722 on both sides is recorded at 16 kHz, G.722 on one side is
# transcoded. --srtp makes the strangers' media SRTP (RTP/SAVP, SDES
# AES_CM_128_HMAC_SHA1_80) while the trunk stays plain RTP; SIPp 3.6 has no
# SRTP, so the strangers are then bench/loadgen (the trunk is still SIPp).
# --check-audio also checks that both channels of every recording carry the
# tone throughout (checkrec -audio) and prints a second line for it.
set -euo pipefail
usage="usage: bench/calls.sh [--codec pcmu|g722] [--trunk-codec pcmu|g722] [--srtp] [--check-audio] N [HOLD_SECONDS]"
codec=pcmu trunk_codec=pcmu srtp=no audio=()
args=()
while (($#)); do
  case $1 in
    --codec) codec=${2:?$usage}; shift 2 ;;
    --codec=*) codec=${1#*=}; shift ;;
    --trunk-codec) trunk_codec=${2:?$usage}; shift 2 ;;
    --trunk-codec=*) trunk_codec=${1#*=}; shift ;;
    --srtp) srtp=yes; shift ;;
    --check-audio) audio=(-audio); shift ;;
    -h|--help) echo "$usage"; exit 0 ;;
    -*) echo "$usage" >&2; exit 2 ;;
    *) args+=("$1"); shift ;;
  esac
done
set -- "${args[@]}"
# payload type and SDP encoding name of a codec
codec_pt() { case $1 in pcmu) echo 0 ;; g722) echo 9 ;; *) echo "$usage" >&2; exit 2 ;; esac; }
codec_name() { case $1 in pcmu) echo PCMU ;; g722) echo G722 ;; esac; }
pt=$(codec_pt "$codec") trunk_pt=$(codec_pt "$trunk_codec")
rec_rate=8000
[[ $codec == g722 && $trunk_codec == g722 ]] && rec_rate=16000
N=${1:?$usage}
HOLD=${2:-60}
root=$(cd "$(dirname "$0")/.." && pwd)
work=$(mktemp -d /tmp/callrec-bench.XXXXXX)
trap 'kill $(jobs -p) 2>/dev/null || true; wait 2>/dev/null || true' EXIT
ulimit -n 65536 2>/dev/null || true

go build -o "$work/callrec" "$root/cmd/callrec"
if [[ $codec == g722 || $srtp == yes ]]; then
  go build -o "$work/loadgen" "$root/bench/loadgen"
fi
# rtp_stream sends the file raw (a WAV header would be sent as audio).
if [[ $codec == g722 ]]; then
  tone=$work/tone.g722
  "$work/loadgen" tone -codec g722 -seconds 10 -o "$tone"
else
  tone=$work/tone.ulaw
  sox -n -r 8000 -c 1 -t ul "$tone" synth 10 sine 440 vol 0.5
fi
# SIPp does not expand -key values inside rtp_stream="…": write the path
# and the codec in.
sed -e "s|\[tone\]|$tone|" -e "s|\[codec_pt\]|$pt|g" -e "s|\[codec_name\]|$(codec_name "$codec")|g" \
  "$root/bench/caller.xml" > "$work/caller.xml"
sed -e "s|\[codec_pt\]|$trunk_pt|g" -e "s|\[codec_name\]|$(codec_name "$trunk_codec")|g" \
  "$root/bench/trunk.xml" > "$work/trunk.xml"

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

# The trunk's echo port lies above every caller's media port (SIPp's
# [auto_media_port] takes 4 ports a call from -mp 6000): a caller given the
# echo port would loop its audio through both echoes.
sipp -sf "$work/trunk.xml" -i 127.0.0.1 -p $TRUNK -mi 127.0.0.1 -mp 12000 -rtp_echo \
  -nostdin -max_socket $((N * 2 + 100)) > "$work/trunk.out" 2>&1 &
trunk=$!
sleep 0.5

ticks() { awk '{print $14 + $15}' "/proc/$pid/stat"; }
hz=$(getconf CLK_TCK)
t0=$(ticks)
rate=$(( (N * 2 + HOLD - 1) / HOLD )) # start all calls within HOLD/2 seconds
start=$(date +%s.%N)
set +e
if [[ $srtp == yes ]]; then
  "$work/loadgen" call -server 127.0.0.1:$SIP -listen 127.0.0.1:$CALLER \
    -service +15550100 -caller +12125550199 -codec "$codec" -srtp \
    -calls "$N" -rate "$rate" -hold "${HOLD}s" > "$work/caller.out" 2> "$work/caller.err"
else
  sipp -sf "$work/caller.xml" -i 127.0.0.1 -p $CALLER -mi 127.0.0.1 -mp 6000 \
    -key service +15550100 -key caller +12125550199 \
    -d $((HOLD * 1000)) -r "$rate" -rp 1000 -l "$N" -m "$N" -timeout $((HOLD * 3 + 120))s \
    -nostdin -max_socket $((N * 2 + 100)) 127.0.0.1:$SIP > "$work/caller.out" 2>&1
fi
sipp_rc=$?
set -e
elapsed=$(echo "$(date +%s.%N) - $start" | bc)
sleep 2 # last recordings are stored after the final BYE
t1=$(ticks)
rss_kb=$(awk '/VmHWM/ {print $2}' "/proc/$pid/status")
kill -TERM $pid; wait $pid || true
kill $trunk 2>/dev/null || true

if [[ $srtp == yes ]]; then
  ok=$(sed -n 's/.*successful=\([0-9]*\).*/\1/p' "$work/caller.out")
  failed=$(sed -n 's/.*failed=\([0-9]*\).*/\1/p' "$work/caller.out")
else
  ok=$(awk -F'|' '/Successful call/ {gsub(/ /,"",$3); print $3}' "$work/caller.out" | tail -1)
  failed=$(awk -F'|' '/Failed call/ {gsub(/ /,"",$3); print $3}' "$work/caller.out" | tail -1)
fi
check=$("$work/callrec" calls list --json --limit 1000 --config "$work/callrec.yaml" | (cd "$root" && go run ./bench/checkrec -rate $rec_rate "${audio[@]}")) || true
cpu=$(echo "scale=2; ($t1 - $t0) / $hz" | bc)
minutes=$(echo "$check" | sed -n 's/.*bridged_minutes=\([0-9.]*\).*/\1/p')
per=$(echo "scale=3; $cpu / $minutes" | bc 2>/dev/null || echo "?")
if [[ $codec != pcmu || $trunk_codec != pcmu || $srtp == yes ]]; then
  echo "caller=$codec$([[ $srtp == yes ]] && echo +srtp) trunk=$trunk_codec recordings=${rec_rate}Hz"
fi
if [[ $srtp == yes ]]; then
  echo "N=$N hold=${HOLD}s loadgen_rc=$sipp_rc successful=$ok failed=$failed wall=${elapsed%.*}s"
  echo "loadgen: $(cat "$work/caller.out")"
else
  echo "N=$N hold=${HOLD}s sipp_rc=$sipp_rc successful=$ok failed=$failed wall=${elapsed%.*}s"
fi
echo "callrec_cpu_seconds=$cpu cpu_seconds_per_call_minute=$per peak_rss_mb=$((rss_kb / 1024))"
echo "$check"
echo "errors_logged=$(grep -c 'level=ERROR' "$work/callrec.log" || true) (log: $work/callrec.log)"
