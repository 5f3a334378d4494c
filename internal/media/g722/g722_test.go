package g722

import (
	"bytes"
	"math"
	"slices"
	"testing"
)

// tone returns n samples of a sine wave of freq Hz at 16 kHz.
func tone(n int, freq, amplitude float64) []int16 {
	pcm := make([]int16, n)
	for i := range pcm {
		pcm[i] = int16(math.Round(amplitude * math.Sin(2*math.Pi*freq*float64(i)/16000)))
	}
	return pcm
}

// bestSNR returns the signal-to-noise ratio in dB of got against want over
// want[skip:], at the delay of got (0 .. maxDelay samples) that gives the best
// one, and that delay: the codec's filters delay the signal.
func bestSNR(want, got []int16, skip, maxDelay int) (snr float64, delay int) {
	snr = math.Inf(-1)
	for lag := 0; lag <= maxDelay; lag++ {
		var signal, noise float64
		for i := skip; i+lag < len(got) && i < len(want); i++ {
			s := float64(want[i])
			e := float64(got[i+lag]) - s
			signal += s * s
			noise += e * e
		}
		if v := 10 * math.Log10(signal/noise); v > snr {
			snr, delay = v, lag
		}
	}
	return snr, delay
}

func TestRoundTripToneSNR(t *testing.T) {
	in := tone(16000, 1000, 10000)
	out := NewDecoder().Decode(nil, NewEncoder().Encode(nil, in))
	if len(out) != len(in) {
		t.Fatalf("decoded %d samples from %d", len(out), len(in))
	}
	snr, delay := bestSNR(in, out, 1600, 64)
	t.Logf("1 kHz tone: SNR %.1f dB at a delay of %d samples", snr, delay)
	if snr <= 30 {
		t.Errorf("SNR = %.1f dB, want > 30", snr)
	}
}

func TestEncodeStateCarriesAcrossPackets(t *testing.T) {
	pcm := readPCM(t, "input.raw")
	whole := NewEncoder().Encode(nil, pcm)
	for _, size := range []int{320, 1, 7, 161} {
		enc := NewEncoder()
		var chunked []byte
		for rest := pcm; len(rest) > 0; {
			n := min(size, len(rest))
			chunked = enc.Encode(chunked, rest[:n])
			rest = rest[n:]
		}
		if !bytes.Equal(chunked, whole) {
			t.Errorf("encoding in chunks of %d samples differs from encoding at once", size)
		}
	}
}

func TestEncodeKeepsOddSample(t *testing.T) {
	enc := NewEncoder()
	if got := enc.Encode(nil, []int16{100}); len(got) != 0 {
		t.Fatalf("one sample encoded to %d bytes, want 0", len(got))
	}
	if got := enc.Encode(nil, nil); len(got) != 0 {
		t.Fatalf("no samples after a kept one encoded to %d bytes, want 0", len(got))
	}
	got := enc.Encode(nil, []int16{200, 300})
	want := NewEncoder().Encode(nil, []int16{100, 200})
	if !bytes.Equal(got, want) {
		t.Errorf("kept sample paired wrongly: got %x, want %x", got, want)
	}
}

func TestDecodeStateCarriesAcrossPackets(t *testing.T) {
	payload := readTestdata(t, "input.g722")
	whole := NewDecoder().Decode(nil, payload)
	for _, size := range []int{160, 1, 33} {
		dec := NewDecoder()
		var chunked []int16
		for rest := payload; len(rest) > 0; {
			n := min(size, len(rest))
			chunked = dec.Decode(chunked, rest[:n])
			rest = rest[n:]
		}
		if !slices.Equal(chunked, whole) {
			t.Errorf("decoding in chunks of %d bytes differs from decoding at once", size)
		}
	}
}

func TestAppendsToDst(t *testing.T) {
	prefix := []byte{1, 2, 3}
	enc := NewEncoder().Encode(slices.Clone(prefix), tone(320, 440, 5000))
	if len(enc) != 3+160 || !bytes.Equal(enc[:3], prefix) {
		t.Errorf("Encode did not append 160 bytes after the prefix: len %d, head %v", len(enc), enc[:3])
	}
	pcmPrefix := []int16{-1, 7}
	dec := NewDecoder().Decode(slices.Clone(pcmPrefix), enc[3:])
	if len(dec) != 2+320 || !slices.Equal(dec[:2], pcmPrefix) {
		t.Errorf("Decode did not append 320 samples after the prefix: len %d, head %v", len(dec), dec[:2])
	}
}

func TestNoAllocationsPerPacket(t *testing.T) {
	pcm := tone(320, 1000, 8000)
	enc, dec := NewEncoder(), NewDecoder()
	payload := make([]byte, 0, 160)
	samples := make([]int16, 0, 320)
	if n := testing.AllocsPerRun(100, func() { payload = enc.Encode(payload[:0], pcm) }); n != 0 {
		t.Errorf("Encode: %v allocations per packet, want 0", n)
	}
	if n := testing.AllocsPerRun(100, func() { samples = dec.Decode(samples[:0], payload) }); n != 0 {
		t.Errorf("Decode: %v allocations per packet, want 0", n)
	}
}

func FuzzDecode(f *testing.F) {
	f.Add([]byte{}, uint8(0))
	f.Add([]byte{0x00, 0xff, 0x3f, 0xc0, 0x80, 0x7f}, uint8(3))
	f.Add(bytes.Repeat([]byte{0x04}, 400), uint8(200))
	f.Add(bytes.Repeat([]byte{0xe0, 0x20}, 300), uint8(17))
	f.Add(NewEncoder().Encode(nil, tone(640, 1000, 30000)), uint8(160))
	f.Fuzz(func(t *testing.T, payload []byte, split uint8) {
		whole := NewDecoder().Decode(nil, payload)
		if len(whole) != 2*len(payload) {
			t.Fatalf("decoded %d bytes to %d samples", len(payload), len(whole))
		}
		cut := min(int(split), len(payload))
		dec := NewDecoder()
		parts := dec.Decode(dec.Decode(nil, payload[:cut]), payload[cut:])
		if !slices.Equal(parts, whole) {
			t.Fatalf("decoding split at %d differs from decoding at once", cut)
		}
	})
}

func FuzzEncode(f *testing.F) {
	f.Add([]byte{}, uint8(0))
	f.Add([]byte{0xff, 0x7f, 0x00, 0x80, 0x01, 0x00}, uint8(1))
	f.Add(bytes.Repeat([]byte{0x00, 0x80, 0xff, 0x7f}, 200), uint8(99))
	f.Fuzz(func(t *testing.T, raw []byte, split uint8) {
		pcm := make([]int16, len(raw)/2)
		for i := range pcm {
			pcm[i] = int16(uint16(raw[2*i]) | uint16(raw[2*i+1])<<8)
		}
		whole := NewEncoder().Encode(nil, pcm)
		if len(whole) != len(pcm)/2 {
			t.Fatalf("encoded %d samples to %d bytes", len(pcm), len(whole))
		}
		cut := min(int(split), len(pcm))
		enc := NewEncoder()
		parts := enc.Encode(enc.Encode(nil, pcm[:cut]), pcm[cut:])
		if !bytes.Equal(parts, whole) {
			t.Fatalf("encoding split at %d differs from encoding at once", cut)
		}
	})
}

func BenchmarkEncode20ms(b *testing.B) {
	pcm := readPCM(b, "input.raw")[:320]
	enc := NewEncoder()
	payload := make([]byte, 0, 160)
	b.SetBytes(int64(2 * len(pcm)))
	b.ReportAllocs()
	for b.Loop() {
		payload = enc.Encode(payload[:0], pcm)
	}
}

func BenchmarkDecode20ms(b *testing.B) {
	payload := readTestdata(b, "input.g722")[:160]
	dec := NewDecoder()
	samples := make([]int16, 0, 320)
	b.SetBytes(int64(len(payload)))
	b.ReportAllocs()
	for b.Loop() {
		samples = dec.Decode(samples[:0], payload)
	}
}
