package analytics

import (
	"bytes"
	"encoding/json"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/callrec/callrec/internal/transcribe"
	"github.com/callrec/callrec/internal/transcript"
)

func TestAnalyzeErrors(t *testing.T) {
	stereo := func(a, b int) *transcribe.Recording {
		return &transcribe.Recording{SampleRate: 8000, Channels: [][]int16{make([]int16, a), make([]int16, b)}}
	}
	mono := &transcribe.Recording{SampleRate: 8000, Channels: [][]int16{make([]int16, 8000)}}
	noRate := stereo(8000, 8000)
	noRate.SampleRate = 0
	tests := []struct {
		name  string
		rec   *transcribe.Recording
		words []transcribe.Word
		opt   Options
		want  error
		text  string
	}{
		{"nil", nil, nil, Options{}, ErrNoAudio, ""},
		{"no channels", &transcribe.Recording{SampleRate: 8000}, nil, Options{}, ErrNoAudio, ""},
		{"empty", stereo(0, 0), nil, Options{}, ErrNoAudio, ""},
		{"mono", mono, nil, Options{}, ErrChannels, "need 2 channels (owner, other party)"},
		{"three channels", &transcribe.Recording{SampleRate: 8000, Channels: make([][]int16, 3)}, nil, Options{}, ErrChannels, "has 3"},
		{"mismatched", stereo(8000, 7999), nil, Options{}, ErrChannelLength, "8000 and 7999"},
		{"zero rate", noRate, nil, Options{}, ErrSampleRate, ""},
		{"word channel", stereo(8000, 8000), []transcribe.Word{{Channel: 2, Text: "x"}}, Options{}, nil, "channel 2"},
		{"word time", stereo(8000, 8000), []transcribe.Word{{Start: time.Second, End: 0, Text: "x"}}, Options{}, nil, "bad time"},
		{"bad rule", stereo(8000, 8000), nil, Options{Categories: []CategoryRule{{Name: "x", Phrases: []string{"a"}, Speaker: "BOSS"}}}, nil, "speaker"},
		{"duplicate rule", stereo(8000, 8000), nil, Options{Categories: []CategoryRule{{Name: "x", Phrases: []string{"a"}}, {Name: "x", Phrases: []string{"b"}}}}, nil, "twice"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			doc, err := Analyze(tc.rec, tc.words, tc.opt)
			if err == nil {
				t.Fatalf("Analyze = %+v, want an error", doc)
			}
			if tc.want != nil && !errors.Is(err, tc.want) {
				t.Errorf("error %v, want %v", err, tc.want)
			}
			if !strings.Contains(err.Error(), tc.text) {
				t.Errorf("error %q does not say %q", err, tc.text)
			}
		})
	}
}

func TestAnalyzeSilentCall(t *testing.T) {
	rec := &transcribe.Recording{SampleRate: 8000, Channels: [][]int16{make([]int16, 80000), make([]int16, 80000)}}
	doc, err := Analyze(rec, nil, Options{})
	if err != nil {
		t.Fatal(err)
	}
	cc := doc.ConversationCharacteristics
	if cc.TalkTime.TotalTimeMillis != 0 || len(cc.NonTalkTime.Instances) != 1 || cc.NonTalkTime.TotalTimeMillis != 10000 {
		t.Errorf("silent call: talk %+v, non-talk %+v", cc.TalkTime, cc.NonTalkTime)
	}
	if len(doc.Transcript) != 0 || doc.Transcript == nil {
		t.Errorf("transcript %#v", doc.Transcript)
	}
}

// TestCharacteristicsSynthetic checks talk time, silences and
// interruptions on bursts of noise with known placement, at several rates.
func TestCharacteristicsSynthetic(t *testing.T) {
	speech := [2][]Interval{
		{iv(1, 5), iv(12, 16), iv(16.5, 18.9)}, // owner; 0.5 s pause bridged
		{iv(5.5, 8), iv(18, 22), iv(23, 23.2)}, // other: interrupts at 18; 200 ms burst
	}
	for _, rate := range []int{8000, 11025, 16000, 44100} {
		rec, words := synthCall(rate, 30*time.Second, speech, []string{"hello there"}, 1)
		doc, err := Analyze(rec, words, Options{})
		if err != nil {
			t.Fatal(err)
		}
		cc := doc.ConversationCharacteristics
		checkMillis(t, rate, "owner talk", cc.TalkTime.DetailsByParticipant[transcript.Agent].TotalTimeMillis, 10900, 100) // pause bridged
		checkMillis(t, rate, "other talk", cc.TalkTime.DetailsByParticipant[transcript.Customer].TotalTimeMillis, 6700, 100)
		nt := cc.NonTalkTime.Instances
		if len(nt) != 2 {
			t.Fatalf("%d Hz: silences %+v, want 8–12 s and 23.2–30 s", rate, nt)
		}
		checkMillis(t, rate, "silence begin", nt[0].BeginOffsetMillis, 8000, 60)
		checkMillis(t, rate, "silence end", nt[0].EndOffsetMillis, 12000, 60)
		checkMillis(t, rate, "last silence", nt[1].BeginOffsetMillis, 23200, 60)
		in := cc.Interruptions
		if in.TotalCount != 1 || len(in.InterruptionsByInterrupter[transcript.Customer]) != 1 {
			t.Fatalf("%d Hz: interruptions %+v", rate, in)
		}
		got := in.InterruptionsByInterrupter[transcript.Customer][0]
		checkMillis(t, rate, "interruption begin", got.BeginOffsetMillis, 18000, 60)
		checkMillis(t, rate, "interruption end", got.EndOffsetMillis, 18900, 60)
		if doc.ConversationCharacteristics.TotalConversationDurationMillis != 30000 {
			t.Errorf("%d Hz: duration %d", rate, cc.TotalConversationDurationMillis)
		}
	}
}

func TestInterruptionRules(t *testing.T) {
	tests := []struct {
		name   string
		speech [2][]Interval
		want   map[string]int
	}{
		{"tiny overlap ignored", [2][]Interval{{iv(0, 5)}, {iv(4.8, 8)}}, map[string]int{}},
		{"overlap counted", [2][]Interval{{iv(0, 5)}, {iv(4, 8)}}, map[string]int{transcript.Customer: 1}},
		{"owner interrupts", [2][]Interval{{iv(0, 2), iv(6, 9)}, {iv(3, 7)}}, map[string]int{transcript.Agent: 1}},
		{"backchannel inside", [2][]Interval{{iv(0, 10)}, {iv(4, 4.5)}}, map[string]int{transcript.Customer: 1}},
		{"same start is nobody's", [2][]Interval{{iv(1, 3)}, {iv(1, 3)}}, map[string]int{}},
		{"turn taking", [2][]Interval{{iv(0, 2), iv(4, 6)}, {iv(2.2, 3.8)}}, map[string]int{}},
	}
	for _, tc := range tests {
		in := interruptions(tc.speech, DefaultMinInterruption)
		total := 0
		for _, role := range transcript.Roles() {
			if got := len(in.InterruptionsByInterrupter[role]); got != tc.want[role] {
				t.Errorf("%s: %d by %s, want %d", tc.name, got, role, tc.want[role])
			}
			total += tc.want[role]
		}
		if in.TotalCount != total {
			t.Errorf("%s: TotalCount %d, want %d", tc.name, in.TotalCount, total)
		}
	}
}

func checkMillis(t *testing.T, rate int, what string, got, want, tol int64) {
	t.Helper()
	if got < want-tol || got > want+tol {
		t.Errorf("%d Hz: %s = %d ms, want %d ± %d", rate, what, got, want, tol)
	}
}

func TestBuildTurns(t *testing.T) {
	w := func(c int, a, b float64, text string) transcribe.Word {
		return transcribe.Word{Channel: c, Start: sec(a), End: sec(b), Text: text, Confidence: 0.8}
	}
	words := []transcribe.Word{
		w(0, 0, 0.4, "Hello,"), w(0, 0.5, 0.9, "how"), w(0, 1.0, 1.3, "are"), w(0, 1.3, 1.6, "you?"),
		w(1, 1.9, 2.2, "Fine."),
		w(0, 2.5, 2.8, "Good."),                        // owner again after the other side spoke
		w(0, 2.8, 3.0, "So"), w(0, 5.0, 5.4, "anyway"), // 2 s pause: new turn
		w(1, 5.2, 5.5, "yes"), // overlaps "anyway": no split of the owner's turn
		w(0, 5.5, 5.9, "bye"),
	}
	turns := buildTurns(words, DefaultTurnPause, "job")
	var got []string
	for _, tr := range turns {
		got = append(got, tr.ParticipantRole[:1]+":"+tr.Content)
	}
	want := []string{"A:Hello, how are you?", "C:Fine.", "A:Good. So", "A:anyway bye", "C:yes"}
	if strings.Join(got, "|") != strings.Join(want, "|") {
		t.Errorf("turns %q, want %q", got, want)
	}
	first := turns[0]
	if first.BeginOffsetMillis != 0 || first.EndOffsetMillis != 1600 || len(first.Items) != 6 {
		t.Errorf("first turn %+v", first)
	}
	if it := first.Items[1]; it.Type != transcript.Punctuation || it.Content != "," {
		t.Errorf("item 1 %+v, want punctuation ','", it)
	}
	if it := first.Items[0]; it.Confidence != 0.8 || it.Content != "Hello" || it.EndOffsetMillis != 400 {
		t.Errorf("item 0 %+v", it)
	}
	if len(first.ID) != 36 || first.ID == turns[1].ID {
		t.Errorf("ids %q %q", first.ID, turns[1].ID)
	}
	if again := buildTurns(words, DefaultTurnPause, "job"); again[0].ID != first.ID {
		t.Error("turn ids are not stable")
	}
}

func TestCategories(t *testing.T) {
	// Owner speaks at 0–4 s and 40–44 s, the other party at 10–14 s and
	// 50–54 s; the call is 60 s.
	speech := [2][]Interval{{iv(0, 4), iv(40, 44)}, {iv(10, 14), iv(50, 54)}}
	texts := []string{
		"hello thank you for calling", "my invoice is wrong", // owner 0–4 (10 words)
		"goodbye and thank you", // ...
	}
	rec, _ := synthCall(8000, 60*time.Second, speech, texts, 2)
	words := []transcribe.Word{}
	say := func(c int, at float64, text string) {
		for i, f := range strings.Fields(text) {
			s := sec(at + 0.3*float64(i))
			words = append(words, transcribe.Word{Channel: c, Start: s, End: s + 250*time.Millisecond, Text: f, Confidence: 1})
		}
	}
	say(0, 0.5, "Hello, thank you for calling.")
	say(1, 10.5, "I want to cancel my subscription.")
	say(0, 40.5, "I will send you the refund.")
	say(1, 50.5, "Thanks, goodbye.")

	tests := []struct {
		rule    CategoryRule
		match   bool
		atMilli int64 // begin of the first timestamp range, when matched and not negated
	}{
		{CategoryRule{Name: "cancel", Phrases: []string{"cancel my subscription"}}, true, 11400},
		{CategoryRule{Name: "cancel-case", Phrases: []string{"CANCEL  My Subscription!"}}, true, 11400},
		{CategoryRule{Name: "cancel-agent", Phrases: []string{"cancel"}, Speaker: "AGENT"}, false, 0},
		{CategoryRule{Name: "cancel-customer", Phrases: []string{"cancel"}, Speaker: "customer"}, true, 11400},
		{CategoryRule{Name: "greeting-first-5s", Phrases: []string{"thank you for calling"}, FromMillis: 0, ToMillis: 5000}, true, 800},
		{CategoryRule{Name: "greeting-late", Phrases: []string{"thank you for calling"}, FromMillis: 30000}, false, 0},
		{CategoryRule{Name: "refund-last-30s", Phrases: []string{"refund"}, FromMillis: -30000}, true, 42000},
		{CategoryRule{Name: "refund-window-before-end", Phrases: []string{"refund"}, FromMillis: -30000, ToMillis: -25000}, false, 0},
		{CategoryRule{Name: "no-apology", Phrases: []string{"sorry", "apologize"}, Speaker: "AGENT", Negate: true}, true, -1},
		{CategoryRule{Name: "no-refund", Phrases: []string{"refund"}, Negate: true}, false, 0},
		{CategoryRule{Name: "no-goodbye-first-half", Phrases: []string{"goodbye"}, ToMillis: 30000, Negate: true}, true, -1},
		{CategoryRule{Name: "contraction", Phrases: []string{"I'll send you"}}, true, 40500},
		{CategoryRule{Name: "full form", Phrases: []string{"i will send you"}}, true, 40500},
	}
	var rules []CategoryRule
	for _, tc := range tests {
		rules = append(rules, tc.rule)
	}
	doc, err := Analyze(rec, words, Options{Categories: rules})
	if err != nil {
		t.Fatal(err)
	}
	matched := map[string]bool{}
	for _, n := range doc.Categories.MatchedCategories {
		matched[n] = true
	}
	for _, tc := range tests {
		name := tc.rule.Name
		if matched[name] != tc.match {
			t.Errorf("%s: matched %v, want %v", name, matched[name], tc.match)
			continue
		}
		det, ok := doc.Categories.MatchedDetails[name]
		if ok != tc.match {
			t.Errorf("%s: details %v, want %v", name, ok, tc.match)
		}
		if !tc.match {
			continue
		}
		switch {
		case tc.atMilli < 0:
			if det.TimestampRanges == nil || len(det.TimestampRanges) != 0 {
				t.Errorf("%s: negated match has ranges %#v, want empty", name, det.TimestampRanges)
			}
		case len(det.TimestampRanges) == 0 || det.TimestampRanges[0].BeginOffsetMillis != tc.atMilli:
			t.Errorf("%s: ranges %+v, want a match at %d ms", name, det.TimestampRanges, tc.atMilli)
		}
	}
}

func TestCategoryRuleValidate(t *testing.T) {
	tests := []struct {
		rule CategoryRule
		want string
	}{
		{CategoryRule{Name: "ok", Phrases: []string{"x"}}, ""},
		{CategoryRule{Name: "negate without phrases", Negate: true}, ""},
		{CategoryRule{Name: " ", Phrases: []string{"x"}}, "empty name"},
		{CategoryRule{Name: "n", Phrases: nil}, "no phrases"},
		{CategoryRule{Name: "n", Phrases: []string{"!!"}}, "no words"},
		{CategoryRule{Name: "n", Phrases: []string{"x"}, Speaker: "boss"}, "speaker"},
		{CategoryRule{Name: "n", Phrases: []string{"x"}, FromMillis: 5000, ToMillis: 1000}, "empty"},
		{CategoryRule{Name: "n", Phrases: []string{"x"}, FromMillis: -5000, ToMillis: 1000}, "counts from the end"},
		{CategoryRule{Name: "n", Phrases: []string{"x"}, FromMillis: -5000, ToMillis: -6000}, "empty"},
	}
	for _, tc := range tests {
		err := tc.rule.Validate()
		if (err == nil) != (tc.want == "") || (err != nil && !strings.Contains(err.Error(), tc.want)) {
			t.Errorf("Validate(%+v) = %v, want %q", tc.rule, err, tc.want)
		}
	}
}

// TestJSONKeys checks that the document has every key of the Call
// Analytics schema and survives a round trip through transcript.Decode.
func TestJSONKeys(t *testing.T) {
	speech := [2][]Interval{{iv(0.5, 6), iv(12, 16)}, {iv(5.5, 10)}}
	texts := []string{"I have a problem with my order and I am very unhappy", "I will send you a new one today thank you"}
	rec, words := synthCall(8000, 20*time.Second, speech, texts, 3)
	rec.CallID, rec.Path = "call-1", "/data/call-1.wav"
	doc, err := Analyze(rec, words, Options{Categories: []CategoryRule{{Name: "order", Phrases: []string{"my order"}}}})
	if err != nil {
		t.Fatal(err)
	}
	var buf bytes.Buffer
	if err := transcript.Encode(&buf, doc); err != nil {
		t.Fatal(err)
	}
	raw := buf.Bytes()
	var m map[string]any
	if err := json.Unmarshal(raw, &m); err != nil {
		t.Fatal(err)
	}
	for _, path := range []string{
		"JobName", "JobStatus", "LanguageCode", "Channel", "Participants", "Transcript",
		"Categories.MatchedCategories", "Categories.MatchedDetails", "ContentMetadata.Output",
		"CallrecMetadata.CallId", "CallrecMetadata.SampleRate", "CallrecMetadata.DurationMillis", "CallrecMetadata.AudioFile",
		"ConversationCharacteristics.NonTalkTime.Instances", "ConversationCharacteristics.NonTalkTime.TotalTimeMillis",
		"ConversationCharacteristics.Interruptions.TotalCount", "ConversationCharacteristics.Interruptions.TotalTimeMillis",
		"ConversationCharacteristics.Interruptions.InterruptionsByInterrupter.AGENT",
		"ConversationCharacteristics.Interruptions.InterruptionsByInterrupter.CUSTOMER",
		"ConversationCharacteristics.TotalConversationDurationMillis",
		"ConversationCharacteristics.Sentiment.OverallSentiment.AGENT",
		"ConversationCharacteristics.Sentiment.OverallSentiment.CUSTOMER",
		"ConversationCharacteristics.Sentiment.SentimentByPeriod.QUARTER.AGENT",
		"ConversationCharacteristics.Sentiment.SentimentByPeriod.QUARTER.CUSTOMER",
		"ConversationCharacteristics.TalkSpeed.DetailsByParticipant.AGENT.AverageWordsPerMinute",
		"ConversationCharacteristics.TalkSpeed.DetailsByParticipant.CUSTOMER.AverageWordsPerMinute",
		"ConversationCharacteristics.TalkTime.DetailsByParticipant.AGENT.TotalTimeMillis",
		"ConversationCharacteristics.TalkTime.DetailsByParticipant.CUSTOMER.TotalTimeMillis",
		"ConversationCharacteristics.TalkTime.TotalTimeMillis",
	} {
		if !hasKey(m, path) {
			t.Errorf("JSON has no %s", path)
		}
	}
	turnKeys := map[string]bool{}
	for _, turn := range m["Transcript"].([]any) {
		for k := range turn.(map[string]any) {
			turnKeys[k] = true
		}
	}
	for _, k := range []string{"Id", "ParticipantRole", "BeginOffsetMillis", "EndOffsetMillis", "Content", "Sentiment",
		"LoudnessScores", "Items", "IssuesDetected", "ActionItemsDetected"} {
		if !turnKeys[k] {
			t.Errorf("no turn has %s", k)
		}
	}
	if q := m["ConversationCharacteristics"].(map[string]any)["Sentiment"].(map[string]any)["SentimentByPeriod"].(map[string]any)["QUARTER"].(map[string]any)["AGENT"].([]any); len(q) != 4 {
		t.Errorf("%d quarters", len(q))
	}

	back, err := transcript.Decode(bytes.NewReader(raw))
	if err != nil {
		t.Fatal(err)
	}
	var again bytes.Buffer
	if err := transcript.Encode(&again, back); err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(raw, again.Bytes()) {
		t.Errorf("round trip changed the JSON:\n%s\n---\n%s", raw, again.Bytes())
	}
}

// TestJSONKeysEmpty: a call without words still has every key.
func TestJSONKeysEmpty(t *testing.T) {
	rec := &transcribe.Recording{SampleRate: 8000, Channels: [][]int16{make([]int16, 800), make([]int16, 800)}}
	doc, err := Analyze(rec, nil, Options{})
	if err != nil {
		t.Fatal(err)
	}
	b, _ := json.Marshal(doc)
	for _, k := range []string{`"Transcript":[]`, `"MatchedCategories":[]`, `"MatchedDetails":{}`, `"Instances":[]`,
		`"InterruptionsByInterrupter":{"AGENT":[],"CUSTOMER":[]}`, `"OverallSentiment":{"AGENT":0,"CUSTOMER":0}`} {
		if !bytes.Contains(b, []byte(k)) {
			t.Errorf("JSON lacks %s: %s", k, b)
		}
	}
}

func hasKey(m map[string]any, path string) bool {
	var cur any = m
	for _, k := range strings.Split(path, ".") {
		mm, ok := cur.(map[string]any)
		if !ok {
			return false
		}
		if cur, ok = mm[k]; !ok {
			return false
		}
	}
	return true
}

func TestEnrich(t *testing.T) {
	doc := &transcript.Document{
		Transcript: []transcript.Turn{
			{ParticipantRole: transcript.Agent, BeginOffsetMillis: 0, EndOffsetMillis: 3000, Content: "Hello, thank you for calling."},
			{ParticipantRole: transcript.Customer, BeginOffsetMillis: 2500, EndOffsetMillis: 6000, Content: "Hi, my printer does not work.",
				Items: []transcript.Item{
					{BeginOffsetMillis: 2500, EndOffsetMillis: 2900, Content: "Hi", Type: transcript.Pronunciation},
					{Content: ",", Type: transcript.Punctuation},
					{BeginOffsetMillis: 3000, EndOffsetMillis: 3400, Content: "my", Type: transcript.Pronunciation},
					{BeginOffsetMillis: 3500, EndOffsetMillis: 4000, Content: "printer", Type: transcript.Pronunciation},
					{BeginOffsetMillis: 4100, EndOffsetMillis: 4600, Content: "does", Type: transcript.Pronunciation},
					{BeginOffsetMillis: 4700, EndOffsetMillis: 5200, Content: "not", Type: transcript.Pronunciation},
					{BeginOffsetMillis: 5300, EndOffsetMillis: 6000, Content: "work", Type: transcript.Pronunciation},
					{Content: ".", Type: transcript.Punctuation},
				}},
			{ParticipantRole: transcript.Agent, BeginOffsetMillis: 12000, EndOffsetMillis: 14000, Content: "Terrible news.", Sentiment: transcript.Positive},
		},
	}
	Enrich(doc, nil, Options{Categories: []CategoryRule{{Name: "printer", Phrases: []string{"printer"}}, {Name: "bad", Speaker: "nobody"}}})
	if doc.JobStatus != "COMPLETED" || len(doc.Participants) != 2 {
		t.Errorf("header %q %+v", doc.JobStatus, doc.Participants)
	}
	tr := doc.Transcript
	if tr[0].Sentiment != transcript.Positive || tr[1].Sentiment != transcript.Negative {
		t.Errorf("sentiments %s %s", tr[0].Sentiment, tr[1].Sentiment)
	}
	if tr[2].Sentiment != transcript.Positive {
		t.Error("Enrich replaced a sentiment the document had")
	}
	if len(tr[1].IssuesDetected) != 1 || tr[1].IssuesDetected[0].CharacterOffsets.Text(tr[1].Content) != "my printer does not work" {
		t.Errorf("issues %+v", tr[1].IssuesDetected)
	}
	if tr[0].LoudnessScores != nil {
		t.Error("loudness without audio")
	}
	cc := doc.ConversationCharacteristics
	if cc.TotalConversationDurationMillis != 14000 {
		t.Errorf("duration %d", cc.TotalConversationDurationMillis)
	}
	// Owner from the turn times (0–3 s, 12–14 s), customer from the items
	// (2.5–6 s, pauses under 600 ms bridged).
	if a, c := cc.TalkTime.DetailsByParticipant[transcript.Agent].TotalTimeMillis, cc.TalkTime.DetailsByParticipant[transcript.Customer].TotalTimeMillis; a != 5000 || c != 3500 {
		t.Errorf("talk time %d %d", a, c)
	}
	if len(cc.NonTalkTime.Instances) != 1 || cc.NonTalkTime.Instances[0].BeginOffsetMillis != 6000 {
		t.Errorf("non-talk %+v", cc.NonTalkTime)
	}
	if cc.Interruptions.TotalCount != 1 || len(cc.Interruptions.InterruptionsByInterrupter[transcript.Customer]) != 1 {
		t.Errorf("interruptions %+v", cc.Interruptions)
	}
	if len(doc.Categories.MatchedCategories) != 1 || doc.Categories.MatchedDetails["printer"].TimestampRanges[0].BeginOffsetMillis != 3500 {
		t.Errorf("categories %+v", doc.Categories)
	}

	// What a document has is kept.
	doc.ConversationCharacteristics.TalkTime.TotalTimeMillis = 1
	Enrich(doc, nil, Options{})
	if doc.ConversationCharacteristics.TalkTime.TotalTimeMillis != 1 {
		t.Error("Enrich recomputed talk time the document had")
	}
	Enrich(nil, nil, Options{}) // no panic
}

func TestEnrichWithAudio(t *testing.T) {
	speech := [2][]Interval{{iv(1, 4)}, {iv(5, 9)}}
	rec, words := synthCall(16000, 12*time.Second, speech, []string{"fine thanks"}, 4)
	full, err := Analyze(rec, words, Options{})
	if err != nil {
		t.Fatal(err)
	}
	bare := &transcript.Document{Transcript: make([]transcript.Turn, len(full.Transcript))}
	for i, tr := range full.Transcript {
		bare.Transcript[i] = transcript.Turn{ParticipantRole: tr.ParticipantRole, BeginOffsetMillis: tr.BeginOffsetMillis,
			EndOffsetMillis: tr.EndOffsetMillis, Content: tr.Content, Items: tr.Items}
	}
	Enrich(bare, rec, Options{})
	if got, want := bare.ConversationCharacteristics.TalkTime, full.ConversationCharacteristics.TalkTime; got.TotalTimeMillis != want.TotalTimeMillis {
		t.Errorf("talk time %+v, Analyze says %+v", got, want)
	}
	if len(bare.Transcript[0].LoudnessScores) != 3 || bare.Transcript[0].LoudnessScores[0] == nil {
		t.Errorf("loudness %v", bare.Transcript[0].LoudnessScores)
	}
	// A mono recording is no use for voice activity: Enrich falls back to
	// the words.
	bare2 := &transcript.Document{Transcript: bare.Transcript[:1]}
	bare2.Transcript[0].Sentiment = ""
	Enrich(bare2, &transcribe.Recording{SampleRate: 8000, Channels: [][]int16{make([]int16, 10)}}, Options{})
	if bare2.ConversationCharacteristics.TalkTime.TotalTimeMillis == 0 {
		t.Error("no talk time from the words")
	}
}

func TestLoudness(t *testing.T) {
	tests := []struct {
		dbfs, want float64
	}{{0, 100}, {-20, 80}, {-100, 0}, {-130, 0}, {3, 100}}
	for _, tc := range tests {
		if got := LoudnessScore(tc.dbfs); got != tc.want {
			t.Errorf("LoudnessScore(%v) = %v, want %v", tc.dbfs, got, tc.want)
		}
	}
	// A 2.5 s turn of speech at about −20 dBFS then 1 s of nothing: 4
	// scores, the last null.
	speech := [2][]Interval{{iv(1, 3.5)}, nil}
	rec, _ := synthCall(8000, 6*time.Second, speech, []string{"x"}, 5)
	acts, err := detect(rec, DefaultVAD())
	if err != nil {
		t.Fatal(err)
	}
	turn := transcript.Turn{BeginOffsetMillis: 1000, EndOffsetMillis: 4500}
	got := loudness(&acts[0], &turn)
	if len(got) != 4 || got[3] != nil {
		t.Fatalf("loudness %v", got)
	}
	for _, l := range got[:3] {
		if l == nil || *l < 75 || *l > 85 {
			t.Errorf("loudness %v, want about 80", got)
		}
	}
}

func TestDetectVoiceEdgeCases(t *testing.T) {
	if _, err := DetectVoice(nil, 0, VADParams{}); !errors.Is(err, ErrSampleRate) {
		t.Errorf("rate 0: %v", err)
	}
	a, err := DetectVoice(nil, 8000, VADParams{})
	if err != nil || len(a.Speech) != 0 {
		t.Errorf("no samples: %+v %v", a, err)
	}
	// Steady noise alone is not speech.
	rec, _ := synthCall(8000, 10*time.Second, [2][]Interval{}, []string{"x"}, 6)
	if a, _ := DetectVoice(rec.Channels[0], 8000, VADParams{}); len(a.Speech) != 0 {
		t.Errorf("noise detected as speech: %+v", a.Speech)
	}
	// A 60 ms click is dropped.
	x := rec.Channels[1]
	for i := 40000; i < 40480; i++ {
		x[i] = int16(8000 * (i%2*2 - 1))
	}
	if a, _ := DetectVoice(x, 8000, VADParams{}); len(a.Speech) != 0 {
		t.Errorf("click detected as speech: %+v", a.Speech)
	}
	// A DC offset is not speech.
	for i := range x {
		x[i] += 5000
	}
	if a, _ := DetectVoice(x, 8000, VADParams{}); len(a.Speech) != 0 {
		t.Errorf("DC detected as speech: %+v", a.Speech)
	}
}

func FuzzDetectVoice(f *testing.F) {
	f.Add([]byte{0, 1, 2, 3}, uint16(8000))
	f.Add(bytes.Repeat([]byte{0x7f, 0xff, 0x80, 0x00}, 3000), uint16(7))
	f.Fuzz(func(t *testing.T, b []byte, rate uint16) {
		x := make([]int16, len(b)/2)
		for i := range x {
			x[i] = int16(uint16(b[2*i]) | uint16(b[2*i+1])<<8)
		}
		a, err := DetectVoice(x, int(rate), VADParams{})
		if rate == 0 {
			if err == nil {
				t.Fatal("rate 0 accepted")
			}
			return
		}
		if err != nil {
			t.Fatal(err)
		}
		dur := samplesDuration(len(x), int(rate))
		var prev time.Duration
		for _, s := range a.Speech {
			if s.Start < prev || s.End <= s.Start || s.End > dur {
				t.Fatalf("bad speech %+v (duration %v)", a.Speech, dur)
			}
			prev = s.End
		}
	})
}

func TestOtherLanguage(t *testing.T) {
	speech := [2][]Interval{{iv(1, 4)}, {iv(5, 8)}}
	rec, words := synthCall(8000, 10*time.Second, speech, []string{"I have a problem with my order, this is terrible"}, 7)
	doc, err := Analyze(rec, words, Options{Language: "de-DE", Categories: []CategoryRule{{Name: "order", Phrases: []string{"order"}}}})
	if err != nil {
		t.Fatal(err)
	}
	if doc.LanguageCode != "de-DE" {
		t.Errorf("LanguageCode %q", doc.LanguageCode)
	}
	for _, turn := range doc.Transcript {
		if turn.Sentiment != transcript.Neutral || turn.IssuesDetected != nil {
			t.Errorf("turn %q: %s %+v: English rules applied to de-DE", turn.Content, turn.Sentiment, turn.IssuesDetected)
		}
	}
	if len(doc.Categories.MatchedCategories) != 1 {
		t.Errorf("user categories not applied: %+v", doc.Categories)
	}
}
