// Package transcript is the call transcript and analytics document in the
// Amazon Transcribe Call Analytics output schema, so that tools made for
// Transcribe read callrec's output and callrec reads Transcribe's.
//
// The owner is ParticipantRole AGENT (recording channel 0) and the other
// party CUSTOMER (channel 1). Fields callrec adds beyond Transcribe's schema
// live under CallrecMetadata and are ignored by other readers.
package transcript

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
)

// Participant roles.
const (
	Agent    = "AGENT"    // the owner, channel 0
	Customer = "CUSTOMER" // the other party, channel 1
)

// Sentiment labels of a turn.
const (
	Positive = "POSITIVE"
	Negative = "NEGATIVE"
	Neutral  = "NEUTRAL"
	Mixed    = "MIXED"
)

// Item types.
const (
	Pronunciation = "pronunciation"
	Punctuation   = "punctuation"
)

// Document is a whole Call Analytics output file.
type Document struct {
	JobName                     string                      `json:"JobName,omitempty"`
	JobStatus                   string                      `json:"JobStatus"`
	LanguageCode                string                      `json:"LanguageCode,omitempty"`
	AccountID                   string                      `json:"AccountId,omitempty"`
	Channel                     string                      `json:"Channel,omitempty"`
	Participants                []ParticipantRole           `json:"Participants,omitempty"`
	Transcript                  []Turn                      `json:"Transcript"`
	Categories                  Categories                  `json:"Categories"`
	ConversationCharacteristics ConversationCharacteristics `json:"ConversationCharacteristics"`
	ContentMetadata             *ContentMetadata            `json:"ContentMetadata,omitempty"`
	// CallrecMetadata is callrec's own addition (absent in Transcribe's
	// output).
	CallrecMetadata *CallrecMetadata `json:"CallrecMetadata,omitempty"`
}

// ParticipantRole lists a role present in the call.
type ParticipantRole struct {
	ParticipantRole string `json:"ParticipantRole"`
}

// ContentMetadata says whether content was redacted.
type ContentMetadata struct {
	Output string `json:"Output"`
}

// Turn is one speaker turn (Transcribe calls it a transcript segment).
type Turn struct {
	ID                  string      `json:"Id,omitempty"`
	ParticipantRole     string      `json:"ParticipantRole"`
	BeginOffsetMillis   int64       `json:"BeginOffsetMillis"`
	EndOffsetMillis     int64       `json:"EndOffsetMillis"`
	Content             string      `json:"Content"`
	Sentiment           string      `json:"Sentiment,omitempty"`
	LoudnessScores      []*float64  `json:"LoudnessScores,omitempty"`
	Items               []Item      `json:"Items,omitempty"`
	IssuesDetected      []Detection `json:"IssuesDetected,omitempty"`
	ActionItemsDetected []Detection `json:"ActionItemsDetected,omitempty"`
	OutcomesDetected    []Detection `json:"OutcomesDetected,omitempty"`
}

// Item is a word or punctuation mark with its timing and confidence.
type Item struct {
	BeginOffsetMillis     int64   `json:"BeginOffsetMillis,omitempty"`
	EndOffsetMillis       int64   `json:"EndOffsetMillis,omitempty"`
	Content               string  `json:"Content"`
	Confidence            float64 `json:"Confidence"`
	Type                  string  `json:"Type"`
	VocabularyFilterMatch bool    `json:"VocabularyFilterMatch,omitempty"`
}

// Detection marks a span of a turn's Content (issues, action items,
// outcomes).
type Detection struct {
	CharacterOffsets CharacterOffsets `json:"CharacterOffsets"`
}

// CharacterOffsets is a [Begin, End) range of characters in Content.
type CharacterOffsets struct {
	Begin int `json:"Begin"`
	End   int `json:"End"`
}

// Categories lists the categories that matched.
type Categories struct {
	MatchedCategories []string                   `json:"MatchedCategories"`
	MatchedDetails    map[string]CategoryDetails `json:"MatchedDetails"`
}

// CategoryDetails says where a category matched.
type CategoryDetails struct {
	TimestampRanges []TimeRange `json:"TimestampRanges"`
}

// TimeRange is a span of the call.
type TimeRange struct {
	BeginOffsetMillis int64 `json:"BeginOffsetMillis"`
	EndOffsetMillis   int64 `json:"EndOffsetMillis"`
}

// Span is a TimeRange with its duration.
type Span struct {
	BeginOffsetMillis int64 `json:"BeginOffsetMillis"`
	EndOffsetMillis   int64 `json:"EndOffsetMillis"`
	DurationMillis    int64 `json:"DurationMillis"`
}

// ConversationCharacteristics are the call-level analytics.
type ConversationCharacteristics struct {
	NonTalkTime                     NonTalkTime   `json:"NonTalkTime"`
	Interruptions                   Interruptions `json:"Interruptions"`
	TotalConversationDurationMillis int64         `json:"TotalConversationDurationMillis"`
	Sentiment                       Sentiment     `json:"Sentiment"`
	TalkSpeed                       TalkSpeed     `json:"TalkSpeed"`
	TalkTime                        TalkTime      `json:"TalkTime"`
}

// NonTalkTime lists silences (both sides quiet for 3 s or more).
type NonTalkTime struct {
	Instances       []Span `json:"Instances"`
	TotalTimeMillis int64  `json:"TotalTimeMillis"`
}

// Interruptions lists overlaps where one side started while the other was
// speaking, by who interrupted.
type Interruptions struct {
	TotalCount                 int               `json:"TotalCount"`
	TotalTimeMillis            int64             `json:"TotalTimeMillis"`
	InterruptionsByInterrupter map[string][]Span `json:"InterruptionsByInterrupter"`
}

// Sentiment holds per-speaker scores on the −5…+5 scale.
type Sentiment struct {
	OverallSentiment  map[string]float64 `json:"OverallSentiment"`
	SentimentByPeriod SentimentByPeriod  `json:"SentimentByPeriod"`
}

// SentimentByPeriod holds the quarter scores.
type SentimentByPeriod struct {
	Quarter map[string][]PeriodScore `json:"QUARTER"`
}

// PeriodScore is one period's score.
type PeriodScore struct {
	BeginOffsetMillis int64   `json:"BeginOffsetMillis"`
	EndOffsetMillis   int64   `json:"EndOffsetMillis"`
	Score             float64 `json:"Score"`
}

// TalkSpeed is words per minute by participant.
type TalkSpeed struct {
	DetailsByParticipant map[string]WordsPerMinute `json:"DetailsByParticipant"`
}

// WordsPerMinute is one participant's talk speed.
type WordsPerMinute struct {
	AverageWordsPerMinute float64 `json:"AverageWordsPerMinute"`
}

// TalkTime is speaking time by participant and in total.
type TalkTime struct {
	DetailsByParticipant map[string]Duration `json:"DetailsByParticipant"`
	TotalTimeMillis      int64               `json:"TotalTimeMillis"`
}

// Duration is a total time.
type Duration struct {
	TotalTimeMillis int64 `json:"TotalTimeMillis"`
}

// CallrecMetadata carries what callrec knows beyond Transcribe's schema.
type CallrecMetadata struct {
	CallID         string `json:"CallId,omitempty"`
	Engine         string `json:"Engine,omitempty"`
	AudioFile      string `json:"AudioFile,omitempty"`
	SampleRate     int    `json:"SampleRate,omitempty"`
	DurationMillis int64  `json:"DurationMillis,omitempty"`
}

// Decode reads a document and checks the fields every reader relies on.
func Decode(r io.Reader) (*Document, error) {
	var d Document
	dec := json.NewDecoder(r)
	if err := dec.Decode(&d); err != nil {
		return nil, fmt.Errorf("transcript JSON: %w", err)
	}
	if d.JobStatus == "" && d.Transcript == nil {
		return nil, errors.New("transcript JSON: neither JobStatus nor Transcript: not a Call Analytics document")
	}
	for i, t := range d.Transcript {
		if t.ParticipantRole != Agent && t.ParticipantRole != Customer {
			return nil, fmt.Errorf("transcript JSON: Transcript[%d].ParticipantRole %q: want AGENT or CUSTOMER", i, t.ParticipantRole)
		}
		if t.EndOffsetMillis < t.BeginOffsetMillis {
			return nil, fmt.Errorf("transcript JSON: Transcript[%d] ends (%d ms) before it begins (%d ms)", i, t.EndOffsetMillis, t.BeginOffsetMillis)
		}
	}
	return &d, nil
}

// Encode writes d as indented JSON.
func Encode(w io.Writer, d *Document) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(d)
}
