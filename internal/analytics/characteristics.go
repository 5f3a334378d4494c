package analytics

import (
	"math"
	"slices"
	"time"

	"github.com/callrec/callrec/internal/transcript"
)

// talkTime fills TalkTime from the speech of both channels.
func talkTime(speech [2][]Interval) transcript.TalkTime {
	tt := transcript.TalkTime{DetailsByParticipant: map[string]transcript.Duration{}}
	for c, sp := range speech {
		var d time.Duration
		for _, s := range sp {
			d += s.Duration()
		}
		ms := millis(d)
		tt.DetailsByParticipant[transcript.Role(c)] = transcript.Duration{TotalTimeMillis: ms}
		tt.TotalTimeMillis += ms
	}
	return tt
}

// nonTalkTime finds the spans of minGap or more in [0, total) where neither
// channel speaks.
func nonTalkTime(speech [2][]Interval, total, minGap time.Duration) transcript.NonTalkTime {
	all := append(slices.Clone(speech[0]), speech[1]...)
	slices.SortFunc(all, func(a, b Interval) int { return cmpDur(a.Start, b.Start) })
	nt := transcript.NonTalkTime{Instances: []transcript.Span{}}
	add := func(b, e time.Duration) {
		if e-b >= minGap {
			s := transcript.Span{BeginOffsetMillis: millis(b), EndOffsetMillis: millis(e)}
			s.DurationMillis = s.EndOffsetMillis - s.BeginOffsetMillis
			nt.Instances = append(nt.Instances, s)
			nt.TotalTimeMillis += s.DurationMillis
		}
	}
	var covered time.Duration
	for _, s := range all {
		add(covered, s.Start)
		covered = max(covered, s.End)
	}
	add(covered, total)
	return nt
}

// interruptions finds where one side starts speaking while the other is
// speaking and both go on together for minOverlap or more. The span is the
// overlap; the interrupter is the side that started later.
func interruptions(speech [2][]Interval, minOverlap time.Duration) transcript.Interruptions {
	in := transcript.Interruptions{InterruptionsByInterrupter: map[string][]transcript.Span{}}
	for c := range speech {
		role := transcript.Role(c)
		spans := []transcript.Span{}
		other := speech[1-c]
		for _, x := range speech[c] {
			// The other side's interval that started last before x.
			k, _ := slices.BinarySearchFunc(other, x.Start, func(y Interval, t time.Duration) int { return cmpDur(y.Start, t) })
			if k == 0 {
				continue
			}
			y := other[k-1]
			if y.Start >= x.Start || y.End <= x.Start {
				continue
			}
			end := min(x.End, y.End)
			if end-x.Start < minOverlap {
				continue
			}
			s := transcript.Span{BeginOffsetMillis: millis(x.Start), EndOffsetMillis: millis(end)}
			s.DurationMillis = s.EndOffsetMillis - s.BeginOffsetMillis
			spans = append(spans, s)
			in.TotalCount++
			in.TotalTimeMillis += s.DurationMillis
		}
		in.InterruptionsByInterrupter[role] = spans
	}
	return in
}

// talkSpeed is words per minute of each side's talk time.
func talkSpeed(turns []transcript.Turn, tt transcript.TalkTime) transcript.TalkSpeed {
	var words [2]int
	for i := range turns {
		c := transcript.Channel(turns[i].ParticipantRole)
		if c < 0 {
			continue
		}
		if len(turns[i].Items) > 0 {
			words[c] += len(turns[i].Words())
		} else {
			words[c] += len(tokenize(turns[i].Content))
		}
	}
	ts := transcript.TalkSpeed{DetailsByParticipant: map[string]transcript.WordsPerMinute{}}
	for c, n := range words {
		role := transcript.Role(c)
		wpm := 0.0
		if ms := tt.DetailsByParticipant[role].TotalTimeMillis; ms > 0 {
			wpm = math.Round(float64(n) / (float64(ms) / 60000))
		}
		ts.DetailsByParticipant[role] = transcript.WordsPerMinute{AverageWordsPerMinute: wpm}
	}
	return ts
}

// LoudnessScore maps a level in dBFS to the 0–100 scale of Transcribe's
// LoudnessScores: score = 100 + dBFS, clamped to 0…100, so full scale is 100,
// normal phone speech (−30…−15 dBFS) scores 70–85, and −100 dBFS or less
// scores 0.
func LoudnessScore(dbfs float64) float64 {
	return round2(min(100, max(0, 100+dbfs)))
}

// loudness returns a turn's LoudnessScores: one per second of the turn (the
// last second may be shorter), each the RMS level of the speech frames of
// the speaker's channel in that second, as LoudnessScore; null for a
// second without speech.
func loudness(a *Activity, t *transcript.Turn) []*float64 {
	begin, end := t.Begin(), t.End()
	if end <= begin || a.FrameLen == 0 || len(a.Level) == 0 {
		return nil
	}
	n := int((end - begin + time.Second - 1) / time.Second)
	out := make([]*float64, n)
	for k := range n {
		ws := begin + time.Duration(k)*time.Second
		we := min(end, ws+time.Second)
		var sum float64
		var cnt int
		for f := max(0, a.frameAt(ws)); f < len(a.Level) && a.FrameTime(f) < we; f++ {
			if !inSpeech(a.Speech, a.FrameTime(f)) {
				continue
			}
			sum += math.Pow(10, a.Level[f]/10)
			cnt++
		}
		if cnt > 0 {
			out[k] = transcript.Float(LoudnessScore(10 * math.Log10(sum/float64(cnt))))
		}
	}
	return out
}

// inSpeech reports whether t falls inside one of the sorted intervals.
func inSpeech(sp []Interval, t time.Duration) bool {
	k, _ := slices.BinarySearchFunc(sp, t, func(s Interval, t time.Duration) int { return cmpDur(s.Start, t) })
	// sp[k-1] starts at or before t (sp[k].Start > t, or == t).
	if k < len(sp) && sp[k].Start == t {
		return true
	}
	return k > 0 && t < sp[k-1].End
}

// periodSentiment returns each side's sentiment in quarters of the call and
// over the whole call: the average of the turn scores, each weighted by how
// long the turn lasts inside the period.
func periodSentiment(turns []transcript.Turn, scores []float64, total int64) transcript.Sentiment {
	s := transcript.Sentiment{
		OverallSentiment:  map[string]float64{},
		SentimentByPeriod: transcript.SentimentByPeriod{Quarter: map[string][]transcript.PeriodScore{}},
	}
	avg := func(role string, from, to int64) float64 {
		var sum, w float64
		for i := range turns {
			t := &turns[i]
			if t.ParticipantRole != role {
				continue
			}
			ov := min(to, t.EndOffsetMillis) - max(from, t.BeginOffsetMillis)
			if ov <= 0 && !(t.EndOffsetMillis == t.BeginOffsetMillis && t.BeginOffsetMillis >= from && t.BeginOffsetMillis < to) {
				continue
			}
			weight := float64(max(ov, 1))
			sum += scores[i] * weight
			w += weight
		}
		if w == 0 {
			return 0
		}
		return round2(sum / w)
	}
	for _, role := range transcript.Roles() {
		s.OverallSentiment[role] = avg(role, 0, max(total, 1))
		q := make([]transcript.PeriodScore, 4)
		for k := range q {
			from, to := total*int64(k)/4, total*int64(k+1)/4
			q[k] = transcript.PeriodScore{BeginOffsetMillis: from, EndOffsetMillis: to, Score: avg(role, from, to)}
		}
		s.SentimentByPeriod.Quarter[role] = q
	}
	return s
}
