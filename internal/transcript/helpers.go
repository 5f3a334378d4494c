package transcript

import (
	"time"
	"unicode/utf8"
)

// Recording channels of the two participants.
const (
	AgentChannel    = 0 // the owner
	CustomerChannel = 1 // the other party
)

// Roles lists the participant roles in channel order: Roles()[c] is the role
// of recording channel c.
func Roles() []string { return []string{Agent, Customer} }

// Role returns the participant role of a recording channel: AGENT for
// channel 0, CUSTOMER for any other.
func Role(channel int) string {
	if channel == AgentChannel {
		return Agent
	}
	return Customer
}

// Channel returns the recording channel of a participant role, or -1 for an
// unknown role.
func Channel(role string) int {
	switch role {
	case Agent:
		return AgentChannel
	case Customer:
		return CustomerChannel
	}
	return -1
}

// Float returns a pointer to v, for LoudnessScores.
func Float(v float64) *float64 { return &v }

// Millis converts a duration to whole milliseconds, rounded to the nearest.
func Millis(d time.Duration) int64 {
	return (d + time.Millisecond/2).Milliseconds()
}

// Text returns the characters of content that o covers. Offsets count
// characters (Unicode code points), as Transcribe's do, not bytes; they are
// clamped to the content, so a bad offset yields a shorter string, never a
// panic.
func (o CharacterOffsets) Text(content string) string {
	begin, end := o.Begin, o.End
	if begin < 0 {
		begin = 0
	}
	if end <= begin {
		return ""
	}
	b, e := -1, len(content)
	i := 0
	for pos := range content {
		if i == begin {
			b = pos
		}
		if i == end {
			e = pos
			break
		}
		i++
	}
	if b < 0 {
		return ""
	}
	return content[b:e]
}

// Offsets returns the character offsets of the byte range [begin, end) of
// content, the inverse of CharacterOffsets.Text.
func Offsets(content string, begin, end int) CharacterOffsets {
	begin = max(0, min(begin, len(content)))
	end = max(begin, min(end, len(content)))
	b := utf8.RuneCountInString(content[:begin])
	return CharacterOffsets{Begin: b, End: b + utf8.RuneCountInString(content[begin:end])}
}

// Begin returns the turn's start as a duration.
func (t *Turn) Begin() time.Duration {
	return time.Duration(t.BeginOffsetMillis) * time.Millisecond
}

// End returns the turn's end as a duration.
func (t *Turn) End() time.Duration {
	return time.Duration(t.EndOffsetMillis) * time.Millisecond
}

// Words returns the turn's pronunciation items (its words without
// punctuation).
func (t *Turn) Words() []Item {
	out := make([]Item, 0, len(t.Items))
	for _, it := range t.Items {
		if it.Type != Punctuation {
			out = append(out, it)
		}
	}
	return out
}

// Duration returns the conversation's length: TotalConversationDurationMillis
// when set, otherwise the end of the last turn.
func (d *Document) Duration() time.Duration {
	ms := d.ConversationCharacteristics.TotalConversationDurationMillis
	if ms <= 0 {
		for i := range d.Transcript {
			ms = max(ms, d.Transcript[i].EndOffsetMillis)
		}
	}
	return time.Duration(ms) * time.Millisecond
}

// FillEmpty replaces the document's nil slices and maps by empty ones, and
// gives every per-participant map an entry for both roles, so that its JSON
// has every key of the Call Analytics schema even when nothing was found.
// Values already present are kept.
func (d *Document) FillEmpty() {
	if d.Transcript == nil {
		d.Transcript = []Turn{}
	}
	c := &d.Categories
	if c.MatchedCategories == nil {
		c.MatchedCategories = []string{}
	}
	if c.MatchedDetails == nil {
		c.MatchedDetails = map[string]CategoryDetails{}
	}
	for name, det := range c.MatchedDetails {
		if det.TimestampRanges == nil {
			det.TimestampRanges = []TimeRange{}
			c.MatchedDetails[name] = det
		}
	}
	cc := &d.ConversationCharacteristics
	if cc.NonTalkTime.Instances == nil {
		cc.NonTalkTime.Instances = []Span{}
	}
	if cc.Interruptions.InterruptionsByInterrupter == nil {
		cc.Interruptions.InterruptionsByInterrupter = map[string][]Span{}
	}
	if cc.Sentiment.OverallSentiment == nil {
		cc.Sentiment.OverallSentiment = map[string]float64{}
	}
	if cc.Sentiment.SentimentByPeriod.Quarter == nil {
		cc.Sentiment.SentimentByPeriod.Quarter = map[string][]PeriodScore{}
	}
	if cc.TalkSpeed.DetailsByParticipant == nil {
		cc.TalkSpeed.DetailsByParticipant = map[string]WordsPerMinute{}
	}
	if cc.TalkTime.DetailsByParticipant == nil {
		cc.TalkTime.DetailsByParticipant = map[string]Duration{}
	}
	for _, r := range Roles() {
		if cc.Interruptions.InterruptionsByInterrupter[r] == nil {
			cc.Interruptions.InterruptionsByInterrupter[r] = []Span{}
		}
		if _, ok := cc.Sentiment.OverallSentiment[r]; !ok {
			cc.Sentiment.OverallSentiment[r] = 0
		}
		if cc.Sentiment.SentimentByPeriod.Quarter[r] == nil {
			cc.Sentiment.SentimentByPeriod.Quarter[r] = []PeriodScore{}
		}
		if _, ok := cc.TalkSpeed.DetailsByParticipant[r]; !ok {
			cc.TalkSpeed.DetailsByParticipant[r] = WordsPerMinute{}
		}
		if _, ok := cc.TalkTime.DetailsByParticipant[r]; !ok {
			cc.TalkTime.DetailsByParticipant[r] = Duration{}
		}
	}
}
