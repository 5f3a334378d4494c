#!/bin/sh
# Regenerates the recorded test signals of the in-band detector's tests.
# Needs sox and flite; the tests only read the files this writes.
#
#   sox-digits-8000.raw, sox-digits-16000.raw: the sixteen digits
#     1 2 3 A 4 5 6 B 7 8 9 C * 0 # D, each 100 ms of tone (both sines at
#     0.3 of full scale, about -10.5 dBFS each) then 100 ms of silence;
#     signed 16-bit little-endian mono.
#   speech-8000.raw: a few sentences of synthesised speech at 8 kHz, the
#     same format, for the talk-off test.
set -eu
cd "$(dirname "$0")"
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

rows="697 770 852 941"
cols="1209 1336 1477 1633"
for rate in 8000 16000; do
	parts=""
	n=0
	for row in $rows; do
		for col in $cols; do
			n=$((n + 1))
			sox -n -r "$rate" -b 16 -c 1 "$tmp/t$n.wav" synth 0.1 sine "$row" sine "$col" remix 1v0.3,2v0.3
			sox -n -r "$rate" -b 16 -c 1 "$tmp/s$n.wav" trim 0 0.1
			parts="$parts $tmp/t$n.wav $tmp/s$n.wav"
		done
	done
	# shellcheck disable=SC2086
	sox $parts -t raw -e signed-integer -b 16 -L "sox-digits-$rate.raw"
done

flite -t "Thank you for calling. Please hold while we connect you to the next available agent. \
Your call may be recorded for quality and training purposes. One two three four five six seven eight nine zero." \
	-o "$tmp/speech.wav"
sox "$tmp/speech.wav" -r 8000 -t raw -e signed-integer -b 16 -c 1 -L speech-8000.raw
