package notify

import (
	"fmt"
	"log/slog"
	"math"
	"net/url"
	"slices"
	"strings"
	"time"
	"unicode"

	"github.com/callrec/callrec/internal/blob"
	"github.com/callrec/callrec/internal/store"
	"github.com/callrec/callrec/internal/transcript"
	"github.com/callrec/callrec/internal/signed"
)

// maxIssues bounds the issues a summary lists.
const maxIssues = 20

// Summary is a call at a glance: what the email shows and the webhook
// sends. Owner is the owner (AGENT, recording channel 0), Other the other
// party (CUSTOMER, channel 1).
type Summary struct {
	// DurationMillis is the conversation's length.
	DurationMillis int64 `json:"duration_ms"`
	// TalkSplit is who talked how long.
	TalkSplit TalkSplit `json:"talk_split"`
	// Sentiment is each side's overall sentiment, −5 (negative) to +5.
	Sentiment Sentiment `json:"sentiment"`
	// Interruptions counts the times one side started over the other.
	Interruptions int `json:"interruptions"`
	// Issues are the problems raised, in call order (at most 20).
	Issues []Issue `json:"issues"`
	// Categories are the categories that matched.
	Categories []string `json:"categories"`
}

// TalkSplit is talk and silence time. The percentages are shares of the
// call's duration, rounded to 0.1; they need not add up to 100, because
// both sides can talk at once and pauses under 3 s count as neither
// talk nor silence.
type TalkSplit struct {
	OwnerMillis    int64   `json:"owner_ms"`
	OtherMillis    int64   `json:"other_ms"`
	SilenceMillis  int64   `json:"silence_ms"`
	OwnerPercent   float64 `json:"owner_pct"`
	OtherPercent   float64 `json:"other_pct"`
	SilencePercent float64 `json:"silence_pct"`
}

// Sentiment is each side's overall sentiment score.
type Sentiment struct {
	Owner float64 `json:"owner"`
	Other float64 `json:"other"`
}

// Issue is one problem detected in the transcript.
type Issue struct {
	// Text is the words that raised it.
	Text string `json:"text"`
	// Speaker is "owner" or "other".
	Speaker string `json:"speaker"`
	// AtMillis is when the turn that raised it began.
	AtMillis int64 `json:"at_ms"`
}

// message is what every channel says about one call.
type message struct {
	call    *store.Call
	outputs map[string]string
	now     time.Time
	summary Summary
	log     *slog.Logger
}

func (n *Notifier) newMessage(call *store.Call, doc *transcript.Document, outputs map[string]string, now time.Time, log *slog.Logger) *message {
	return &message{call: call, outputs: outputs, now: now, summary: summarize(call, doc), log: log}
}

// summarize computes the summary of a call.
func summarize(call *store.Call, doc *transcript.Document) Summary {
	s := Summary{Issues: []Issue{}, Categories: []string{}}
	var dur time.Duration
	if doc != nil {
		dur = doc.Duration()
	}
	if dur <= 0 {
		dur = time.Duration(call.RecordingDurationMS) * time.Millisecond
	}
	if dur <= 0 && call.AnsweredAt != nil && call.EndedAt != nil {
		dur = call.EndedAt.Sub(*call.AnsweredAt)
	}
	s.DurationMillis = max(dur.Milliseconds(), 0)
	if doc == nil {
		return s
	}
	cc := &doc.ConversationCharacteristics
	ts := &s.TalkSplit
	ts.OwnerMillis = cc.TalkTime.DetailsByParticipant[transcript.Agent].TotalTimeMillis
	ts.OtherMillis = cc.TalkTime.DetailsByParticipant[transcript.Customer].TotalTimeMillis
	ts.SilenceMillis = cc.NonTalkTime.TotalTimeMillis
	ts.OwnerPercent = percent(ts.OwnerMillis, s.DurationMillis)
	ts.OtherPercent = percent(ts.OtherMillis, s.DurationMillis)
	ts.SilencePercent = percent(ts.SilenceMillis, s.DurationMillis)
	s.Sentiment = Sentiment{
		Owner: cc.Sentiment.OverallSentiment[transcript.Agent],
		Other: cc.Sentiment.OverallSentiment[transcript.Customer],
	}
	s.Interruptions = cc.Interruptions.TotalCount
	s.Issues = issues(doc, maxIssues)
	s.Categories = append(s.Categories, doc.Categories.MatchedCategories...)
	return s
}

// percent returns part as a percentage of whole, rounded to 0.1 and
// clamped to 0…100.
func percent(part, whole int64) float64 {
	if whole <= 0 || part <= 0 {
		return 0
	}
	p := math.Round(float64(part)*1000/float64(whole)) / 10
	return min(p, 100)
}

// issues returns up to limit issue texts of doc, in call order, without
// repeats.
func issues(doc *transcript.Document, limit int) []Issue {
	out := []Issue{}
	seen := map[string]bool{}
	for i := range doc.Transcript {
		t := &doc.Transcript[i]
		for _, d := range t.IssuesDetected {
			text := clean(d.CharacterOffsets.Text(t.Content), 300)
			if text == "" || seen[strings.ToLower(text)] {
				continue
			}
			seen[strings.ToLower(text)] = true
			speaker := "other"
			if t.ParticipantRole == transcript.Agent {
				speaker = "owner"
			}
			out = append(out, Issue{Text: text, Speaker: speaker, AtMillis: t.BeginOffsetMillis})
			if len(out) == limit {
				return out
			}
		}
	}
	return out
}

// clean makes s safe to show on one line: control characters and runs of
// white space become one space, and it is cut to at most limit runes.
func clean(s string, limit int) string {
	var b strings.Builder
	space := false
	n := 0
	for _, r := range s {
		if unicode.IsSpace(r) || unicode.IsControl(r) || r == '\u2028' || r == '\u2029' || r == unicode.ReplacementChar {
			space = b.Len() > 0
			continue
		}
		if n >= limit {
			b.WriteString("…")
			break
		}
		if space {
			b.WriteByte(' ')
			space = false
			n++
		}
		b.WriteRune(r)
		n++
	}
	return b.String()
}

// partyName is the other party as shown in a subject.
func partyName(call *store.Call) string {
	if p := clean(call.Party, 64); p != "" {
		return p
	}
	return "an unknown number"
}

// subject is the email subject and the heading of its body.
func subject(call *store.Call, s Summary) string {
	return fmt.Sprintf("Call with %s (%s)", partyName(call), formatDuration(time.Duration(s.DurationMillis)*time.Millisecond))
}

// direction says which way the call went.
func direction(call *store.Call) string {
	switch call.Direction {
	case store.DirectionOutbound:
		return "dialled out (you called them)"
	case store.DirectionInbound:
		return "called in (they called you)"
	case "":
		return "unknown"
	}
	return clean(call.Direction, 32)
}

// formatDuration writes d as "45s", "4m 05s" or "1h 02m 05s".
func formatDuration(d time.Duration) string {
	d = d.Round(time.Second)
	if d < 0 {
		d = 0
	}
	h, m, s := int(d/time.Hour), int(d%time.Hour/time.Minute), int(d%time.Minute/time.Second)
	switch {
	case h > 0:
		return fmt.Sprintf("%dh %02dm %02ds", h, m, s)
	case m > 0:
		return fmt.Sprintf("%dm %02ds", m, s)
	}
	return fmt.Sprintf("%ds", s)
}

// formatOffset writes a position in the call as "m:ss" or "h:mm:ss".
func formatOffset(ms int64) string {
	d := (time.Duration(ms) * time.Millisecond).Round(time.Second)
	h, m, s := int(d/time.Hour), int(d%time.Hour/time.Minute), int(d%time.Minute/time.Second)
	if h > 0 {
		return fmt.Sprintf("%d:%02d:%02d", h, m, s)
	}
	return fmt.Sprintf("%d:%02d", m, s)
}

// formatTime writes a date and time with its zone.
func formatTime(t time.Time, loc *time.Location) string {
	if t.IsZero() {
		return "unknown"
	}
	return t.In(loc).Format("Mon 2 Jan 2006, 15:04 MST")
}

// link is a signed link to one output of a call.
type link struct {
	Name  string // output name, such as "report.docx"
	Label string // what the email calls it
	Key   string // blob key
	URL   string
}

// outputOrder lists the outputs links are shown for first, with labels.
var outputOrder = []struct{ name, label string }{
	{"report", "Report"},
	{"report.html", "Report (web page)"},
	{"report.docx", "Report (Word)"},
	{"report.pdf", "Report (PDF)"},
	{"recording", "Recording (WAV)"},
	{"transcript.json", "Transcript (JSON)"},
}

// links signs a link to every output of the message, known outputs first,
// then the others by name; invalid keys are skipped.
func (m *message) links(signer *signed.Signer, publicURL string, expires time.Time) []link {
	var out []link
	add := func(name, label string) {
		key := m.outputs[name]
		if key == "" {
			return
		}
		if err := blob.ValidKey(key); err != nil {
			m.log.Warn("output has an invalid key; no link", "output", name, "err", err)
			return
		}
		out = append(out, link{Name: name, Label: label, Key: key, URL: signed.URL(publicURL, signer.Token(key, expires))})
	}
	known := map[string]bool{}
	for _, o := range outputOrder {
		known[o.name] = true
		add(o.name, o.label)
	}
	var rest []string
	for name := range m.outputs {
		if !known[name] {
			rest = append(rest, name)
		}
	}
	slices.Sort(rest)
	for _, name := range rest {
		add(name, clean(name, 64))
	}
	return out
}

// callURL is the call's page in the web UI (behind the owner's log-in).
func callURL(publicURL, callID string) string {
	return strings.TrimRight(publicURL, "/") + "/calls/" + url.PathEscape(callID)
}
