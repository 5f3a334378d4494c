package analytics

import (
	"context"
	"fmt"
	"math"
	"strings"
	"testing"
	"time"

	"github.com/callrec/callrec/internal/corpus"
	"github.com/callrec/callrec/internal/transcribe"
	"github.com/callrec/callrec/internal/transcript"
)

// corpusDir is the shared cache of rendered conversations.
func corpusDir(t testing.TB) string {
	dir, err := corpus.DefaultDir()
	if err != nil {
		return t.TempDir()
	}
	return dir
}

// TestCorpus measures the analytics against the ground truth of the
// synthesised conversations at 16 and 8 kHz. The words come from the truth
// (each line's words spread over it): the engines' accuracy is tested with
// the engines.
func TestCorpus(t *testing.T) {
	corpus.Require(t)
	dir := corpusDir(t)
	for _, rate := range []int{16000, 8000} {
		for _, s := range corpus.Scripts() {
			t.Run(fmt.Sprintf("%s/%d", s.Name, rate), func(t *testing.T) {
				rec, truth, err := corpus.Recording(context.Background(), s, dir, rate)
				if err != nil {
					t.Fatal(err)
				}
				doc := checkTruth(t, rec, truth)
				checkCorpusText(t, doc, truth)
			})
		}
	}
}

// TestCorpusLong checks a 10-minute call (the scripts repeated) at 8 kHz:
// no phantom silences or interruptions over a long call.
func TestCorpusLong(t *testing.T) {
	if testing.Short() {
		t.Skip("renders a 10-minute call (once per machine)")
	}
	corpus.Require(t)
	rec, truth, err := corpus.Recording(context.Background(), corpus.Long("long", 131), corpusDir(t), 8000)
	if err != nil {
		t.Fatal(err)
	}
	checkTruth(t, rec, truth)
}

// checkTruth analyses rec with the words of the truth and compares talk
// time, silences and interruptions with the truth.
func checkTruth(t *testing.T, rec *transcribe.Recording, truth corpus.Truth) *transcript.Document {
	t.Helper()
	const (
		talkTolerance = 0.05
		edgeTolerance = 300 * time.Millisecond
	)
	doc, err := Analyze(rec, truth.Words(), Options{})
	if err != nil {
		t.Fatal(err)
	}
	cc := doc.ConversationCharacteristics

	// Talk time per speaker.
	for c, role := range transcript.Roles() {
		got := time.Duration(cc.TalkTime.DetailsByParticipant[role].TotalTimeMillis) * time.Millisecond
		want := truth.TalkTime[c]
		e := math.Abs(float64(got-want)) / float64(want)
		t.Logf("talk time %-8s %v, truth %v: error %.2f %%", role, got, want, 100*e)
		if e > talkTolerance {
			t.Errorf("talk time of %s = %v, truth %v: off by %.1f %% (limit %.0f %%)", role, got, want, 100*e, 100*talkTolerance)
		}
	}

	// Every silence, and nothing else.
	got := cc.NonTalkTime.Instances
	if len(got) != len(truth.Silences) {
		t.Errorf("%d silences %+v, truth %d %+v", len(got), got, len(truth.Silences), truth.Silences)
	}
	for _, want := range truth.Silences {
		found := false
		for _, g := range got {
			db := ms(g.BeginOffsetMillis) - want.Start
			de := ms(g.EndOffsetMillis) - want.End
			if absDur(db) <= edgeTolerance && absDur(de) <= edgeTolerance {
				found = true
				t.Logf("silence %v–%v found, edges off by %v and %v", want.Start, want.End, db, de)
			}
		}
		if !found {
			t.Errorf("silence %v–%v not found within %v in %+v", want.Start, want.End, edgeTolerance, got)
		}
	}

	// Every overlap as an interruption by the right side, and nothing
	// else.
	in := cc.Interruptions
	if in.TotalCount != len(truth.Overlaps) {
		t.Errorf("%d interruptions %+v, truth %d overlaps %+v", in.TotalCount, in.InterruptionsByInterrupter, len(truth.Overlaps), truth.Overlaps)
	}
	for _, o := range truth.Overlaps {
		role := transcript.Role(o.Interrupter)
		found := false
		for _, g := range in.InterruptionsByInterrupter[role] {
			db := ms(g.BeginOffsetMillis) - o.Start
			de := ms(g.EndOffsetMillis) - o.End
			if absDur(db) <= edgeTolerance && absDur(de) <= edgeTolerance {
				found = true
				t.Logf("interruption by %s %v–%v found, edges off by %v and %v", role, o.Start, o.End, db, de)
			}
		}
		if !found {
			t.Errorf("overlap %v–%v by %s not found in %+v", o.Start, o.End, role, in.InterruptionsByInterrupter)
		}
	}
	return doc
}

// checkCorpusText checks the transcript side: turns, sentiment, issues,
// action items, loudness and talk speed.
func checkCorpusText(t *testing.T, doc *transcript.Document, truth corpus.Truth) {
	if len(doc.Transcript) != len(truth.Segments) {
		t.Errorf("%d turns for %d lines", len(doc.Transcript), len(truth.Segments))
	}
	var issues, actions int
	for _, turn := range doc.Transcript {
		for _, d := range turn.IssuesDetected {
			issues++
			t.Logf("issue       %s: %q", turn.ParticipantRole, d.CharacterOffsets.Text(turn.Content))
		}
		for _, d := range turn.ActionItemsDetected {
			actions++
			t.Logf("action item %s: %q", turn.ParticipantRole, d.CharacterOffsets.Text(turn.Content))
		}
		secs := (turn.EndOffsetMillis - turn.BeginOffsetMillis + 999) / 1000
		if int64(len(turn.LoudnessScores)) != secs {
			t.Errorf("turn %q: %d loudness scores for %d s", turn.Content, len(turn.LoudnessScores), secs)
		}
		for _, l := range turn.LoudnessScores {
			if l != nil && (*l < 50 || *l > 100) {
				t.Errorf("turn %q: loudness %v", turn.Content, *l)
			}
		}
		low := strings.ToLower(turn.Content)
		switch {
		case strings.Contains(low, "frustrated"), strings.Contains(low, "not good"):
			if turn.Sentiment != transcript.Negative {
				t.Errorf("turn %q: %s, want NEGATIVE", turn.Content, turn.Sentiment)
			}
		case strings.Contains(low, "appreciate"), strings.Contains(low, "wonderful"), strings.Contains(low, "great"):
			if turn.Sentiment != transcript.Positive {
				t.Errorf("turn %q: %s, want POSITIVE", turn.Content, turn.Sentiment)
			}
		}
	}
	if issues < 2 || actions < 3 {
		t.Errorf("%d issues and %d action items, want at least 2 and 3", issues, actions)
	}
	for _, role := range transcript.Roles() {
		wpm := doc.ConversationCharacteristics.TalkSpeed.DetailsByParticipant[role].AverageWordsPerMinute
		t.Logf("talk speed %s %.0f wpm, overall sentiment %.2f, quarters %+v", role, wpm,
			doc.ConversationCharacteristics.Sentiment.OverallSentiment[role],
			doc.ConversationCharacteristics.Sentiment.SentimentByPeriod.Quarter[role])
		if wpm < 80 || wpm > 250 {
			t.Errorf("talk speed of %s: %v wpm", role, wpm)
		}
	}
}

func absDur(d time.Duration) time.Duration {
	if d < 0 {
		return -d
	}
	return d
}
