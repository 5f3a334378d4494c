package analytics

import (
	"math"
	"math/rand/v2"
	"strings"
	"time"

	"github.com/callrec/callrec/internal/transcribe"
)

// synthCall builds a stereo recording of total length at rate with
// speech-like bursts (noise modulated at a syllable rate, about −20 dBFS)
// on the channels' intervals and background noise at −60 dBFS, and words
// spread over the intervals from texts (cycled).
func synthCall(rate int, total time.Duration, speech [2][]Interval, texts []string, seed uint64) (*transcribe.Recording, []transcribe.Word) {
	rng := rand.New(rand.NewPCG(seed, 7))
	n := int(total.Seconds() * float64(rate))
	rec := &transcribe.Recording{SampleRate: rate, Channels: [][]int16{make([]int16, n), make([]int16, n)}, CallID: "synthetic"}
	floor := 32768 * math.Pow(10, -60.0/20)
	loud := 32768 * math.Pow(10, -17.0/20)
	var words []transcribe.Word
	ti := 0
	for c := range 2 {
		x := rec.Channels[c]
		for i := range x {
			x[i] = int16(rng.NormFloat64() * floor)
		}
		for _, iv := range speech[c] {
			a, b := int(iv.Start.Seconds()*float64(rate)), min(n, int(iv.End.Seconds()*float64(rate)))
			for i := a; i < b; i++ {
				t := float64(i-a) / float64(rate)
				env := 0.55 + 0.45*math.Sin(2*math.Pi*4*t) // syllables, never silent
				x[i] = int16(max(-32767, min(32767, float64(x[i])+rng.NormFloat64()*loud*env)))
			}
			// Words: about 2.5 per second.
			var text []string
			want := max(1, int(iv.Duration().Seconds()*2.5))
			for len(text) < want {
				text = append(text, strings.Fields(texts[ti%len(texts)])...)
				ti++
			}
			text = text[:want]
			for k, w := range text {
				d := iv.Duration() / time.Duration(len(text))
				words = append(words, transcribe.Word{
					Channel: c, Start: iv.Start + d*time.Duration(k), End: iv.Start + d*time.Duration(k+1),
					Text: w, Confidence: 0.9,
				})
			}
		}
	}
	return rec, words
}

func sec(s float64) time.Duration { return time.Duration(s * float64(time.Second)) }

func iv(a, b float64) Interval { return Interval{sec(a), sec(b)} }
