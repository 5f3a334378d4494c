package report

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/callrec/callrec/internal/store"
	"github.com/callrec/callrec/internal/transcript"
)

// render renders doc in the given formats and keeps the files as test
// artifacts.
func render(t testing.TB, name string, call *store.Call, doc *transcript.Document, opt Options) map[string][]byte {
	t.Helper()
	files, err := New(opt).Render(context.Background(), call, doc)
	if err != nil {
		t.Fatalf("Render: %v", err)
	}
	dir := artifactsDir(t)
	for n, b := range files {
		if err := os.WriteFile(filepath.Join(dir, name+"-"+n), b, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return files
}

// TestGolden renders the golden inputs (Amazon Transcribe's documented
// schema, and our own pipeline's output on a corpus conversation) and
// checks the DOCX and the HTML.
func TestGolden(t *testing.T) {
	for _, tc := range []struct {
		name string
		doc  func(testing.TB) *transcript.Document
	}{
		{"aws", goldenAWS},
		{"corpus", goldenCorpus},
	} {
		t.Run(tc.name, func(t *testing.T) {
			doc := tc.doc(t)
			call := testCall("golden-"+tc.name, doc.Duration())
			files := render(t, tc.name, call, doc, testOptions(DOCX, HTML))
			checkDOCX(t, files["report.docx"], doc, true)
			checkHTML(t, files["report.html"], doc, true)
		})
	}
}

// TestGoldenContent checks what the report says about the AWS sample
// (whose figures are listed in its README).
func TestGoldenContent(t *testing.T) {
	doc := goldenAWS(t)
	call := testCall("golden", doc.Duration())
	files := render(t, "aws-content", call, doc, testOptions(DOCX, HTML))
	text := ""
	for _, p := range paragraphs(t, unzip(t, files["report.docx"])["word/document.xml"]) {
		text += p.Text + "\n"
	}
	for _, want := range []string{
		"golden", "Dialled out", "+441632960961", "Tuesday 4 March 2025, 14:03:05 CET (UTC+01:00)",
		"Amazon Transcribe Call Analytics", "en-US", "paused once for 20 s",
		"cancellation-request", "refund-promised",
		"I've been charged twice this month", "I will refund the duplicate charge today", "Your subscription is cancelled",
		"154", "134", // talk speed
		"+1.8", "+0.3", // overall sentiment
		"Interrupts the other party", "Interrupts Dana",
	} {
		if !strings.Contains(text, want) {
			t.Errorf("DOCX does not say %q", want)
		}
	}
	h := string(files["report.html"])
	for _, want := range []string{"cancellation-request", "I&#39;ve been charged twice this month", "hl-issue", "hl-int", "hl-cat"} {
		if !strings.Contains(h, want) {
			t.Errorf("HTML lacks %q", want)
		}
	}
}

// TestRobust renders unusual calls: each must render without error and
// keep every turn.
func TestRobust(t *testing.T) {
	nan := math.NaN()
	cases := []struct {
		name string
		call *store.Call
		doc  func() *transcript.Document
	}{
		{"no speech", testCall("silent", time.Minute), func() *transcript.Document {
			d := &transcript.Document{JobStatus: "COMPLETED", LanguageCode: "en-US"}
			d.FillEmpty()
			d.ConversationCharacteristics.TotalConversationDurationMillis = 60000
			d.ConversationCharacteristics.NonTalkTime.Instances = []transcript.Span{{BeginOffsetMillis: 0, EndOffsetMillis: 60000, DurationMillis: 60000}}
			return d
		}},
		{"nothing at all", nil, func() *transcript.Document {
			return &transcript.Document{JobStatus: "COMPLETED"}
		}},
		{"one-sided", testCall("one-sided", 2*time.Minute), func() *transcript.Document {
			d := synthDoc(2*time.Minute, 30, 3)
			var keep []transcript.Turn
			for _, tr := range d.Transcript {
				if tr.ParticipantRole == transcript.Agent {
					keep = append(keep, tr)
				}
			}
			d.Transcript = keep
			cc := &d.ConversationCharacteristics
			cc.TalkTime.DetailsByParticipant[transcript.Customer] = transcript.Duration{}
			cc.Interruptions = transcript.Interruptions{}
			delete(cc.Sentiment.SentimentByPeriod.Quarter, transcript.Customer)
			delete(cc.Sentiment.OverallSentiment, transcript.Customer)
			return d
		}},
		{"two hours", testCall("two-hours", 2*time.Hour), func() *transcript.Document { return synthDoc(2*time.Hour, 2000, 5) }},
		{"non-ASCII", testCall("nön-ascii-☎", 40*time.Second), nonASCIIDoc},
		{"missing optional fields", nil, func() *transcript.Document {
			return &transcript.Document{Transcript: []transcript.Turn{
				{ParticipantRole: transcript.Customer, BeginOffsetMillis: 500, EndOffsetMillis: 2500, Content: "Hello?"},
				{ParticipantRole: transcript.Agent, BeginOffsetMillis: 3000, EndOffsetMillis: 6000, Content: "Hi, who is this?"},
				{ParticipantRole: transcript.Customer, BeginOffsetMillis: 6500, EndOffsetMillis: 7000, Items: []transcript.Item{
					{Content: "It's", Type: transcript.Pronunciation, Confidence: 0.2}, {Content: "me", Confidence: 0.9}, {Content: ".", Type: transcript.Punctuation}}},
			}}
		}},
		{"odd values", &store.Call{ID: "odd", Direction: "sideways", RecordingState: "weird", Pauses: []store.Span{{Start: time.Unix(5, 0)}}}, func() *transcript.Document {
			d := synthDoc(time.Minute, 10, 9)
			d.Transcript[0].IssuesDetected = append(d.Transcript[0].IssuesDetected,
				transcript.Detection{CharacterOffsets: transcript.CharacterOffsets{Begin: -5, End: 3}},
				transcript.Detection{CharacterOffsets: transcript.CharacterOffsets{Begin: 10, End: 100000}},
				transcript.Detection{CharacterOffsets: transcript.CharacterOffsets{Begin: 8, End: 2}})
			d.Transcript[1].LoudnessScores = []*float64{nil, transcript.Float(nan), transcript.Float(1000), transcript.Float(-4)}
			d.Transcript[2].Sentiment = "positive"
			d.Transcript[3].Items = append(d.Transcript[3].Items, transcript.Item{Content: "ghost", Type: transcript.Pronunciation, Confidence: nan})
			d.ConversationCharacteristics.Interruptions.InterruptionsByInterrupter["NOBODY"] = []transcript.Span{{BeginOffsetMillis: 9000, EndOffsetMillis: 1000}}
			d.ConversationCharacteristics.Sentiment.OverallSentiment[transcript.Agent] = nan
			d.ConversationCharacteristics.Sentiment.SentimentByPeriod.Quarter[transcript.Agent][1].Score = 42
			d.Categories.MatchedCategories = append(d.Categories.MatchedCategories, "", "whole-call", "whole-call")
			d.Categories.MatchedDetails["point"] = transcript.CategoryDetails{TimestampRanges: []transcript.TimeRange{{BeginOffsetMillis: 7000, EndOffsetMillis: 7000}}}
			d.CallrecMetadata = &transcript.CallrecMetadata{Engine: "my-own-engine"}
			return d
		}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			doc := tc.doc()
			name := strings.ReplaceAll(tc.name, " ", "-")
			files := render(t, name, tc.call, doc, testOptions(DOCX, HTML))
			hist := false
			for _, tr := range doc.Transcript {
				hist = hist || len(tr.Words()) > 0
			}
			checkDOCX(t, files["report.docx"], doc, hist)
			checkHTML(t, files["report.html"], doc, hist)
		})
	}
}

// nonASCIIDoc is a call in many scripts, with characters that need
// escaping or are not allowed in XML.
func nonASCIIDoc() *transcript.Document {
	contents := []struct{ role, text string }{
		{transcript.Agent, "Grüß Gott! Ça va très bien, señor — naïve café, Ångström."},
		{transcript.Customer, "مرحبا، أريد إلغاء الاشتراك من فضلك."},
		{transcript.Agent, "你好，我想取消订阅。请问今天可以退款吗？"},
		{transcript.Customer, "こんにちは 😀👍🏽 family: 👨‍👩‍👧‍👦, flags 🇬🇧🇯🇵"},
		{transcript.Agent, "Tags <script>alert(\"x\")</script> & ampersands ]]> 'quotes' \"double\""},
		{transcript.Customer, "Control\x01chars\x0bhere\ttab\nnewline and bad \xff\xfe bytes, Ελληνικά, Русский, עברית"},
	}
	d := &transcript.Document{JobStatus: "COMPLETED", LanguageCode: "ar-SA"}
	for i, c := range contents {
		tr := transcript.Turn{ParticipantRole: c.role, BeginOffsetMillis: int64(i) * 6000, EndOffsetMillis: int64(i)*6000 + 5000, Content: c.text, Sentiment: transcript.Neutral}
		for _, f := range strings.Fields(c.text) {
			tr.Items = append(tr.Items, transcript.Item{Content: f, Type: transcript.Pronunciation, Confidence: 0.4})
		}
		if i == 3 { // an issue spanning emoji: offsets count characters
			tr.IssuesDetected = []transcript.Detection{{CharacterOffsets: transcript.Offsets(c.text, strings.Index(c.text, "😀"), strings.Index(c.text, ","))}}
		}
		d.Transcript = append(d.Transcript, tr)
	}
	d.Categories.MatchedCategories = []string{"إلغاء", "取消 <b>"}
	return d
}

func TestRenderDecodedMinimalJSON(t *testing.T) {
	doc, err := transcript.Decode(strings.NewReader(`{"JobStatus":"COMPLETED","Transcript":[{"ParticipantRole":"CUSTOMER","BeginOffsetMillis":0,"EndOffsetMillis":1000,"Content":"hi"}]}`))
	if err != nil {
		t.Fatal(err)
	}
	files := render(t, "minimal", nil, doc, testOptions(DOCX, HTML))
	checkDOCX(t, files["report.docx"], doc, false)
	checkHTML(t, files["report.html"], doc, false)
}

// TestEscaping checks that text never becomes markup.
func TestEscaping(t *testing.T) {
	doc := nonASCIIDoc()
	files := render(t, "escaping", &store.Call{ID: `"><img src=x onerror=alert(1)>`, Party: "<b>+44</b>"}, doc, testOptions(DOCX, HTML))
	h := string(files["report.html"])
	for _, bad := range []string{"<script>alert", "<img src=x", "<b>+44", "<b>"} {
		if strings.Contains(h, bad) {
			t.Errorf("HTML contains unescaped %q", bad)
		}
	}
	if !strings.Contains(h, "&lt;script&gt;alert(&#34;x&#34;)&lt;/script&gt;") {
		t.Error("HTML lacks the escaped script text")
	}
	d := unzip(t, files["report.docx"])["word/document.xml"]
	found := false
	for _, p := range paragraphs(t, d) {
		found = found || strings.Contains(p.Text, `Tags <script>alert("x")</script> & ampersands ]]>`)
	}
	if !found {
		t.Error("DOCX lacks the script text")
	}
	if bytes.Contains(d, []byte("<script")) {
		t.Error("DOCX contains unescaped markup")
	}
	if bytes.IndexByte(d, 0x01) >= 0 || bytes.IndexByte(d, 0x0b) >= 0 || !utf8.Valid(d) {
		t.Error("DOCX contains characters XML forbids")
	}
}

func TestFormats(t *testing.T) {
	doc := goldenAWS(t)
	for _, f := range [][]Format{{DOCX}, {HTML}, {DOCX, HTML}} {
		files, err := New(Options{Formats: f, SofficePath: "/nonexistent/soffice"}).Render(context.Background(), nil, doc)
		if err != nil {
			t.Fatal(err)
		}
		if len(files) != len(f) {
			t.Errorf("formats %v: got %d files", f, len(files))
		}
		for _, x := range f {
			if len(files[x.FileName()]) == 0 {
				t.Errorf("formats %v: no %s", f, x.FileName())
			}
		}
	}
	for s, want := range map[string]Format{"docx": DOCX, "html": HTML, "htm": HTML, "pdf": PDF} {
		if got, err := ParseFormat(s); err != nil || got != want {
			t.Errorf("ParseFormat(%q) = %v, %v", s, got, err)
		}
	}
	if _, err := ParseFormat("odt"); err == nil {
		t.Error("ParseFormat(odt) did not fail")
	}
}

// TestNoLibreOffice checks that a missing LibreOffice skips the PDF with
// one logged warning and no error.
func TestNoLibreOffice(t *testing.T) {
	var logs bytes.Buffer
	r := New(Options{SofficePath: "/nonexistent/soffice", Logger: slog.New(slog.NewTextHandler(&logs, nil))})
	if err := r.PDFAvailable(); !errors.Is(err, ErrNoLibreOffice) {
		t.Fatalf("PDFAvailable() = %v, want ErrNoLibreOffice", err)
	}
	for range 2 {
		files, err := r.Render(context.Background(), nil, goldenAWS(t))
		if err != nil {
			t.Fatal(err)
		}
		if _, ok := files["report.pdf"]; ok || files["report.docx"] == nil || files["report.html"] == nil {
			t.Fatalf("files %v, want DOCX and HTML only", keys(files))
		}
	}
	if n := strings.Count(logs.String(), "PDF report skipped"); n != 1 {
		t.Errorf("logged the skipped PDF %d times, want once:\n%s", n, logs.String())
	}
	if !strings.Contains(logs.String(), "libreoffice-writer-nogui") {
		t.Errorf("the log does not say what to install:\n%s", logs.String())
	}
	if _, err := r.ConvertPDF(context.Background(), []byte("x")); !errors.Is(err, ErrNoLibreOffice) {
		t.Errorf("ConvertPDF = %v, want ErrNoLibreOffice", err)
	}
}

func keys(m map[string][]byte) []string {
	var k []string
	for n := range m {
		k = append(k, n)
	}
	return k
}

func TestCallFromDocument(t *testing.T) {
	doc := goldenAWS(t)
	if c := CallFromDocument(doc); c.ID != doc.JobName || c.Direction != "" || !c.StartedAt.IsZero() {
		t.Errorf("CallFromDocument(AWS) = %+v", c)
	}
	doc.CallrecMetadata = &transcript.CallrecMetadata{CallID: "abc", DurationMillis: 5000}
	if c := CallFromDocument(doc); c.ID != "abc" || c.RecordingDurationMS != 5000 {
		t.Errorf("CallFromDocument = %+v", c)
	}
	if c := CallFromDocument(nil); c == nil {
		t.Error("CallFromDocument(nil) = nil")
	}
}

// TestModel checks the model's reading of a document: interruptions on the
// interrupter's turn, categories on the turns they overlap, greyed words
// and detections on character offsets (emoji count as one).
func TestModel(t *testing.T) {
	text := "Well 😀 I was charged twice, sadly."
	b := strings.Index(text, "charged")
	doc := &transcript.Document{Transcript: []transcript.Turn{
		{ParticipantRole: transcript.Agent, BeginOffsetMillis: 0, EndOffsetMillis: 4000, Content: "Hello there, how can I help?"},
		{ParticipantRole: transcript.Customer, BeginOffsetMillis: 3500, EndOffsetMillis: 9000, Content: text,
			Items: []transcript.Item{
				{Content: "Well", Confidence: 0.9, Type: transcript.Pronunciation}, {Content: "😀", Confidence: 0.2, Type: transcript.Pronunciation},
				{Content: "I", Confidence: 0.9, Type: transcript.Pronunciation}, {Content: "was", Confidence: 0.3, Type: transcript.Pronunciation},
				{Content: "charged", Confidence: 0.95, Type: transcript.Pronunciation},
			},
			IssuesDetected: []transcript.Detection{{CharacterOffsets: transcript.Offsets(text, b, b+len("charged twice"))}}},
		{ParticipantRole: transcript.Agent, BeginOffsetMillis: 10000, EndOffsetMillis: 12000, Content: "I will refund you."},
	}}
	doc.ConversationCharacteristics.Interruptions.InterruptionsByInterrupter = map[string][]transcript.Span{
		transcript.Customer: {{BeginOffsetMillis: 3500, EndOffsetMillis: 4000}},
	}
	doc.Categories = transcript.Categories{MatchedCategories: []string{"refund"}, MatchedDetails: map[string]transcript.CategoryDetails{
		"refund": {TimestampRanges: []transcript.TimeRange{{BeginOffsetMillis: 10500, EndOffsetMillis: 11000}}},
	}}
	m := buildModel(CallFromDocument(doc), doc, New(Options{}).opt)
	if got := m.Turns[1].Highlight; got != hlIssue {
		t.Errorf("turn 1 highlight %d, want issue", got)
	}
	if !strings.Contains(joinNotes(m.Turns[1].Notes), "Interrupts the owner") {
		t.Errorf("turn 1 notes %q lack the interruption", m.Turns[1].Notes)
	}
	if got := m.Turns[2].Highlight; got != hlCategory || !strings.Contains(joinNotes(m.Turns[2].Notes), "Category: refund") {
		t.Errorf("turn 2: highlight %d, notes %q; want the category", got, m.Turns[2].Notes)
	}
	var got []string
	for _, p := range m.Turns[1].Pieces {
		got = append(got, fmt.Sprintf("%s|%d", p.Text, p.Mark))
	}
	want := []string{"Well |0", "😀|1", " I |0", "was|1", " |0", "charged twice|2", ", sadly.|0"}
	if strings.Join(got, "/") != strings.Join(want, "/") {
		t.Errorf("pieces\n got %q\nwant %q", got, want)
	}
	if m.Turns[1].text() != text {
		t.Errorf("text %q, want %q", m.Turns[1].text(), text)
	}
	if m.Words != 5 || m.LowWords != 2 {
		t.Errorf("words %d, low %d; want 5, 2", m.Words, m.LowWords)
	}
}

func TestFormatHelpers(t *testing.T) {
	for _, tc := range []struct {
		got, want string
	}{
		{percent(0.554), "55%"},
		{percent(0.001), "<1%"},
		{score(-0.31), "−0.3"},
		{score(1.84), "+1.8"},
		{score(0.01), "0.0"},
		{thousands(1234567), "1,234,567"},
		{dateTime(time.Date(2025, 3, 4, 13, 3, 5, 0, time.UTC), time.FixedZone("CET", 3600)), "Tuesday 4 March 2025, 14:03:05 CET (UTC+01:00)"},
		{dateTime(time.Date(2025, 3, 4, 13, 3, 5, 0, time.UTC), time.UTC), "Tuesday 4 March 2025, 13:03:05 UTC"},
		{dateTime(time.Date(2025, 3, 4, 13, 3, 5, 0, time.UTC), time.FixedZone("", 3*3600)), "Tuesday 4 March 2025, 16:03:05 UTC+03:00"},
		{clean("a\x00b\tc\xffd"), "ab c\uFFFDd"},
	} {
		if tc.got != tc.want {
			t.Errorf("got %q, want %q", tc.got, tc.want)
		}
	}
}

// TestRenderJSONRoundTrip renders a document after a JSON round trip, as
// the pipeline stores it.
func TestRenderJSONRoundTrip(t *testing.T) {
	var buf bytes.Buffer
	if err := transcript.Encode(&buf, synthDoc(3*time.Minute, 40, 2)); err != nil {
		t.Fatal(err)
	}
	var raw map[string]any
	if err := json.Unmarshal(buf.Bytes(), &raw); err != nil {
		t.Fatal(err)
	}
	doc, err := transcript.Decode(&buf)
	if err != nil {
		t.Fatal(err)
	}
	files := render(t, "roundtrip", testCall("roundtrip", 3*time.Minute), doc, testOptions(DOCX, HTML))
	checkDOCX(t, files["report.docx"], doc, true)
}

// TestConcurrentRender renders with one Renderer from several goroutines
// (run with -race).
func TestConcurrentRender(t *testing.T) {
	r := New(testOptions(DOCX, HTML))
	docs := []*transcript.Document{goldenAWS(t), synthDoc(time.Minute, 12, 1), nonASCIIDoc()}
	errs := make(chan error, 6)
	for i := range 6 {
		go func() {
			_, err := r.Render(context.Background(), nil, docs[i%len(docs)])
			errs <- err
		}()
	}
	for range 6 {
		if err := <-errs; err != nil {
			t.Error(err)
		}
	}
}

func TestRenderCancelled(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, err := New(testOptions(DOCX)).Render(ctx, nil, goldenAWS(t)); !errors.Is(err, context.Canceled) {
		t.Errorf("Render with a cancelled context = %v, want context.Canceled", err)
	}
	if _, err := New(Options{}).Render(context.Background(), nil, nil); err == nil {
		t.Error("Render(nil document) did not fail")
	}
}

// TestCallQualityInSummary: the report's summary has a "Call quality"
// line naming each leg with its figures, and none for a call without
// them.
func TestCallQualityInSummary(t *testing.T) {
	doc := &transcript.Document{}
	call := CallFromDocument(doc)
	call.Quality = []store.LegQuality{
		{Leg: "owner", Codec: "G722", PacketsReceived: 1000, MOS: 4.4},
		{Leg: "other", Codec: "PCMA", PacketsReceived: 950, PacketsLost: 50, LossPercent: 5, JitterMS: 20, MOS: 2.6},
	}
	m := buildModel(call, doc, New(Options{OwnerName: "Ada"}).opt)
	var got string
	for _, f := range m.Summary {
		if f.Label == "Call quality" {
			got = f.Value
		}
	}
	want := "Ada: MOS 4.4 (excellent); G.722 (wideband); 0 % of 1000 packets lost; jitter 0 ms. " +
		"Other party: MOS 2.6 (bad); G.711 A-law; 5 % of 1000 packets lost; jitter 20 ms"
	if got != want {
		t.Errorf("Call quality = %q\nwant %q", got, want)
	}
	call.Quality = nil
	for _, f := range buildModel(call, doc, New(Options{}).opt).Summary {
		if f.Label == "Call quality" {
			t.Errorf("a call without quality figures has %q", f.Value)
		}
	}
}
