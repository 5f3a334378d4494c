package analytics

import (
	"context"
	"testing"
	"time"

	"github.com/callrec/callrec/internal/corpus"
)

// BenchmarkAnalyze10Min analyses a synthetic 10-minute stereo 8 kHz call:
// speech-like noise bursts of 2–8 s taking turns, every fifth turn
// interrupting the previous one, a 4 s silence every twelfth, about 150
// words a minute of business talk and four category rules. The target is
// under 1 s per call.
func BenchmarkAnalyze10Min(b *testing.B) {
	const total = 10 * time.Minute
	var speech [2][]Interval
	at, c, k := 500*time.Millisecond, 0, 0
	for {
		d := time.Duration(2000+(k*1373)%6000) * time.Millisecond
		if at+d > total-time.Second {
			break
		}
		speech[c] = append(speech[c], Interval{at, at + d})
		gap := time.Duration(300+(k*211)%700) * time.Millisecond
		switch {
		case k%5 == 4:
			gap = -time.Second // the next speaker interrupts
		case k%12 == 11:
			gap = 4 * time.Second
		}
		at += d + gap
		c, k = 1-c, k+1
	}
	texts := []string{
		"Good morning, thank you for calling, how can I help you today?",
		"I have a problem with my order, the parcel never arrived and I am quite frustrated.",
		"I am really sorry to hear that, let me check the tracking number for you.",
		"It doesn't work, I tried twice and it is still broken.",
		"I will send you a replacement tomorrow and I will email you the invoice.",
		"That is great, thank you so much, I really appreciate your help.",
		"Please call me back if anything else is wrong.",
		"The meeting is on Tuesday at nine in the main office.",
	}
	rec, words := synthCall(8000, total, speech, texts, 42)
	opt := Options{Categories: []CategoryRule{
		{Name: "refund", Phrases: []string{"refund", "money back"}},
		{Name: "greeting", Phrases: []string{"thank you for calling"}, Speaker: "AGENT", ToMillis: 30000},
		{Name: "no-apology", Phrases: []string{"sorry"}, Speaker: "AGENT", Negate: true},
		{Name: "escalation", Phrases: []string{"speak to your manager", "complaint"}, FromMillis: -120000},
	}}
	b.ReportAllocs()
	b.ResetTimer()
	for b.Loop() {
		doc, err := Analyze(rec, words, opt)
		if err != nil {
			b.Fatal(err)
		}
		cc := doc.ConversationCharacteristics
		if len(doc.Transcript) < 100 || cc.Interruptions.TotalCount < 10 || len(cc.NonTalkTime.Instances) < 5 {
			b.Fatalf("%d turns, %d interruptions, %d silences", len(doc.Transcript), cc.Interruptions.TotalCount, len(cc.NonTalkTime.Instances))
		}
	}
	b.ReportMetric(float64(len(words)), "words")
}

// BenchmarkAnalyzeCorpus10Min analyses the corpus's 10-minute call (flite
// speech, 8 kHz) with the words of its truth. It needs flite and sox.
func BenchmarkAnalyzeCorpus10Min(b *testing.B) {
	corpus.Require(b)
	rec, truth, err := corpus.Recording(context.Background(), corpus.Long("long", 131), corpusDir(b), 8000)
	if err != nil {
		b.Fatal(err)
	}
	words := truth.Words()
	b.ReportAllocs()
	b.ResetTimer()
	for b.Loop() {
		if _, err := Analyze(rec, words, Options{}); err != nil {
			b.Fatal(err)
		}
	}
}
