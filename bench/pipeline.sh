#!/usr/bin/env bash
# bench/pipeline.sh [MINUTES] — the post-call pipeline on a synthetic call.
#
# Renders a two-party flite conversation of about MINUTES minutes (default
# 10) at 8 kHz, then reports:
#   - the sphinx engine's real-time factor per channel (each channel is
#     decoded on its own core, so wall time / audio time);
#   - the analytics stage's time on that call (Go benchmark on the same
#     length, and the share of `callrec process` spent after transcription).
# The openai and aws engines run on remote servers; their speed is the
# server's, not callrec's, and is not measured here.
set -euo pipefail
MIN=${1:-10}
root=$(cd "$(dirname "$0")/.." && pwd)
work=$(mktemp -d /tmp/callrec-pipeline.XXXXXX)
cd "$root"
go build -o "$work/callrec" ./cmd/callrec
go run ./internal/corpus/cmd/mkcorpus -out "$work/corpus" -rates 8000 -long "${MIN}m" >/dev/null
wav="$work/corpus/long-8000.wav"
dur=$(soxi -D "$wav")
now() { date +%s.%N; }

t0=$(now)
"$work/callrec" process --engine sphinx --out "$work/out" "$wav" >/dev/null 2>"$work/process.log"
t1=$(now)
"$work/callrec" process --out "$work/out-json" "$work/out/transcript.json" >/dev/null 2>>"$work/process.log"
t2=$(now)
total=$(echo "$t1 - $t0" | bc)
render=$(echo "$t2 - $t1" | bc)
rtf=$(echo "scale=3; ($total - $render) / $dur" | bc)
echo "audio=${dur}s (stereo 8 kHz) process_total=${total}s render_only=${render}s"
echo "sphinx_rtf_per_channel=$rtf (transcribe + analyze wall time / audio time, channels in parallel)"
go test -run '^$' -bench 'BenchmarkAnalyze10Min$' -benchtime 5x ./internal/analytics | grep -E '^Benchmark'
echo "outputs: $work/out"
