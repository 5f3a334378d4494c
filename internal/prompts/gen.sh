#!/usr/bin/env bash
# gen.sh regenerates the built-in voice prompts with flite (text to speech)
# and sox: 8 kHz, mono, 16-bit PCM WAV, leading/trailing silence trimmed to
# about 100 ms, peak normalised to -3 dBFS.
#
# Usage: internal/prompts/gen.sh [VOICE]    (default voice: rms; slt also works)
#
# Requires: flite, sox (Debian: apt-get install flite sox).
# The output is deterministic (no dither), so re-running it on the same
# flite/sox versions leaves the committed files unchanged.
set -euo pipefail

voice="${1:-rms}"
dir="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"

for tool in flite sox; do
	command -v "$tool" >/dev/null || { echo "gen.sh: $tool not found (apt-get install flite sox)" >&2; exit 1; }
done

tmp="$(mktemp -d)"
trap 'rm -rf "$tmp"' EXIT

# name|text
prompts=(
	"enter_number|Please enter the number you want to call, then press pound."
	"enter_pin|Please enter your PIN, then press pound."
	"invalid_input|Sorry, I didn't get that."
	"connecting|Connecting you."
	"recorded|This call is being recorded."
	"not_recorded|This call is not being recorded."
	"recording_paused|Recording paused."
	"recording_resumed|Recording resumed."
	"recording_stopped|Recording stopped."
	"unable_to_connect|We were unable to connect your call. Goodbye."
	"not_allowed|Sorry, calls to that number are not allowed. Goodbye."
)

for entry in "${prompts[@]}"; do
	name="${entry%%|*}"
	text="${entry#*|}"
	flite -voice "$voice" -t "$text" -o "$tmp/$name.wav"
	# silence: drop everything before the first and after the last 20 ms
	# above 0.5 % of full scale; pad: put 100 ms back on both ends.
	sox -D -V1 "$tmp/$name.wav" -r 8000 -c 1 -b 16 -e signed-integer "$dir/$name.wav" \
		highpass 80 \
		silence 1 0.02 0.5% reverse silence 1 0.02 0.5% reverse \
		rate -h 8000 norm -3 pad 0.1 0.1
	printf '%-20s %5.2fs  %s\n' "$name.wav" "$(soxi -D "$dir/$name.wav")" "$text"
done
