package sphinx

import (
	"math"
	"math/rand/v2"
	"testing"
	"time"
)

const vadRate = 16000

func ms(d int) int { return d * vadRate / 1000 }

// burst returns a speech-like burst: a 200 Hz tone with a 4 Hz syllable
// envelope, n samples long.
func burst(n int, amp float64) []int16 {
	s := make([]int16, n)
	for i := range s {
		t := float64(i) / vadRate
		env := 0.55 + 0.45*math.Sin(2*math.Pi*4*t)
		s[i] = int16(amp * env * math.Sin(2*math.Pi*200*t))
	}
	return s
}

// layout builds a signal of bursts at the given [start, end) times (ms)
// on a background of Gaussian noise of rms noiseAmp.
func layout(totalMS int, spans [][2]int, amp, noiseAmp float64) []int16 {
	rng := rand.New(rand.NewPCG(7, 8))
	x := make([]int16, ms(totalMS))
	for i := range x {
		x[i] = int16(rng.NormFloat64() * noiseAmp)
	}
	for _, sp := range spans {
		b := burst(ms(sp[1]-sp[0]), amp)
		for i, v := range b {
			x[ms(sp[0])+i] += v
		}
	}
	return x
}

func TestSegments(t *testing.T) {
	p := defaultVAD
	tests := []struct {
		name  string
		spans [][2]int // speech, in ms
		total int
		noise float64
		want  [][2]int // segments, in ms (±30)
	}{
		// 150 ms of padding on each side
		{"one", [][2]int{{1000, 2000}}, 3000, 0, [][2]int{{850, 2150}}},
		{"two apart", [][2]int{{500, 1500}, {2500, 3500}}, 4500, 0, [][2]int{{350, 1650}, {2350, 3650}}},
		// a 200 ms pause does not split (hangover), nor does 280 ms (gap merge)
		{"short pause", [][2]int{{500, 1500}, {1700, 2500}}, 3500, 0, [][2]int{{350, 2650}}},
		{"gap merged", [][2]int{{500, 1500}, {1780, 2500}}, 3500, 0, [][2]int{{350, 2650}}},
		{"gap kept", [][2]int{{500, 1500}, {1850, 2500}}, 3500, 0, [][2]int{{350, 1650}, {1700, 2650}}},
		{"noise floor", [][2]int{{1000, 2000}, {3000, 3600}}, 4500, 30, [][2]int{{850, 2150}, {2850, 3750}}},
		{"at the edges", [][2]int{{0, 800}, {2000, 3000}}, 3000, 0, [][2]int{{0, 950}, {1850, 3000}}},
		{"silence", nil, 2000, 0, nil},
		{"steady noise", nil, 2000, 3000, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			x := layout(tt.total, tt.spans, 8000, tt.noise)
			got := segments(x, vadRate, p)
			if len(got) != len(tt.want) {
				t.Fatalf("got %d segments %v, want %v", len(got), toMS(got), tt.want)
			}
			for i, s := range toMS(got) {
				// Frames are 20 ms: allow one frame and a bit.
				if abs(s[0]-tt.want[i][0]) > 30 || abs(s[1]-tt.want[i][1]) > 30 {
					t.Errorf("segment %d = %v ms, want about %v", i, s, tt.want[i])
				}
			}
		})
	}
}

func TestSegmentsSplitLong(t *testing.T) {
	p := defaultVAD
	p.MaxSegment = 2 * time.Second
	x := layout(7000, [][2]int{{0, 7000}}, 8000, 0)
	got := segments(x, vadRate, p)
	if len(got) < 4 {
		t.Fatalf("7 s of speech with MaxSegment 2 s gave %v", toMS(got))
	}
	for i, s := range got {
		if d := time.Duration(s.End-s.Start) * time.Second / vadRate; d > p.MaxSegment+2*p.Pad {
			t.Errorf("segment %d lasts %v", i, d)
		}
		if i > 0 && s.Start != got[i-1].End {
			t.Errorf("segments %d and %d not contiguous: %v", i-1, i, toMS(got))
		}
	}
}

func TestSegmentsOdd(t *testing.T) {
	for name, x := range map[string][]int16{
		"empty":      nil,
		"one sample": {32767},
		"10 ms":      burst(ms(10), 20000),
		"zeros":      make([]int16, ms(500)),
		"click":      append(append(make([]int16, ms(500)), burst(ms(20), 30000)...), make([]int16, ms(500))...),
	} {
		for _, s := range segments(x, vadRate, defaultVAD) {
			if s.Start < 0 || s.End > len(x) || s.End <= s.Start {
				t.Errorf("%s: bad segment %+v of %d samples", name, s, len(x))
			}
		}
		if name == "click" || name == "zeros" || name == "empty" {
			if got := segments(x, vadRate, defaultVAD); len(got) != 0 {
				t.Errorf("%s: got %v, want none", name, toMS(got))
			}
		}
	}
}

func FuzzSegments(f *testing.F) {
	f.Add([]byte{1, 2, 3}, uint8(3))
	f.Fuzz(func(t *testing.T, data []byte, scale uint8) {
		// Expand the bytes into a longer signal so frames form.
		x := make([]int16, len(data)*64)
		for i := range x {
			x[i] = int16(int(data[i/64])-128) * int16(scale)
		}
		prev := 0
		for _, s := range segments(x, vadRate, defaultVAD) {
			if s.Start < prev || s.End > len(x) || s.End <= s.Start {
				t.Fatalf("bad segment %+v (prev end %d, len %d)", s, prev, len(x))
			}
			prev = s.End
		}
	})
}

func toMS(s []span) [][2]int {
	out := make([][2]int, len(s))
	for i, v := range s {
		out[i] = [2]int{v.Start * 1000 / vadRate, v.End * 1000 / vadRate}
	}
	return out
}

func abs(v int) int {
	if v < 0 {
		return -v
	}
	return v
}
