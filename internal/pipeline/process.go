// Package pipeline is callrec's post-call processing: durable River jobs
// that take a finished recording through transcribe → analyze → render →
// notify. Each stage is idempotent, writes its output to the blob store,
// and is retried with backoff; the call record shows each stage's state and
// last error.
package pipeline

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"

	"github.com/callrec/callrec/internal/analytics"
	"github.com/callrec/callrec/internal/media/wav"
	"github.com/callrec/callrec/internal/transcribe"
	"github.com/callrec/callrec/internal/transcript"
)

// Stage names, in order.
const (
	StageTranscribe = "transcribe"
	StageAnalyze    = "analyze"
	StageRender     = "render"
	StageNotify     = "notify"
)

// Stages lists the stages in order.
var stageOrder = []string{StageTranscribe, StageAnalyze, StageRender, StageNotify}

// Stages returns the stage names in order.
func Stages() []string { return append([]string(nil), stageOrder...) }

// next returns the stage after s, or "".
func next(s string) string {
	for i, n := range stageOrder {
		if n == s && i+1 < len(stageOrder) {
			return stageOrder[i+1]
		}
	}
	return ""
}

// InputError is a problem with the input that no retry can fix (bad WAV,
// malformed transcript): the stage fails at once.
type InputError struct{ Err error }

func (e *InputError) Error() string { return e.Err.Error() }
func (e *InputError) Unwrap() error { return e.Err }

func inputErr(format string, args ...any) error {
	return &InputError{Err: fmt.Errorf(format, args...)}
}

// Supported sample rates of recordings given to the pipeline.
var supportedRates = map[uint32]bool{8000: true, 16000: true}

// LoadRecording reads and checks a stereo recording: 8 or 16 kHz, two
// channels (owner, other party), a header that matches the data. Problems
// are InputErrors with a message that says what to do.
func LoadRecording(path string) (*transcribe.Recording, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("open recording: %w", err)
	}
	defer f.Close()
	fi, err := f.Stat()
	if err != nil {
		return nil, fmt.Errorf("open recording: %w", err)
	}
	if fi.Size() == 0 {
		return nil, inputErr("recording %s is empty (0 bytes)", path)
	}
	data, err := io.ReadAll(f)
	if err != nil {
		return nil, fmt.Errorf("read recording: %w", err)
	}
	return DecodeRecording(path, data)
}

// DecodeRecording is LoadRecording on bytes already read.
func DecodeRecording(name string, data []byte) (*transcribe.Recording, error) {
	format, pcm, err := wav.Decode(bytes.NewReader(data))
	if err != nil {
		return nil, inputErr("recording %s: %v", name, err)
	}
	if declared, ok := declaredDataSize(data); ok && int64(declared) > int64(len(data)) {
		return nil, inputErr("recording %s is truncated: its header promises more audio than the file holds (was it copied while being written?)", name)
	}
	if format.Channels != 2 {
		return nil, inputErr("recording %s has %d channel(s); callrec needs stereo: channel 0 = owner, channel 1 = other party", name, format.Channels)
	}
	if !supportedRates[format.SampleRate] {
		return nil, inputErr("recording %s is %d Hz; callrec processes 8000 or 16000 Hz recordings (convert with: sox in.wav -r 16000 out.wav)", name, format.SampleRate)
	}
	n := len(pcm) / 2
	if n == 0 {
		return nil, inputErr("recording %s holds no audio", name)
	}
	ch := [][]int16{make([]int16, n), make([]int16, n)}
	for i := 0; i < n; i++ {
		ch[0][i], ch[1][i] = pcm[2*i], pcm[2*i+1]
	}
	return &transcribe.Recording{Path: name, SampleRate: int(format.SampleRate), Channels: ch}, nil
}

// declaredDataSize finds the data chunk's declared size in a RIFF file.
func declaredDataSize(b []byte) (uint32, bool) {
	if len(b) < 12 || string(b[0:4]) != "RIFF" || string(b[8:12]) != "WAVE" {
		return 0, false
	}
	off := 12
	for off+8 <= len(b) {
		id := string(b[off : off+4])
		size := uint32(b[off+4]) | uint32(b[off+5])<<8 | uint32(b[off+6])<<16 | uint32(b[off+7])<<24
		if id == "data" {
			return size + uint32(off+8), true
		}
		off += 8 + int(size) + int(size&1)
	}
	return 0, false
}

// Words is the transcribe stage's output: the engine's words, or a whole
// document when the engine made one (aws).
type Words struct {
	Engine   string               `json:"engine"`
	Language string               `json:"language"`
	Words    []transcribe.Word    `json:"words"`
	Document *transcript.Document `json:"document,omitempty"`
}

// Transcribe runs engine on rec.
func Transcribe(ctx context.Context, engine transcribe.Engine, rec *transcribe.Recording) (*Words, error) {
	res, err := engine.Transcribe(ctx, rec)
	if err != nil {
		return nil, fmt.Errorf("%s engine: %w", engine.Name(), err)
	}
	return &Words{Engine: res.Engine, Language: res.Language, Words: res.Words, Document: res.Document}, nil
}

// Analyze turns words (and the audio) into a Call Analytics document; a
// document made by the engine is used as is.
func Analyze(rec *transcribe.Recording, w *Words, opt analytics.Options) (*transcript.Document, error) {
	if w.Document != nil {
		return w.Document, nil
	}
	if opt.Language == "" {
		opt.Language = w.Language
	}
	doc, err := analytics.Analyze(rec, w.Words, opt)
	if err != nil {
		return nil, inputErr("analytics: %v", err)
	}
	if doc.CallrecMetadata == nil {
		doc.CallrecMetadata = &transcript.CallrecMetadata{}
	}
	doc.CallrecMetadata.Engine = w.Engine
	doc.CallrecMetadata.SampleRate = rec.SampleRate
	doc.CallrecMetadata.DurationMillis = rec.Duration().Milliseconds()
	return doc, nil
}

// ReadTranscript reads a transcript document (callrec's or Amazon
// Transcribe Call Analytics output).
func ReadTranscript(path string) (*transcript.Document, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	doc, err := transcript.Decode(f)
	if err != nil {
		return nil, inputErr("%s: %v", path, err)
	}
	return doc, nil
}

// EncodeJSON is the indented JSON every stage output is written as.
func EncodeJSON(v any) ([]byte, error) {
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetIndent("", "  ")
	if err := enc.Encode(v); err != nil {
		return nil, err
	}
	return buf.Bytes(), nil
}

// isInput reports whether err is an InputError, or another error that
// says retrying cannot help (Permanent() true, as notify's are).
func isInput(err error) bool {
	var ie *InputError
	if errors.As(err, &ie) {
		return true
	}
	var p interface{ Permanent() bool }
	return errors.As(err, &p) && p.Permanent()
}
