package codec

import (
	"bytes"
	"testing"
)

func mustTranscoder(t testing.TB, from, to Codec) *Transcoder {
	t.Helper()
	tc, err := NewTranscoder(from, to)
	if err != nil {
		t.Fatal(err)
	}
	return tc
}

// transcodeInPackets runs payload through tc in packets of size bytes.
func transcodeInPackets(tc *Transcoder, payload []byte, size int) []byte {
	var out []byte
	chunks(len(payload), size, func(from, to int) { out = tc.Transcode(out, payload[from:to]) })
	return out
}

func TestTranscoderToneThroughG722(t *testing.T) {
	// A G.711 call bridged to a G.722 one and back: Up, G.722, Down.
	tone := sine(8000, 8000, 1000, 10000)
	for _, c := range []Codec{PCMU, PCMA} {
		narrow := c.Encode(nil, tone)
		wide := transcodeInPackets(mustTranscoder(t, c, G722), narrow, 160)
		if len(wide) != len(narrow) {
			t.Fatalf("%s to G722: %d bytes from %d", c, len(wide), len(narrow))
		}
		back := transcodeInPackets(mustTranscoder(t, G722, c), wide, 160)
		if len(back) != len(narrow) {
			t.Fatalf("G722 to %s: %d bytes from %d", c, len(back), len(wide))
		}
		// Delay at 16 kHz: 15 (Up) + 22 (the G.722 filter pair) + 15 (Down),
		// that is 26 samples at 8 kHz.
		const delay = (resamplerDelay + 22 + resamplerDelay) / 2
		snr := snrAt(tone, c.Decode(nil, back), 400, delay)
		t.Logf("%s to G722 and back: 1 kHz SNR %.1f dB", c, snr)
		if snr <= 25 {
			t.Errorf("%s to G722 and back: 1 kHz SNR %.1f dB, want > 25", c, snr)
		}
	}
}

func TestTranscoderKeepsStateAcrossPackets(t *testing.T) {
	tone := sine(4000, 8000, 700, 12000)
	for _, c := range []Codec{PCMU, PCMA} {
		narrow := c.Encode(nil, tone)
		wide := mustTranscoder(t, c, G722).Transcode(nil, narrow)
		for _, size := range []int{160, 80, 1} {
			if got := transcodeInPackets(mustTranscoder(t, c, G722), narrow, size); !bytes.Equal(got, wide) {
				t.Errorf("%s to G722 in packets of %d differs from all at once", c, size)
			}
		}
		back := mustTranscoder(t, G722, c).Transcode(nil, wide)
		for _, size := range []int{160, 80, 1} {
			if got := transcodeInPackets(mustTranscoder(t, G722, c), wide, size); !bytes.Equal(got, back) {
				t.Errorf("G722 to %s in packets of %d differs from all at once", c, size)
			}
		}
	}
}

func TestTranscoderWithoutResampling(t *testing.T) {
	payload := make([]byte, 256)
	for i := range payload {
		payload[i] = byte(i)
	}
	for _, pair := range [][2]Codec{{PCMU, PCMA}, {PCMA, PCMU}} {
		got := mustTranscoder(t, pair[0], pair[1]).Transcode([]byte{7}, payload)
		if want := Transcode([]byte{7}, pair[0], pair[1], payload); !bytes.Equal(got, want) {
			t.Errorf("%s to %s differs from Transcode", pair[0], pair[1])
		}
	}
	for _, c := range []Codec{PCMU, PCMA, G722} {
		got := mustTranscoder(t, c, c).Transcode([]byte{7}, payload)
		if !bytes.Equal(got, append([]byte{7}, payload...)) {
			t.Errorf("%s to %s: payload not copied unchanged", c, c)
		}
	}
}

func TestTranscoderAllocatesNothingPerPacket(t *testing.T) {
	pairs := [][2]Codec{{PCMU, G722}, {G722, PCMU}, {PCMA, G722}, {G722, PCMA}, {PCMU, PCMA}, {G722, G722}}
	packet := PCMU.Encode(nil, sine(160, 8000, 1000, 10000))
	for _, pair := range pairs {
		tc := mustTranscoder(t, pair[0], pair[1])
		out := make([]byte, 0, 160)
		if n := testing.AllocsPerRun(100, func() { out = tc.Transcode(out[:0], packet) }); n != 0 {
			t.Errorf("%s to %s: %v allocations per packet", pair[0], pair[1], n)
		}
	}
}

func FuzzTranscoder(f *testing.F) {
	f.Add([]byte{}, uint8(0), uint8(9), uint8(0))
	f.Add([]byte{0xff, 0x7f, 0x00, 0x80}, uint8(9), uint8(0), uint8(1))
	f.Add(bytes.Repeat([]byte{0x04, 0xc3}, 160), uint8(9), uint8(8), uint8(160))
	f.Add(bytes.Repeat([]byte{0xd5, 0x2a}, 160), uint8(8), uint8(9), uint8(33))
	f.Fuzz(func(t *testing.T, payload []byte, from, to, split uint8) {
		tc, err := NewTranscoder(Codec(from), Codec(to))
		if err != nil {
			if Codec(from).Valid() && Codec(to).Valid() {
				t.Fatalf("NewTranscoder(%d, %d): %v", from, to, err)
			}
			return
		}
		whole := tc.Transcode(nil, payload)
		if len(whole) != len(payload) {
			t.Fatalf("%s to %s: %d bytes from %d", Codec(from), Codec(to), len(whole), len(payload))
		}
		tc, _ = NewTranscoder(Codec(from), Codec(to))
		cut := min(int(split), len(payload))
		if parts := tc.Transcode(tc.Transcode(nil, payload[:cut]), payload[cut:]); !bytes.Equal(parts, whole) {
			t.Fatalf("%s to %s split at %d differs from all at once", Codec(from), Codec(to), cut)
		}
	})
}

func benchmarkTranscoder(b *testing.B, from, to Codec) {
	tc := mustTranscoder(b, from, to)
	pcm := sine(from.SampleRate()/50, from.SampleRate(), 1000, 10000)
	var packet []byte
	if from.Wideband() {
		enc, _ := NewEncoder(from)
		packet = enc.Encode(nil, pcm)
	} else {
		packet = from.Encode(nil, pcm)
	}
	out := make([]byte, 0, 160)
	b.SetBytes(int64(len(packet)))
	b.ReportAllocs()
	for b.Loop() {
		out = tc.Transcode(out[:0], packet)
	}
}

func BenchmarkTranscodeG722ToPCMU20ms(b *testing.B) { benchmarkTranscoder(b, G722, PCMU) }

func BenchmarkTranscodePCMUToG72220ms(b *testing.B) { benchmarkTranscoder(b, PCMU, G722) }
