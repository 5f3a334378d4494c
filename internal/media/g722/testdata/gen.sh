#!/bin/sh
# gen.sh regenerates the G.722 reference vectors from FFmpeg's G.722 codec
# (libavcodec "g722", plain encoding, no trellis search). The committed files
# were made with the FFmpeg that `ffmpeg -version | head -1` reports as:
#
#	ffmpeg version 5.1.9-0+deb12u1
#
# with flite 2.2 and SoX 14.4.2 for the speech. Needs ffmpeg, flite, sox and
# python3. Run it from this directory: sh gen.sh
#
# Files (all little-endian, mono):
#
#	input.raw        16 kHz s16 PCM, 2 s: a sweep, tones, noise, a full-scale
#	                 square wave and speech (deterministic)
#	input.g722       FFmpeg's G.722 encoding of input.raw (64 kbit/s)
#	input.dec.raw    FFmpeg's decoding of input.g722, 16 kHz s16
#	random.g722      0.25 s of pseudo-random G.722 bytes (every code appears)
#	random.dec.raw   FFmpeg's decoding of random.g722, 16 kHz s16
set -eu

tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

# Speech: flite at its own rate, resampled to 16 kHz, 0.8 s of it. SoX
# dithers with random noise unless told not to (-D); -R seeds anything else.
flite -t "Recording starts now. Please hold the line." -o "$tmp/speech.wav"
sox -R -D "$tmp/speech.wav" -r 16000 -b 16 -e signed-integer -c 1 -t raw "$tmp/speech.raw" trim 0.2 0.8

python3 - "$tmp/speech.raw" input.raw random.g722 <<'PY'
import math, struct, sys

speech_path, input_path, random_path = sys.argv[1:4]
rate = 16000
samples = []

def clip(v):
    return max(-32768, min(32767, int(round(v))))

# 0.4 s logarithmic sweep 50 Hz .. 7.8 kHz at -6 dBFS.
n = int(0.4 * rate)
f0, f1 = 50.0, 7800.0
phase = 0.0
for i in range(n):
    f = f0 * (f1 / f0) ** (i / n)
    phase += 2 * math.pi * f / rate
    samples.append(clip(16000 * math.sin(phase)))

# 0.3 s of three tones, 0.1 s each: 440 Hz quiet, 1 kHz, 3.5 kHz + 6 kHz.
for i in range(int(0.1 * rate)):
    samples.append(clip(300 * math.sin(2 * math.pi * 440 * i / rate)))
for i in range(int(0.1 * rate)):
    samples.append(clip(12000 * math.sin(2 * math.pi * 1000 * i / rate)))
for i in range(int(0.1 * rate)):
    t = i / rate
    samples.append(clip(9000 * math.sin(2 * math.pi * 3500 * t) + 9000 * math.sin(2 * math.pi * 6000 * t)))

# 0.3 s of white noise from a 32-bit LCG, then 0.1 s of silence.
state = 12345
for i in range(int(0.3 * rate)):
    state = (state * 1103515245 + 12345) & 0xFFFFFFFF
    samples.append(clip(((state >> 16) & 0xFFFF) - 32768) // 2)
samples.extend([0] * int(0.1 * rate))

# 0.1 s full-scale 500 Hz square wave: saturation everywhere.
for i in range(int(0.1 * rate)):
    samples.append(32767 if (i // 16) % 2 == 0 else -32768)

with open(speech_path, "rb") as f:
    speech = f.read()
samples.extend(struct.unpack("<%dh" % (len(speech) // 2), speech[: len(speech) // 2 * 2]))

with open(input_path, "wb") as f:
    f.write(struct.pack("<%dh" % len(samples), *samples))

# 0.25 s (2000 bytes) of pseudo-random codes.
state = 777
out = bytearray()
for i in range(2000):
    state = (state * 1664525 + 1013904223) & 0xFFFFFFFF
    out.append(state >> 24)
with open(random_path, "wb") as f:
    f.write(out)
PY

ffmpeg -nostdin -hide_banner -loglevel error -y -f s16le -ar 16000 -ac 1 -i input.raw \
	-acodec g722 -trellis 0 -f g722 input.g722
ffmpeg -nostdin -hide_banner -loglevel error -y -f g722 -i input.g722 -f s16le -acodec pcm_s16le input.dec.raw
ffmpeg -nostdin -hide_banner -loglevel error -y -f g722 -i random.g722 -f s16le -acodec pcm_s16le random.dec.raw
