package report

import (
	"archive/zip"
	"bytes"
	"context"
	"encoding/xml"
	"fmt"
	"io"
	"math"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/callrec/callrec/internal/analytics"
	"github.com/callrec/callrec/internal/corpus"
	"github.com/callrec/callrec/internal/store"
	"github.com/callrec/callrec/internal/transcript"
)

// artifactsDir is where tests keep what a person may want to look at
// (rendered reports, the first page of the PDF): $CALLREC_TEST_ARTIFACTS
// when set, else a temporary directory.
func artifactsDir(t testing.TB) string {
	t.Helper()
	dir := os.Getenv("CALLREC_TEST_ARTIFACTS")
	if dir == "" {
		return t.TempDir()
	}
	dir = filepath.Join(dir, "report")
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	return dir
}

// requireTools skips the test when a program is missing, except on CI
// (CI=true), where the test fails so that it cannot silently stop running.
func requireTools(t testing.TB, names ...string) {
	t.Helper()
	var missing []string
	for _, n := range names {
		if _, err := exec.LookPath(n); err != nil {
			missing = append(missing, n)
		}
	}
	if len(missing) == 0 {
		return
	}
	msg := fmt.Sprintf("missing %s (Debian: libreoffice-writer-nogui, poppler-utils)", strings.Join(missing, ", "))
	if os.Getenv("CI") == "true" {
		t.Fatalf("%s; CI=true: the rendering tests must run", msg)
	}
	t.Skip(msg)
}

// goldenAWS reads the Call Analytics output written from AWS's documented
// schema.
func goldenAWS(t testing.TB) *transcript.Document {
	t.Helper()
	f, err := os.Open("../transcribe/aws/testdata/call-analytics-output.json")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	doc, err := transcript.Decode(f)
	if err != nil {
		t.Fatal(err)
	}
	return doc
}

// goldenCorpus runs our own analytics on a synthesised corpus conversation
// (the words from its ground truth), as the pipeline would.
func goldenCorpus(t testing.TB) *transcript.Document {
	t.Helper()
	corpus.Require(t)
	dir, err := corpus.DefaultDir()
	if err != nil {
		dir = t.TempDir()
	}
	s := corpus.Scripts()[0]
	rec, truth, err := corpus.Recording(context.Background(), s, dir, 8000)
	if err != nil {
		t.Fatal(err)
	}
	rec.CallID = s.Name
	doc, err := analytics.Analyze(rec, truth.Words(), analytics.Options{
		Categories: []analytics.CategoryRule{{Name: "delivery", Phrases: []string{"courier", "delivery"}}},
	})
	if err != nil {
		t.Fatal(err)
	}
	doc.CallrecMetadata = &transcript.CallrecMetadata{CallID: s.Name, Engine: "sphinx", SampleRate: 8000, DurationMillis: rec.Duration().Milliseconds()}
	return doc
}

// testCall is a call record as the store keeps it.
func testCall(id string, d time.Duration) *store.Call {
	loc := time.FixedZone("CET", 3600)
	start := time.Date(2025, 3, 4, 14, 3, 5, 0, loc)
	answered := start.Add(6 * time.Second)
	ended := answered.Add(d)
	pEnd := answered.Add(d / 3).Add(20 * time.Second)
	return &store.Call{
		ID: id, Direction: store.DirectionOutbound, OwnerNumber: "+441632960001", Party: "+441632960961",
		ServiceNumber: "+441632960000", StartedAt: start, AnsweredAt: &answered, EndedAt: &ended,
		Status: store.StatusCompleted, RecordingState: store.RecordingComplete,
		Pauses: []store.Span{{Start: answered.Add(d / 3), End: &pEnd}},
	}
}

// testOptions are renderer options with fixed time and zone.
func testOptions(formats ...Format) Options {
	return Options{
		Location: time.FixedZone("CET", 3600), OwnerName: "Dana", Formats: formats, ConfidenceHistogram: true,
		Now: func() time.Time { return time.Date(2025, 3, 4, 15, 0, 0, 0, time.UTC) },
	}
}

// unzip returns the parts of a ZIP package.
func unzip(t testing.TB, data []byte) map[string][]byte {
	t.Helper()
	zr, err := zip.NewReader(bytes.NewReader(data), int64(len(data)))
	if err != nil {
		t.Fatalf("DOCX is not a ZIP: %v", err)
	}
	parts := map[string][]byte{}
	for _, f := range zr.File {
		rc, err := f.Open()
		if err != nil {
			t.Fatal(err)
		}
		b, err := io.ReadAll(rc)
		rc.Close()
		if err != nil {
			t.Fatal(err)
		}
		if _, dup := parts[f.Name]; dup {
			t.Errorf("DOCX has %s twice", f.Name)
		}
		parts[f.Name] = b
	}
	return parts
}

// docParagraph is a paragraph of document.xml: its style and text.
type docParagraph struct {
	Style string
	Text  string
}

// paragraphs parses document.xml into its paragraphs (those in tables
// included), in order.
func paragraphs(t testing.TB, documentXML []byte) []docParagraph {
	t.Helper()
	dec := xml.NewDecoder(bytes.NewReader(documentXML))
	var out []docParagraph
	var cur *docParagraph
	var text strings.Builder
	inText := false
	for {
		tok, err := dec.Token()
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatalf("document.xml: %v", err)
		}
		switch e := tok.(type) {
		case xml.StartElement:
			switch e.Name.Local {
			case "p":
				cur = &docParagraph{}
				text.Reset()
			case "pStyle":
				if cur != nil {
					for _, a := range e.Attr {
						if a.Name.Local == "val" {
							cur.Style = a.Value
						}
					}
				}
			case "t":
				inText = true
			case "tab":
				text.WriteByte('\t')
			}
		case xml.EndElement:
			switch e.Name.Local {
			case "p":
				if cur != nil {
					cur.Text = text.String()
					out = append(out, *cur)
				}
				cur = nil
			case "t":
				inText = false
			}
		case xml.CharData:
			if inText {
				text.Write(e)
			}
		}
	}
	return out
}

// synthDoc builds a Call Analytics document of a call of length d with
// about n turns: alternating speakers with English sentences, words with
// confidences, loudness per second, sentiment, issues, action items,
// categories, silences and interruptions, as our analytics would write it.
func synthDoc(d time.Duration, n int, seed uint64) *transcript.Document {
	rng := rand.New(rand.NewPCG(seed, 11))
	sentences := []string{
		"Good morning, thank you for calling, how can I help you today?",
		"I have a problem with my order, the table arrived and one of the legs is broken.",
		"I am really sorry to hear that, we will fix it for you as soon as possible.",
		"I was charged twice this month and I would like a refund please.",
		"I will send you the replacement by courier tomorrow morning.",
		"Could you send it on Friday instead, I am not at home tomorrow.",
		"Of course, Friday works, I will change the delivery date now.",
		"That is great, thank you so much for your help.",
		"Let me check the stock in our system, please hold on for a moment.",
		"The valve on Main Street is broken and it does not work since Monday.",
	}
	sentiments := []string{transcript.Neutral, transcript.Positive, transcript.Negative, transcript.Mixed, transcript.Neutral}
	doc := &transcript.Document{JobStatus: "COMPLETED", LanguageCode: "en-US", JobName: fmt.Sprintf("synthetic-%d", seed),
		CallrecMetadata: &transcript.CallrecMetadata{CallID: fmt.Sprintf("synthetic-%d", seed), Engine: "sphinx", DurationMillis: d.Milliseconds()}}
	slot := d / time.Duration(n)
	var talk [2]int64
	var words [2]int
	for i := range n {
		role := transcript.Roles()[i%2]
		begin := time.Duration(i)*slot + slot/10
		end := begin + slot*8/10
		if i%17 == 5 { // an interruption: start before the previous turn ends
			begin -= slot / 3
		}
		text := sentences[rng.IntN(len(sentences))]
		if slot > 8*time.Second {
			text += " " + sentences[rng.IntN(len(sentences))]
		}
		t := transcript.Turn{ID: fmt.Sprint(i), ParticipantRole: role, BeginOffsetMillis: begin.Milliseconds(), EndOffsetMillis: end.Milliseconds(),
			Content: text, Sentiment: sentiments[rng.IntN(len(sentiments))]}
		fields := strings.Fields(text)
		wd := (end - begin) / time.Duration(len(fields))
		for k, f := range fields {
			w := strings.TrimRight(f, ",.?")
			t.Items = append(t.Items, transcript.Item{Content: w, Type: transcript.Pronunciation, Confidence: 0.3 + 0.7*rng.Float64(),
				BeginOffsetMillis: (begin + wd*time.Duration(k)).Milliseconds(), EndOffsetMillis: (begin + wd*time.Duration(k+1)).Milliseconds()})
			if p := f[len(w):]; p != "" {
				t.Items = append(t.Items, transcript.Item{Content: p, Type: transcript.Punctuation})
			}
		}
		for s := time.Duration(0); s < end-begin; s += time.Second {
			t.LoudnessScores = append(t.LoudnessScores, transcript.Float(40+40*rng.Float64()))
		}
		if strings.Contains(text, "charged twice") {
			b := strings.Index(text, "charged twice")
			t.IssuesDetected = append(t.IssuesDetected, transcript.Detection{CharacterOffsets: transcript.Offsets(text, b, b+len("charged twice this month"))})
		}
		if strings.Contains(text, "I will send") {
			b := strings.Index(text, "I will send")
			t.ActionItemsDetected = append(t.ActionItemsDetected, transcript.Detection{CharacterOffsets: transcript.Offsets(text, b, b+len("I will send you the replacement"))})
		}
		talk[i%2] += (end - begin).Milliseconds()
		words[i%2] += len(fields)
		doc.Transcript = append(doc.Transcript, t)
	}
	cc := &doc.ConversationCharacteristics
	cc.TotalConversationDurationMillis = d.Milliseconds()
	cc.TalkTime.DetailsByParticipant = map[string]transcript.Duration{}
	cc.TalkSpeed.DetailsByParticipant = map[string]transcript.WordsPerMinute{}
	for c, role := range transcript.Roles() {
		cc.TalkTime.DetailsByParticipant[role] = transcript.Duration{TotalTimeMillis: talk[c]}
		cc.TalkTime.TotalTimeMillis += talk[c]
		cc.TalkSpeed.DetailsByParticipant[role] = transcript.WordsPerMinute{AverageWordsPerMinute: math.Round(float64(words[c]) / (float64(talk[c]) / 60000))}
	}
	cc.Interruptions.InterruptionsByInterrupter = map[string][]transcript.Span{}
	for i := range doc.Transcript {
		if i%17 == 5 {
			t := doc.Transcript[i]
			s := transcript.Span{BeginOffsetMillis: t.BeginOffsetMillis, EndOffsetMillis: t.BeginOffsetMillis + slot.Milliseconds()/3}
			s.DurationMillis = s.EndOffsetMillis - s.BeginOffsetMillis
			cc.Interruptions.InterruptionsByInterrupter[t.ParticipantRole] = append(cc.Interruptions.InterruptionsByInterrupter[t.ParticipantRole], s)
			cc.Interruptions.TotalCount++
			cc.Interruptions.TotalTimeMillis += s.DurationMillis
		}
	}
	for i := 3; i < n; i += 23 {
		b := doc.Transcript[i].EndOffsetMillis
		cc.NonTalkTime.Instances = append(cc.NonTalkTime.Instances, transcript.Span{BeginOffsetMillis: b, EndOffsetMillis: b + 3500, DurationMillis: 3500})
		cc.NonTalkTime.TotalTimeMillis += 3500
	}
	cc.Sentiment.OverallSentiment = map[string]float64{transcript.Agent: 1.4, transcript.Customer: -0.6}
	cc.Sentiment.SentimentByPeriod.Quarter = map[string][]transcript.PeriodScore{}
	for _, role := range transcript.Roles() {
		for q := range 4 {
			cc.Sentiment.SentimentByPeriod.Quarter[role] = append(cc.Sentiment.SentimentByPeriod.Quarter[role], transcript.PeriodScore{
				BeginOffsetMillis: int64(q) * d.Milliseconds() / 4, EndOffsetMillis: int64(q+1) * d.Milliseconds() / 4, Score: 5 * (2*rng.Float64() - 1)})
		}
	}
	doc.Categories.MatchedCategories = []string{"refund", "delivery"}
	doc.Categories.MatchedDetails = map[string]transcript.CategoryDetails{
		"refund":   {TimestampRanges: []transcript.TimeRange{{BeginOffsetMillis: doc.Transcript[min(3, n-1)].BeginOffsetMillis, EndOffsetMillis: doc.Transcript[min(3, n-1)].EndOffsetMillis}}},
		"delivery": {TimestampRanges: []transcript.TimeRange{{BeginOffsetMillis: doc.Transcript[min(6, n-1)].BeginOffsetMillis, EndOffsetMillis: doc.Transcript[min(6, n-1)].EndOffsetMillis}}},
	}
	return doc
}
