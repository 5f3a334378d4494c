package codec

import (
	"bytes"
	"math"
	"testing"
)

func TestMetadata(t *testing.T) {
	tests := []struct {
		c    Codec
		name string
		pt   uint8
	}{
		{PCMU, "PCMU", 0},
		{PCMA, "PCMA", 8},
		{G722, "G722", 9},
	}
	for _, tt := range tests {
		if got := tt.c.Name(); got != tt.name {
			t.Errorf("Name() = %q, want %q", got, tt.name)
		}
		if got := tt.c.String(); got != tt.name {
			t.Errorf("String() = %q, want %q", got, tt.name)
		}
		if got := tt.c.PayloadType(); got != tt.pt {
			t.Errorf("%s.PayloadType() = %d, want %d", tt.name, got, tt.pt)
		}
		if got := tt.c.ClockRate(); got != 8000 {
			t.Errorf("%s.ClockRate() = %d, want 8000", tt.name, got)
		}
		if !tt.c.Valid() {
			t.Errorf("%s.Valid() = false", tt.name)
		}
	}
	if Codec(3).Valid() {
		t.Error("Codec(3).Valid() = true")
	}
	if got := Codec(3).Name(); got != "Codec(3)" {
		t.Errorf("Codec(3).Name() = %q", got)
	}
}

func TestByName(t *testing.T) {
	tests := []struct {
		in   string
		want Codec
		ok   bool
	}{
		{"PCMU", PCMU, true},
		{"pcmu", PCMU, true},
		{"Pcma", PCMA, true},
		{"PCMA", PCMA, true},
		{"G722", G722, true},
		{"g722", G722, true},
		{"G.722", 0, false},
		{"", 0, false},
		{"PCMU ", 0, false},
	}
	for _, tt := range tests {
		got, ok := ByName(tt.in)
		if got != tt.want || ok != tt.ok {
			t.Errorf("ByName(%q) = %v, %v; want %v, %v", tt.in, got, ok, tt.want, tt.ok)
		}
	}
}

// Reference values from ITU-T G.711 (Table 1 and 2) as commonly tabulated.
func TestReferenceValues(t *testing.T) {
	decode := []struct {
		c    Codec
		code byte
		want int16
	}{
		{PCMU, 0xFF, 0},
		{PCMU, 0x7F, 0},
		{PCMU, 0x80, 32124},
		{PCMU, 0x00, -32124},
		{PCMU, 0xCE, 988},
		{PCMA, 0xD5, 8},
		{PCMA, 0x55, -8},
		{PCMA, 0xAA, 32256},
		{PCMA, 0x2A, -32256},
		{PCMA, 0xFA, 1008},
	}
	for _, tt := range decode {
		got := tt.c.Decode(nil, []byte{tt.code})
		if len(got) != 1 || got[0] != tt.want {
			t.Errorf("%s.Decode(0x%02X) = %v, want [%d]", tt.c, tt.code, got, tt.want)
		}
	}
	encode := []struct {
		c    Codec
		pcm  int16
		want byte
	}{
		{PCMU, 0, 0xFF},
		{PCMU, 32767, 0x80},
		{PCMU, -32768, 0x00},
		{PCMU, 1000, 0xCE},
		{PCMA, 0, 0xD5},
		{PCMA, 32767, 0xAA},
		{PCMA, -32768, 0x2A},
		{PCMA, 1000, 0xFA},
	}
	for _, tt := range encode {
		got := tt.c.Encode(nil, []int16{tt.pcm})
		if len(got) != 1 || got[0] != tt.want {
			t.Errorf("%s.Encode(%d) = % X, want %02X", tt.c, tt.pcm, got, tt.want)
		}
	}
}

func TestSilence(t *testing.T) {
	silence := make([]int16, 160)
	tests := []struct {
		c    Codec
		want byte
	}{
		{PCMU, 0xFF},
		{PCMA, 0xD5},
	}
	for _, tt := range tests {
		got := tt.c.Encode(nil, silence)
		if !bytes.Equal(got, bytes.Repeat([]byte{tt.want}, 160)) {
			t.Errorf("%s silence = % X..., want %02X", tt.c, got[:4], tt.want)
		}
		pcm := tt.c.Decode(nil, got)
		for i, s := range pcm {
			if s < -8 || s > 8 {
				t.Fatalf("%s decoded silence sample %d = %d", tt.c, i, s)
			}
		}
	}
}

func abs(x int) int {
	if x < 0 {
		return -x
	}
	return x
}

// TestRoundTripErrorBound checks every int16 value: the quantisation error
// stays within a relative bound (G.711 keeps about 12 bits of precision, so
// the error is at most about 1/32 of the value) except where the value is
// beyond the codec's largest magnitude and clips.
func TestRoundTripErrorBound(t *testing.T) {
	tests := []struct {
		c    Codec
		peak int // largest magnitude the codec represents
	}{
		{PCMU, 32124},
		{PCMA, 32256},
	}
	pcm := make([]int16, 0, 65536)
	for x := math.MinInt16; x <= math.MaxInt16; x++ {
		pcm = append(pcm, int16(x))
	}
	for _, tt := range tests {
		enc := tt.c.Encode(nil, pcm)
		dec := tt.c.Decode(nil, enc)
		if len(dec) != len(pcm) {
			t.Fatalf("%s: %d samples back, want %d", tt.c, len(dec), len(pcm))
		}
		for i, x := range pcm {
			v := int(x)
			want := v
			if want > tt.peak {
				want = tt.peak
			} else if want < -tt.peak {
				want = -tt.peak
			}
			err := abs(int(dec[i]) - want)
			if bound := abs(want)/16 + 32; err > bound {
				t.Fatalf("%s: %d -> %d, error %d > %d", tt.c, v, dec[i], err, bound)
			}
		}
		// A second pass through the codec must be lossless.
		again := tt.c.Encode(nil, dec)
		redec := tt.c.Decode(nil, again)
		for i := range dec {
			if dec[i] != redec[i] {
				t.Fatalf("%s: re-encoding %d gave %d", tt.c, dec[i], redec[i])
			}
		}
	}
}

func TestSineSNR(t *testing.T) {
	const n = 8000
	pcm := make([]int16, n)
	for i := range pcm {
		pcm[i] = int16(10000 * math.Sin(2*math.Pi*1000*float64(i)/8000+0.3))
	}
	for _, c := range []Codec{PCMU, PCMA} {
		dec := c.Decode(nil, c.Encode(nil, pcm))
		var sig, noise float64
		for i := range pcm {
			sig += float64(pcm[i]) * float64(pcm[i])
			d := float64(dec[i]) - float64(pcm[i])
			noise += d * d
		}
		if snr := 10 * math.Log10(sig/noise); snr < 30 {
			t.Errorf("%s: SNR %.1f dB, want >= 30", c, snr)
		}
	}
}

func TestAppendSemantics(t *testing.T) {
	for _, c := range []Codec{PCMU, PCMA} {
		dst := []byte{1, 2, 3}
		got := c.Encode(dst, []int16{0, 0})
		if len(got) != 5 || got[0] != 1 || got[2] != 3 {
			t.Errorf("%s.Encode did not append: % X", c, got)
		}
		pcm := []int16{-1}
		gotPCM := c.Decode(pcm, []byte{0xFF, 0xD5})
		if len(gotPCM) != 3 || gotPCM[0] != -1 {
			t.Errorf("%s.Decode did not append: %v", c, gotPCM)
		}
		if got := c.Encode(nil, nil); len(got) != 0 {
			t.Errorf("%s.Encode(nil) = %v", c, got)
		}
	}
	bad := Codec(42)
	if got := bad.Encode([]byte{9}, []int16{1, 2}); len(got) != 1 {
		t.Errorf("invalid codec Encode appended: %v", got)
	}
	if got := bad.Decode([]int16{9}, []byte{1, 2}); len(got) != 1 {
		t.Errorf("invalid codec Decode appended: %v", got)
	}
	if got := Transcode([]byte{9}, bad, PCMU, []byte{1}); len(got) != 1 {
		t.Errorf("invalid codec Transcode appended: %v", got)
	}
}

func TestTranscode(t *testing.T) {
	all := make([]byte, 256)
	for i := range all {
		all[i] = byte(i)
	}
	tests := []struct {
		from, to Codec
	}{
		{PCMU, PCMU},
		{PCMA, PCMA},
		{PCMU, PCMA},
		{PCMA, PCMU},
	}
	for _, tt := range tests {
		got := Transcode([]byte{0xEE}, tt.from, tt.to, all)
		if len(got) != 257 || got[0] != 0xEE {
			t.Fatalf("%s->%s: bad append, len %d", tt.from, tt.to, len(got))
		}
		got = got[1:]
		if tt.from == tt.to {
			if !bytes.Equal(got, all) {
				t.Errorf("%s->%s: not a copy", tt.from, tt.to)
			}
			continue
		}
		want := tt.to.Encode(nil, tt.from.Decode(nil, all))
		if !bytes.Equal(got, want) {
			t.Errorf("%s->%s differs from decode+encode", tt.from, tt.to)
		}
		// Transcoding keeps the sound: decoded values stay close.
		a := tt.from.Decode(nil, all)
		b := tt.to.Decode(nil, got)
		for i := range a {
			if err := abs(int(a[i]) - int(b[i])); err > abs(int(a[i]))/16+32 {
				t.Errorf("%s->%s code 0x%02X: %d vs %d", tt.from, tt.to, i, a[i], b[i])
			}
		}
	}
	// Silence maps to silence.
	if got := Transcode(nil, PCMU, PCMA, []byte{0xFF}); got[0] != 0xD5 {
		t.Errorf("mu-law silence -> A-law 0x%02X, want 0xD5", got[0])
	}
	// A-law's smallest positive value (+8) is mu-law's +8 (0xFE).
	if got := Transcode(nil, PCMA, PCMU, []byte{0xD5}); got[0] != 0xFE {
		t.Errorf("A-law silence -> mu-law 0x%02X, want 0xFE", got[0])
	}
}

func TestNoAllocations(t *testing.T) {
	pcm := make([]int16, 160)
	payload := make([]byte, 160)
	bufB := make([]byte, 0, 160)
	bufS := make([]int16, 0, 160)
	for _, c := range []Codec{PCMU, PCMA} {
		allocs := testing.AllocsPerRun(100, func() {
			bufB = c.Encode(bufB[:0], pcm)
			bufS = c.Decode(bufS[:0], payload)
			bufB = Transcode(bufB[:0], c, PCMU, payload)
		})
		if allocs != 0 {
			t.Errorf("%s: %v allocations per packet", c, allocs)
		}
	}
}

func BenchmarkDecode(b *testing.B) {
	payload := make([]byte, 160)
	buf := make([]int16, 0, 160)
	b.SetBytes(160)
	for b.Loop() {
		buf = PCMA.Decode(buf[:0], payload)
	}
}

func BenchmarkEncode(b *testing.B) {
	pcm := make([]int16, 160)
	buf := make([]byte, 0, 160)
	b.SetBytes(320)
	for b.Loop() {
		buf = PCMU.Encode(buf[:0], pcm)
	}
}

func BenchmarkTranscode(b *testing.B) {
	payload := make([]byte, 160)
	buf := make([]byte, 0, 160)
	b.SetBytes(160)
	for b.Loop() {
		buf = Transcode(buf[:0], PCMU, PCMA, payload)
	}
}

func FuzzCodec(f *testing.F) {
	f.Add([]byte{0xFF, 0x7F, 0x00, 0x80}, uint8(0), uint8(8))
	f.Add([]byte{0xD5, 0x55, 0xAA}, uint8(8), uint8(0))
	f.Add([]byte{}, uint8(3), uint8(8))
	f.Fuzz(func(t *testing.T, payload []byte, from, to uint8) {
		cf, ct := Codec(from), Codec(to)
		pcm := cf.Decode(nil, payload)
		if cf.narrowband() && len(pcm) != len(payload) {
			t.Fatalf("Decode: %d samples from %d bytes", len(pcm), len(payload))
		}
		enc := cf.Encode(nil, pcm)
		if cf.narrowband() {
			// decode(encode(decode(x))) == decode(x)
			back := cf.Decode(nil, enc)
			for i := range pcm {
				if back[i] != pcm[i] {
					t.Fatalf("re-encode changed sample %d: %d -> %d", i, pcm[i], back[i])
				}
			}
		}
		out := Transcode(nil, cf, ct, payload)
		if (cf.narrowband() && ct.narrowband() || cf == ct && cf.Valid()) && len(out) != len(payload) {
			t.Fatalf("Transcode: %d bytes from %d", len(out), len(payload))
		}
	})
}
