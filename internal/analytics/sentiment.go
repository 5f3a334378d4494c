package analytics

import (
	"math"
	"slices"

	"github.com/callrec/callrec/internal/transcript"
)

// SentimentResult is the sentiment of a text.
type SentimentResult struct {
	// Label is transcript.Positive, Negative, Neutral or Mixed.
	Label string
	// Score is on Transcribe's −5 (very negative) … +5 (very positive)
	// scale.
	Score float64
	// Positive and Negative are the sums of the positive and the
	// (absolute) negative word scores, after negation and intensifiers.
	Positive, Negative float64
}

// Sentiment scores a text with the AFINN method: every word of the lexicon
// contributes its valence (−5…+5), multi-word entries ("thank you", "does
// not work") first. Two rules adjust a word's valence, looking back within
// its clause (punctuation ends a clause):
//
//   - negation: a negator ("not", "no", "never", "without", "n't"…) within
//     the three words before flips the sign and keeps 75 % of the size
//     ("not good" = −2.25, "no problem" = +1.5);
//   - intensifiers: a booster within the two words before multiplies by
//     1.5 ("very", "really", "extremely"…; 1.25 for "quite", "pretty"), a
//     dampener by 0.5 ("slightly", "a bit", "kind of"…);
//   - hypotheticals: a word in a clause opened by "if", "unless" or
//     "whether" counts half ("if anything is wrong").
//
// The label is MIXED when both the positive and the negative sums reach 2
// and the smaller is at least a third of the larger; otherwise POSITIVE when
// positive minus negative is 1 or more, NEGATIVE when it is −1 or less,
// NEUTRAL in between. The score maps that net sum x to 5·x/√(x²+15) (the
// normalisation VADER uses, scaled to ±5), so one "good" scores about +3
// and a long run of praise approaches +5.
//
// The lexicon is English.
func Sentiment(text string) SentimentResult {
	return newScorer().score(tokenize(text))
}

// scorer holds the multi-word lexicon, built once per analysis.
type scorer struct {
	phrases []struct {
		words phrase
		score float64
	}
}

func newScorer() *scorer {
	p := phraseValences()
	slices.SortStableFunc(p, func(a, b struct {
		words phrase
		score float64
	}) int {
		return len(b.words) - len(a.words)
	})
	return &scorer{phrases: p}
}

func (s *scorer) score(toks []token) SentimentResult {
	var r SentimentResult
	add := func(v float64) {
		if v > 0 {
			r.Positive += v
		} else {
			r.Negative -= v
		}
	}
next:
	for i := 0; i < len(toks); i++ {
		for _, p := range s.phrases {
			if p.words.matchAt(toks, i) {
				add(p.score)
				i += len(p.words) - 1
				continue next
			}
		}
		w := toks[i].text
		if (w == "kind" || w == "sort") && i+1 < len(toks) && toks[i+1].text == "of" {
			continue // "kind of" dampens, see below
		}
		v, ok := valence(w)
		if !ok {
			continue
		}
		// Look back within the clause.
		mult, negated := 1.0, false
		for k := 1; k <= 6 && i-k >= 0 && !toks[i-k+1].breakBefore; k++ {
			b := toks[i-k].text
			if conditional(b) {
				mult *= 0.5
				break
			}
			if k > 3 {
				continue
			}
			if k <= 2 {
				if f := intensity(b); f != 0 {
					mult *= f
				}
				if b == "of" && i-k-1 >= 0 && (toks[i-k-1].text == "kind" || toks[i-k-1].text == "sort") {
					mult *= 0.5
				}
			}
			if !negated && negator(b) {
				negated = true
			}
		}
		v *= mult
		if negated {
			v *= -0.75
		}
		add(v)
	}
	r.Positive, r.Negative = round2(r.Positive), round2(r.Negative)
	net := r.Positive - r.Negative
	switch {
	case r.Positive >= 2 && r.Negative >= 2 && 3*min(r.Positive, r.Negative) >= max(r.Positive, r.Negative):
		r.Label = transcript.Mixed
	case net >= 1:
		r.Label = transcript.Positive
	case net <= -1:
		r.Label = transcript.Negative
	default:
		r.Label = transcript.Neutral
	}
	r.Score = round2(5 * net / math.Sqrt(net*net+15))
	return r
}

func conditional(w string) bool {
	return w == "if" || w == "unless" || w == "whether"
}

func round2(x float64) float64 { return math.Round(x*100) / 100 }
