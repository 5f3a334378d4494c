// Package corpus synthesises two-party test conversations with flite, one
// voice per recording channel, with scripted silences and overlaps whose
// timing is known exactly. The placement of every line is the ground truth
// that the analytics and the transcription engines are measured against.
//
// A conversation is a Script: lines, each said by the owner (channel 0,
// AGENT) or the other party (channel 1, CUSTOMER), each starting a scripted
// gap after the previous line ends (a negative gap makes the line start
// before the previous one ends: an overlap, the later speaker interrupting).
// Synthesize renders a script to a stereo 16-bit WAV file at a chosen sample
// rate and returns its Truth. It needs flite and sox (Debian packages flite
// and sox); Require lets a test skip or fail when they are missing.
package corpus

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/callrec/callrec/internal/transcribe"
)

// Speakers of a Line, equal to their recording channels.
const (
	Agent    = 0 // the owner, channel 0
	Customer = 1 // the other party, channel 1
)

// Timing of a rendered conversation.
const (
	// LeadIn is the quiet before the first line.
	LeadIn = 500 * time.Millisecond
	// Tail is the quiet after the last line ends.
	Tail = time.Second
	// MinSilence is the shortest span with both sides quiet that counts as
	// a silence (Amazon Transcribe's non-talk time).
	MinSilence = 3 * time.Second
	// NoiseDBFS is the level (RMS, dB full scale) of the white noise added
	// to both channels, so that silence is not digital zero.
	NoiseDBFS = -60.0
	// TrimDBFS is the level (RMS over 5 ms, dB full scale) below which the
	// start and end of a line as flite renders it count as silence and are
	// cut off, so that a line's Segment starts and ends with its speech.
	TrimDBFS = -50.0
)

// Line is one utterance of a Script.
type Line struct {
	// Speaker is Agent (0, the owner) or Customer (1, the other party).
	Speaker int
	// Text is what flite says.
	Text string
	// Gap is the silence between the end of the previous line and the
	// start of this one; negative for an overlap (this line starts before
	// the previous one ends). The first line starts Gap after LeadIn.
	Gap time.Duration
}

// Script is a conversation to synthesise.
type Script struct {
	// Name identifies the script in file names: letters, digits, '-'
	// and '_'.
	Name string
	// Voices are the flite voices of speaker 0 and speaker 1.
	Voices [2]string
	// Lines in the order they start, except that an overlapping line may
	// start before the end of the one it interrupts.
	Lines []Line
}

// Segment is a line as placed in the recording.
type Segment struct {
	Speaker    int
	Start, End time.Duration
	Text       string
}

// Span is a stretch of the recording.
type Span struct {
	Start, End time.Duration
}

// Duration is the span's length.
func (s Span) Duration() time.Duration { return s.End - s.Start }

// Overlap is a stretch where both sides speak; Interrupter started speaking
// while the other side was speaking.
type Overlap struct {
	Interrupter int
	Start, End  time.Duration
}

// Truth is what a rendered conversation contains, from the placement of its
// lines (not from any voice activity detection).
type Truth struct {
	// Segments are the lines in start order, with the edges of their
	// speech.
	Segments []Segment
	// Silences are the spans of MinSilence or more where neither side
	// speaks.
	Silences []Span
	// Overlaps are the spans where both sides speak.
	Overlaps []Overlap
	// Duration is the recording's length.
	Duration time.Duration
	// TalkTime is each speaker's total speech.
	TalkTime [2]time.Duration
	// SampleRate of the recording.
	SampleRate int
}

// Words returns the words of the segments as a transcription engine would
// report them, with each segment's words spread evenly over the segment and
// confidence 1. Punctuation stays attached to its word, as some engines do.
// The words are in time order.
func (t Truth) Words() []transcribe.Word {
	var out []transcribe.Word
	for _, s := range t.Segments {
		f := strings.Fields(s.Text)
		n := time.Duration(len(f))
		for k, w := range f {
			out = append(out, transcribe.Word{
				Channel:    s.Speaker,
				Start:      s.Start + (s.End-s.Start)*time.Duration(k)/n,
				End:        s.Start + (s.End-s.Start)*time.Duration(k+1)/n,
				Text:       w,
				Confidence: 1,
			})
		}
	}
	sortWords(out)
	return out
}

// Text returns everything speaker said, the lines joined by spaces.
func (t Truth) Text(speaker int) string {
	var parts []string
	for _, s := range t.Segments {
		if s.Speaker == speaker {
			parts = append(parts, s.Text)
		}
	}
	return strings.Join(parts, " ")
}

// DefaultDir returns a directory for cached renderings shared by the tests
// of every package (under the user's cache directory), creating it.
func DefaultDir() (string, error) {
	base, err := os.UserCacheDir()
	if err != nil {
		base = os.TempDir()
	}
	dir := filepath.Join(base, "callrec", "corpus")
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return "", fmt.Errorf("corpus cache directory: %w", err)
	}
	return dir, nil
}

// TB is the part of testing.TB that Require uses.
type TB interface {
	Helper()
	Skipf(format string, args ...any)
	Fatalf(format string, args ...any)
}

// Require checks that flite and sox are installed. When one is missing it
// skips the test, except on CI (environment variable CI=true), where a
// missing tool fails the test so that the corpus tests cannot silently
// stop running.
func Require(tb TB) {
	tb.Helper()
	if err := CheckTools(); err != nil {
		if os.Getenv("CI") == "true" {
			tb.Fatalf("%v (CI=true: the corpus tests must run)", err)
			return
		}
		tb.Skipf("%v", err)
	}
}
