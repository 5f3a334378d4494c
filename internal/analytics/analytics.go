// Package analytics computes call analytics with the definitions of Amazon
// Transcribe Call Analytics, as pure functions of a recording's audio and
// its words (no I/O): the result is a transcript.Document in Transcribe's
// output schema.
//
// Channel 0 is the owner (AGENT), channel 1 the other party (CUSTOMER).
//
//   - Talk time: the speech found by voice activity detection on each
//     channel (DetectVoice: frame energy with an adaptive threshold,
//     hangover and a minimum speech length), per speaker and in total.
//   - Non-talk time: every span of 3 s or more where neither side speaks.
//   - Interruptions: one side starts speaking while the other is speaking
//     and both speak together for 300 ms or more (shorter overlaps are the
//     normal give and take of a conversation); the span is the overlap and
//     the interrupter the side that started later.
//   - Loudness: per turn, one score per second of the turn: the level of
//     the speech in that second on the 0–100 scale of LoudnessScore, null
//     for a second without speech.
//   - Talk speed: each side's words per minute of its talk time.
//   - Sentiment: per turn with a lexicon (Sentiment: AFINN-style with
//     negation and intensifiers), and per side for each quarter of the call
//     and for the whole call on −5…+5 (duration-weighted mean of the turn
//     scores).
//   - Issues and action items: phrase rules (DetectIssues,
//     DetectActionItems), with character offsets into the turn's Content.
//   - Categories: user rules (CategoryRule) with phrases, an optional
//     speaker, time window and negation.
//
// Turns are built from the words: consecutive words of one channel, split
// at a pause of 1.5 s or more or where the other side spoke in between.
//
// The lexicon and the phrase rules are English; for another language the
// turns are NEUTRAL and no issues or action items are reported, while
// categories (the user's own phrases) still apply.
package analytics

import (
	"fmt"
	"path/filepath"
	"strings"
	"time"

	"github.com/callrec/callrec/internal/transcribe"
	"github.com/callrec/callrec/internal/transcript"
)

// Defaults of Options.
const (
	DefaultLanguage        = "en-US"
	DefaultMinNonTalk      = 3 * time.Second
	DefaultMinInterruption = 300 * time.Millisecond
	DefaultTurnPause       = 1500 * time.Millisecond
)

// Options tune an analysis. The zero value uses the defaults.
type Options struct {
	// Categories are the user's categories, matched in this order.
	Categories []CategoryRule
	// Language is the BCP 47 language of the call; default en-US.
	Language string
	// JobName names the document; default the recording's CallID.
	JobName string
	// VAD tunes the voice activity detector; zero fields take the defaults
	// of DefaultVAD.
	VAD VADParams
	// MinNonTalk is the shortest silence reported; default 3 s.
	MinNonTalk time.Duration
	// MinInterruption is the shortest overlap reported as an interruption;
	// default 300 ms.
	MinInterruption time.Duration
	// TurnPause is the pause that ends a turn; default 1.5 s.
	TurnPause time.Duration
}

func (o Options) withDefaults() Options {
	if o.Language == "" {
		o.Language = DefaultLanguage
	}
	if o.MinNonTalk <= 0 {
		o.MinNonTalk = DefaultMinNonTalk
	}
	if o.MinInterruption <= 0 {
		o.MinInterruption = DefaultMinInterruption
	}
	if o.TurnPause <= 0 {
		o.TurnPause = DefaultTurnPause
	}
	o.VAD = o.VAD.withDefaults()
	return o
}

func (o Options) english() bool {
	return strings.HasPrefix(strings.ToLower(o.Language), "en")
}

// checkRecording returns why rec cannot be analysed, or nil.
func checkRecording(rec *transcribe.Recording) error {
	switch {
	case rec == nil:
		return ErrNoAudio
	case rec.SampleRate <= 0:
		return fmt.Errorf("%w: got %d Hz", ErrSampleRate, rec.SampleRate)
	case len(rec.Channels) == 0:
		return ErrNoAudio
	case len(rec.Channels) != 2:
		return fmt.Errorf("%w: the recording has %d", ErrChannels, len(rec.Channels))
	case len(rec.Channels[0]) != len(rec.Channels[1]):
		return fmt.Errorf("%w: %d and %d samples", ErrChannelLength, len(rec.Channels[0]), len(rec.Channels[1]))
	case len(rec.Channels[0]) == 0:
		return ErrNoAudio
	}
	return nil
}

// detect runs the voice activity detector on both channels.
func detect(rec *transcribe.Recording, p VADParams) ([2]Activity, error) {
	var acts [2]Activity
	for c := range acts {
		a, err := DetectVoice(rec.Channels[c], rec.SampleRate, p)
		if err != nil {
			return acts, err
		}
		acts[c] = a
	}
	return acts, nil
}

// Analyze builds the transcript and computes every analytic of a stereo
// recording (channel 0 the owner, channel 1 the other party) and its words.
// It fails on a recording that is not two channels of equal, non-zero
// length at a positive sample rate, on words of another channel or with a
// negative duration, and on invalid category rules.
func Analyze(rec *transcribe.Recording, words []transcribe.Word, opt Options) (*transcript.Document, error) {
	if err := checkRecording(rec); err != nil {
		return nil, err
	}
	if err := checkWords(words); err != nil {
		return nil, err
	}
	if err := validateRules(opt.Categories); err != nil {
		return nil, fmt.Errorf("analytics: %w", err)
	}
	opt = opt.withDefaults()
	acts, err := detect(rec, opt.VAD)
	if err != nil {
		return nil, err
	}
	job := opt.JobName
	if job == "" {
		job = rec.CallID
	}
	dur := rec.Duration()
	doc := &transcript.Document{
		JobName:         job,
		JobStatus:       "COMPLETED",
		LanguageCode:    opt.Language,
		Channel:         "VOICE",
		Participants:    participants(),
		Transcript:      buildTurns(words, opt.TurnPause, job),
		ContentMetadata: &transcript.ContentMetadata{Output: "Raw"},
		CallrecMetadata: &transcript.CallrecMetadata{
			CallID:         rec.CallID,
			SampleRate:     rec.SampleRate,
			DurationMillis: millis(dur),
		},
	}
	if rec.Path != "" {
		doc.CallrecMetadata.AudioFile = filepath.Base(rec.Path)
	}
	doc.ConversationCharacteristics.TotalConversationDurationMillis = millis(dur)
	fill(doc, &acts, opt, true)
	return doc, nil
}

// Enrich fills in what doc lacks, for a transcript that arrived without
// (all of) its analytics, such as one from another engine: turn sentiment,
// issues, action items and loudness (loudness only with a usable rec) for
// the turns without a Sentiment, and each conversation characteristic and
// the categories when absent (a nil map or slice). What doc has is kept.
//
// With a usable stereo rec, talk time, non-talk time and interruptions come
// from voice activity as in Analyze; otherwise (rec nil, mono, …) from the
// timing of the words, or of the turns when they have no word timings.
// Invalid category rules are skipped.
func Enrich(doc *transcript.Document, rec *transcribe.Recording, opt Options) {
	if doc == nil {
		return
	}
	var rules []CategoryRule
	for _, r := range opt.Categories {
		if r.Validate() == nil {
			rules = append(rules, r)
		}
	}
	opt.Categories = rules
	opt = opt.withDefaults()
	var acts *[2]Activity
	if checkRecording(rec) == nil {
		if a, err := detect(rec, opt.VAD); err == nil {
			acts = &a
		}
	}
	if doc.JobStatus == "" {
		doc.JobStatus = "COMPLETED"
	}
	if doc.LanguageCode == "" {
		doc.LanguageCode = opt.Language
	}
	if len(doc.Participants) == 0 {
		doc.Participants = participants()
	}
	cc := &doc.ConversationCharacteristics
	if cc.TotalConversationDurationMillis <= 0 {
		if acts != nil {
			cc.TotalConversationDurationMillis = millis(rec.Duration())
		} else {
			cc.TotalConversationDurationMillis = millis(doc.Duration())
		}
	}
	fill(doc, acts, opt, false)
}

func participants() []transcript.ParticipantRole {
	return []transcript.ParticipantRole{{ParticipantRole: transcript.Agent}, {ParticipantRole: transcript.Customer}}
}

// fill computes the analytics of doc's turns. With all set it replaces
// everything; otherwise only what is missing. acts may be nil (no audio).
func fill(doc *transcript.Document, acts *[2]Activity, opt Options, all bool) {
	sc := newScorer()
	issues, actions := issueDetector(), actionItemDetector()
	english := opt.english()
	turns := doc.Transcript
	scores := make([]float64, len(turns))
	indexed := make([]indexedTurn, len(turns))
	for i := range turns {
		t := &turns[i]
		indexed[i] = indexTurn(t)
		res := SentimentResult{Label: transcript.Neutral}
		if english {
			res = sc.score(indexed[i].toks)
		}
		scores[i] = res.Score
		if !all && t.Sentiment != "" {
			continue
		}
		t.Sentiment = res.Label
		if english && (all || t.IssuesDetected == nil) {
			t.IssuesDetected = issues.detect(t.Content, indexed[i].toks)
		}
		if english && (all || t.ActionItemsDetected == nil) {
			t.ActionItemsDetected = actions.detect(t.Content, indexed[i].toks)
		}
		if c := transcript.Channel(t.ParticipantRole); acts != nil && c >= 0 && (all || t.LoudnessScores == nil) {
			t.LoudnessScores = loudness(&acts[c], t)
		}
	}

	cc := &doc.ConversationCharacteristics
	total := cc.TotalConversationDurationMillis
	totalDur := time.Duration(total) * time.Millisecond
	var speech [2][]Interval
	if acts != nil {
		speech = [2][]Interval{acts[0].Speech, acts[1].Speech}
	} else {
		speech = speechFromTurns(turns, opt.VAD.Hangover)
	}
	if all || cc.TalkTime.DetailsByParticipant == nil {
		cc.TalkTime = talkTime(speech)
	}
	if all || cc.NonTalkTime.Instances == nil {
		cc.NonTalkTime = nonTalkTime(speech, totalDur, opt.MinNonTalk)
	}
	if all || cc.Interruptions.InterruptionsByInterrupter == nil {
		cc.Interruptions = interruptions(speech, opt.MinInterruption)
	}
	if all || cc.TalkSpeed.DetailsByParticipant == nil {
		cc.TalkSpeed = talkSpeed(turns, cc.TalkTime)
	}
	if all || cc.Sentiment.OverallSentiment == nil {
		cc.Sentiment = periodSentiment(turns, scores, total)
	}
	if all || doc.Categories.MatchedCategories == nil {
		doc.Categories = matchCategories(opt.Categories, indexed, total)
	}
	doc.FillEmpty()
}

// speechFromTurns estimates each side's speech from word timings (or turn
// timings for turns without them), bridging pauses shorter than hangover as
// the voice activity detector does.
func speechFromTurns(turns []transcript.Turn, hangover time.Duration) [2][]Interval {
	var raw [2][]Interval
	for i := range turns {
		t := &turns[i]
		c := transcript.Channel(t.ParticipantRole)
		if c < 0 {
			continue
		}
		n := 0
		for _, it := range t.Items {
			if it.Type != transcript.Punctuation && it.EndOffsetMillis > it.BeginOffsetMillis {
				raw[c] = append(raw[c], Interval{ms(it.BeginOffsetMillis), ms(it.EndOffsetMillis)})
				n++
			}
		}
		if n == 0 && t.EndOffsetMillis > t.BeginOffsetMillis {
			raw[c] = append(raw[c], Interval{t.Begin(), t.End()})
		}
	}
	var out [2][]Interval
	for c := range raw {
		sortIntervals(raw[c])
		for _, iv := range raw[c] {
			if k := len(out[c]) - 1; k >= 0 && iv.Start-out[c][k].End < hangover {
				out[c][k].End = max(out[c][k].End, iv.End)
				continue
			}
			out[c] = append(out[c], iv)
		}
	}
	return out
}

func ms(v int64) time.Duration { return time.Duration(v) * time.Millisecond }
