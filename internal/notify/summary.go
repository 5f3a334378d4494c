package notify

import (
	"fmt"
	"log/slog"
	"math"
	"strings"
	"time"

	"github.com/callrec/callrec/internal/blob"
	"github.com/callrec/callrec/internal/calls"
	"github.com/callrec/callrec/internal/display"
	"github.com/callrec/callrec/internal/signed"
	"github.com/callrec/callrec/internal/store"
	"github.com/callrec/callrec/internal/transcript"
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
	call      *store.Call
	downloads []calls.Download
	now       time.Time
	summary   Summary
	log       *slog.Logger
}

func (n *Notifier) newMessage(call *store.Call, doc *transcript.Document, downloads []calls.Download, now time.Time, log *slog.Logger) *message {
	return &message{call: call, downloads: downloads, now: now, summary: summarize(call, doc), log: log}
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
	if dur <= 0 && call.AnsweredAt != nil {
		dur = calls.Duration(call)
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
			text := display.OneLine(d.CharacterOffsets.Text(t.Content), 300)
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

// subject is the email subject and the heading of its body; it says when
// the recording is not the whole call.
func subject(call *store.Call, s Summary) string {
	extra := ""
	switch call.RecordingState {
	case store.RecordingPartial:
		extra = ", recording incomplete"
	case store.RecordingTruncated:
		extra = ", recording cut short"
	}
	return fmt.Sprintf("Call with %s (%s%s)", display.Party(call.Party), display.Duration(time.Duration(s.DurationMillis)*time.Millisecond), extra)
}

// recordingNote explains a recording that is not the whole call; "" for
// one that is.
func recordingNote(call *store.Call) string {
	switch call.RecordingState {
	case store.RecordingPartial:
		return "The recording is incomplete: the call ended abnormally (callrec stopped or failed while it was in progress), " +
			"so the recording, the transcript and the report may miss its end."
	case store.RecordingTruncated:
		return "The recording was cut short: the server's disk filled up during the call, " +
			"so the recording, the transcript and the report miss the rest of it. Free some disk space on the server."
	}
	return ""
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
	return display.OneLine(call.Direction, 32)
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

// links signs a link to every download of the message, in order;
// downloads with an invalid key are skipped.
func (m *message) links(signer *signed.Signer, publicURL string, expires time.Time) []link {
	var out []link
	for _, d := range m.downloads {
		if err := blob.ValidKey(d.Key); err != nil {
			m.log.Warn("download has an invalid key; no link", "download", d.Name, "err", err)
			continue
		}
		out = append(out, link{Name: d.Name, Label: d.Label, Key: d.Key, URL: signed.URL(publicURL, signer.Token(d.Key, expires))})
	}
	return out
}

// callURL is the call's page in the web UI (behind the owner's log-in).
func callURL(publicURL, callID string) string {
	return strings.TrimRight(publicURL, "/") + calls.PagePath(callID)
}
