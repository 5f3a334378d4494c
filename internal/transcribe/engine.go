// Package transcribe defines the speech-to-text engines behind one
// interface. Engines live in sub-packages (sphinx, openai, aws) and are
// chosen by the config key transcribe.engine.
package transcribe

import (
	"context"
	"time"

	"github.com/callrec/callrec/internal/transcript"
)

// Recording is a call recording decoded once for every engine.
type Recording struct {
	// Path is the WAV file on disk (engines that upload the file use it).
	Path string
	// SampleRate of Channels (8000 for callrec's own recordings).
	SampleRate int
	// Channels holds each channel's samples: 0 = owner (AGENT),
	// 1 = other party (CUSTOMER). A mono file has one channel.
	Channels [][]int16
	// CallID names the call, when known (used for job names).
	CallID string
}

// Duration is the recording's length.
func (r *Recording) Duration() time.Duration {
	if len(r.Channels) == 0 || r.SampleRate == 0 {
		return 0
	}
	return time.Duration(len(r.Channels[0])) * time.Second / time.Duration(r.SampleRate)
}

// Word is one recognised word.
type Word struct {
	// Channel is 0 (owner) or 1 (other party).
	Channel int
	Start   time.Duration
	End     time.Duration
	Text    string
	// Confidence is 0..1.
	Confidence float64
}

// Result is what an engine produced.
type Result struct {
	// Engine is the engine's name.
	Engine string
	// Language is a BCP 47 tag such as "en-US".
	Language string
	// Words of both channels, in time order within each channel.
	Words []Word
	// Document, when set, is a complete Call Analytics document (the aws
	// engine returns Transcribe's own output): callrec then uses it as is
	// and skips its own analytics.
	Document *transcript.Document
}

// Engine turns a recording into words.
type Engine interface {
	// Name is the engine's config name ("sphinx", "openai", "aws").
	Name() string
	// Transcribe recognises both channels of rec. It must honour ctx.
	Transcribe(ctx context.Context, rec *Recording) (*Result, error)
}
