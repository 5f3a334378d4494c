package analytics

import (
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/callrec/callrec/internal/transcript"
)

// CategoryRule is a user-defined category, like a Transcribe Call Analytics
// category with a transcript-match rule: the category matches when one of
// the phrases is said (by the given speaker, within the time window), or,
// with Negate, when none is.
type CategoryRule struct {
	// Name is the category's name in MatchedCategories.
	Name string
	// Phrases are matched as whole words, ignoring case and punctuation;
	// contractions match their full form ("doesn't" matches "does not").
	Phrases []string
	// Speaker limits the rule to one side: "" (either), "AGENT" or
	// "CUSTOMER".
	Speaker string
	// FromMillis and ToMillis limit the rule to a window of the call in
	// milliseconds: a phrase counts when it starts inside [From, To). 0, 0
	// is the whole call; a negative From counts from the end (−60000, 0 is
	// the last minute); a To of 0 or less also counts from the end (0 is the
	// end of the call).
	FromMillis, ToMillis int64
	// Negate makes the category match when none of the phrases is said
	// (in the window, by the speaker).
	Negate bool
}

// Validate checks a rule and says what to change.
func (r CategoryRule) Validate() error {
	if strings.TrimSpace(r.Name) == "" {
		return errors.New("category rule: empty name")
	}
	switch strings.ToUpper(r.Speaker) {
	case "", transcript.Agent, transcript.Customer:
	default:
		return fmt.Errorf("category %q: speaker %q: want AGENT (the owner), CUSTOMER (the other party) or empty (either)", r.Name, r.Speaker)
	}
	n := 0
	for _, p := range r.Phrases {
		if len(newPhrase(p)) == 0 {
			return fmt.Errorf("category %q: phrase %q has no words", r.Name, p)
		}
		n++
	}
	if n == 0 && !r.Negate {
		return fmt.Errorf("category %q: no phrases: a rule without phrases never matches", r.Name)
	}
	if r.FromMillis < 0 && r.ToMillis > 0 {
		return fmt.Errorf("category %q: FromMillis %d counts from the end, so ToMillis must too (0 or negative), not %d", r.Name, r.FromMillis, r.ToMillis)
	}
	if r.FromMillis >= 0 && r.ToMillis > 0 && r.ToMillis <= r.FromMillis {
		return fmt.Errorf("category %q: window %d–%d ms is empty: ToMillis must be after FromMillis", r.Name, r.FromMillis, r.ToMillis)
	}
	if r.FromMillis < 0 && r.ToMillis < 0 && r.ToMillis <= r.FromMillis {
		return fmt.Errorf("category %q: window %d–%d ms before the end is empty", r.Name, r.FromMillis, r.ToMillis)
	}
	return nil
}

// window returns the rule's window in a call of duration total (ms).
func (r CategoryRule) window(total int64) (from, to int64) {
	from, to = r.FromMillis, r.ToMillis
	if from < 0 {
		from += total
	}
	if to <= 0 {
		to += total
	}
	return max(0, from), min(total, to)
}

// validateRules checks every rule and that names are unique.
func validateRules(rules []CategoryRule) error {
	seen := map[string]bool{}
	for _, r := range rules {
		if err := r.Validate(); err != nil {
			return err
		}
		if seen[r.Name] {
			return fmt.Errorf("category %q defined twice", r.Name)
		}
		seen[r.Name] = true
	}
	return nil
}

// indexedTurn is a turn's content as tokens with a time for each token.
type indexedTurn struct {
	role  string
	toks  []token
	times []transcript.TimeRange
}

// indexTurn tokenises a turn and gives each token the time of the item it
// came from; without usable items a token's time is interpolated from its
// position in the content.
func indexTurn(t *transcript.Turn) indexedTurn {
	it := indexedTurn{role: t.ParticipantRole, toks: tokenize(t.Content)}
	it.times = make([]transcript.TimeRange, len(it.toks))
	// Byte ranges of the pronunciation items, found in order.
	type placed struct {
		start, end int
		tr         transcript.TimeRange
	}
	var items []placed
	low := strings.ToLower(t.Content)
	pos := 0
	for _, x := range t.Items {
		if x.Type == transcript.Punctuation || x.Content == "" || (x.BeginOffsetMillis == 0 && x.EndOffsetMillis == 0) {
			continue
		}
		k := strings.Index(low[pos:], strings.ToLower(x.Content))
		if k < 0 {
			continue
		}
		items = append(items, placed{pos + k, pos + k + len(x.Content), transcript.TimeRange{BeginOffsetMillis: x.BeginOffsetMillis, EndOffsetMillis: x.EndOffsetMillis}})
		pos += k + len(x.Content)
	}
	j := 0
	for i, tok := range it.toks {
		for j < len(items) && items[j].end <= tok.start {
			j++
		}
		if j < len(items) && items[j].start < tok.end {
			it.times[i] = items[j].tr
			continue
		}
		// Interpolate.
		span := t.EndOffsetMillis - t.BeginOffsetMillis
		n := int64(max(1, len(t.Content)))
		it.times[i] = transcript.TimeRange{
			BeginOffsetMillis: t.BeginOffsetMillis + span*int64(tok.start)/n,
			EndOffsetMillis:   t.BeginOffsetMillis + span*int64(tok.end)/n,
		}
	}
	return it
}

// matchCategories evaluates the rules over the indexed turns of a call of
// total milliseconds.
func matchCategories(rules []CategoryRule, turns []indexedTurn, total int64) transcript.Categories {
	c := transcript.Categories{MatchedCategories: []string{}, MatchedDetails: map[string]transcript.CategoryDetails{}}
	for _, r := range rules {
		speaker := strings.ToUpper(r.Speaker)
		from, to := r.window(total)
		ps := phrases(r.Phrases...)
		hits := []transcript.TimeRange{}
		for _, t := range turns {
			if speaker != "" && t.role != speaker {
				continue
			}
			for i := range t.toks {
				for _, p := range ps {
					if !p.matchAt(t.toks, i) {
						continue
					}
					b := t.times[i].BeginOffsetMillis
					if b < from || b >= to {
						continue
					}
					hits = append(hits, transcript.TimeRange{BeginOffsetMillis: b, EndOffsetMillis: t.times[i+len(p)-1].EndOffsetMillis})
				}
			}
		}
		if (len(hits) > 0) == r.Negate {
			continue
		}
		slices.SortFunc(hits, func(a, b transcript.TimeRange) int { return int(a.BeginOffsetMillis - b.BeginOffsetMillis) })
		hits = slices.Compact(hits)
		c.MatchedCategories = append(c.MatchedCategories, r.Name)
		// A negated rule matched because nothing was said: like
		// Transcribe, it has no timestamps.
		c.MatchedDetails[r.Name] = transcript.CategoryDetails{TimestampRanges: hits}
	}
	return c
}

func millis(d time.Duration) int64 { return transcript.Millis(d) }
