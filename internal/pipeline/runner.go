package pipeline

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"slices"
	"sync"

	"github.com/callrec/callrec/internal/analytics"
	"github.com/callrec/callrec/internal/calls"
	"github.com/callrec/callrec/internal/store"
	"github.com/callrec/callrec/internal/transcribe"
	"github.com/callrec/callrec/internal/transcript"
)

// Renderer makes the report files of a call (render stage): output name
// (calls.ReportDOCX, calls.ReportHTML…) to content.
type Renderer interface {
	Render(ctx context.Context, call *store.Call, doc *transcript.Document) (map[string][]byte, error)
}

// Notifier tells the owner a call is processed (notify stage), offering
// the call's downloads. It must be idempotent per call and write
// calls.Notification once it has told everyone.
type Notifier interface {
	Notify(ctx context.Context, call *store.Call, doc *transcript.Document, downloads []calls.Download) error
}

// Config wires a Runner.
type Config struct {
	// Engine makes the transcription engine on first use (engines load
	// models); it is called at most once. Required.
	Engine func() (transcribe.Engine, error)
	// Analytics configures the analyze stage.
	Analytics analytics.Options
	// Renderer makes the reports (render stage). Required.
	Renderer Renderer
	// Notifier tells the owner (notify stage); a Runner without one fails
	// that stage.
	Notifier Notifier
}

// Runner runs stages. Make it with NewRunner and Close it when done; it is
// safe for concurrent use.
type Runner struct {
	cfg Config

	engineOnce sync.Once
	engine     transcribe.Engine
	engineErr  error
}

// NewRunner checks cfg and returns a Runner.
func NewRunner(cfg Config) (*Runner, error) {
	if cfg.Engine == nil || cfg.Renderer == nil {
		return nil, errors.New("pipeline: an engine and a renderer are required")
	}
	return &Runner{cfg: cfg}, nil
}

// Close releases the transcription engine, if one was made (PocketSphinx
// holds about 100 MB a decoder).
func (r *Runner) Close() error {
	if c, ok := r.engine.(io.Closer); ok {
		return c.Close()
	}
	return nil
}

// Job is one call going through the stages.
type Job struct {
	// Call is the call's record (the render and notify stages show it).
	Call *store.Call
	// Objects holds the call's outputs.
	Objects Objects
	// Recording loads the call's recording (transcribe and analyze
	// stages); release frees what loading took, such as a scratch copy.
	Recording func(ctx context.Context) (rec *transcribe.Recording, release func(), err error)
	// Downloads lists what the call offers the owner (notify stage).
	Downloads func(ctx context.Context) ([]calls.Download, error)
	// AudioFile, when set, is recorded in the transcript as the name of
	// the audio it was made from.
	AudioFile string
}

// stage is one entry of the stage table: its name and its work, which
// returns the keys of the objects it wrote (or found already written).
type stage struct {
	name string
	run  func(r *Runner, ctx context.Context, job *Job) ([]string, error)
}

// stageTable is the work of each stage of calls.Stages().
var stageTable = [...]stage{
	{calls.StageTranscribe, (*Runner).transcribe},
	{calls.StageAnalyze, (*Runner).analyze},
	{calls.StageRender, (*Runner).render},
	{calls.StageNotify, (*Runner).notify},
}

// Stage runs one stage of job and returns the keys of the objects it
// wrote (the first is its main output). Errors that no retry can fix
// satisfy Permanent.
func (r *Runner) Stage(ctx context.Context, name string, job *Job) ([]string, error) {
	for _, s := range stageTable {
		if s.name == name {
			return s.run(r, ctx, job)
		}
	}
	return nil, inputErr("unknown stage %q (one of %v)", name, calls.Stages())
}

// Run runs the stages names in order, telling progress (when set) before
// each, and returns the keys of every object written.
func (r *Runner) Run(ctx context.Context, job *Job, names []string, progress func(i int, name string)) ([]string, error) {
	var keys []string
	for i, name := range names {
		if progress != nil {
			progress(i, name)
		}
		k, err := r.Stage(ctx, name, job)
		if err != nil {
			return keys, fmt.Errorf("%s: %w", name, err)
		}
		keys = append(keys, k...)
	}
	return keys, nil
}

// Words is the transcribe stage's output: the engine's words, or a whole
// document when the engine made one (aws).
type Words struct {
	Engine   string               `json:"engine"`
	Language string               `json:"language"`
	Words    []transcribe.Word    `json:"words"`
	Document *transcript.Document `json:"document,omitempty"`
}

func (r *Runner) getEngine() (transcribe.Engine, error) {
	r.engineOnce.Do(func() { r.engine, r.engineErr = r.cfg.Engine() })
	return r.engine, r.engineErr
}

// done reports whether the output name exists already.
func done(ctx context.Context, job *Job, name string) (bool, error) {
	ok, err := job.Objects.Exists(ctx, name)
	if err != nil {
		return false, fmt.Errorf("check for %s: %w", name, err)
	}
	return ok, nil
}

// transcribe writes calls.Words from the recording.
func (r *Runner) transcribe(ctx context.Context, job *Job) ([]string, error) {
	key := job.Objects.Key(calls.Words)
	if ok, err := done(ctx, job, calls.Words); ok || err != nil {
		return []string{key}, err
	}
	rec, release, err := job.Recording(ctx)
	if err != nil {
		return nil, err
	}
	defer release()
	rec.CallID = job.Call.ID
	engine, err := r.getEngine()
	if err != nil {
		return nil, inputErr("transcription engine: %v", err)
	}
	res, err := engine.Transcribe(ctx, rec)
	if err != nil {
		return nil, fmt.Errorf("%s engine: %w", engine.Name(), err)
	}
	w := &Words{Engine: res.Engine, Language: res.Language, Words: res.Words, Document: res.Document}
	return []string{key}, putJSON(ctx, job.Objects, calls.Words, w)
}

// analyze writes calls.Transcript from calls.Words and the recording; a
// document the engine made is used as is.
func (r *Runner) analyze(ctx context.Context, job *Job) ([]string, error) {
	key := job.Objects.Key(calls.Transcript)
	if ok, err := done(ctx, job, calls.Transcript); ok || err != nil {
		return []string{key}, err
	}
	b, err := job.Objects.Get(ctx, calls.Words)
	if err != nil {
		return nil, err
	}
	var w Words
	if err := json.Unmarshal(b, &w); err != nil {
		return nil, inputErr("%s: %v", job.Objects.Key(calls.Words), err)
	}
	doc := w.Document
	if doc == nil {
		rec, release, err := job.Recording(ctx)
		if err != nil {
			return nil, err
		}
		defer release()
		opt := r.cfg.Analytics
		if opt.Language == "" {
			opt.Language = w.Language
		}
		if doc, err = analytics.Analyze(rec, w.Words, opt); err != nil {
			return nil, inputErr("analytics: %v", err)
		}
		if doc.CallrecMetadata == nil {
			doc.CallrecMetadata = &transcript.CallrecMetadata{}
		}
		doc.CallrecMetadata.Engine = w.Engine
		doc.CallrecMetadata.SampleRate = rec.SampleRate
		doc.CallrecMetadata.DurationMillis = rec.Duration().Milliseconds()
	}
	if doc.CallrecMetadata == nil {
		doc.CallrecMetadata = &transcript.CallrecMetadata{}
	}
	doc.CallrecMetadata.CallID = job.Call.ID
	if job.AudioFile != "" {
		doc.CallrecMetadata.AudioFile = job.AudioFile
	}
	return []string{key}, putJSON(ctx, job.Objects, calls.Transcript, doc)
}

// render writes the report files from calls.Transcript; it records every
// file it wrote, in name order.
func (r *Runner) render(ctx context.Context, job *Job) ([]string, error) {
	doc, err := readTranscript(ctx, job.Objects)
	if err != nil {
		return nil, err
	}
	files, err := r.cfg.Renderer.Render(ctx, job.Call, doc)
	if err != nil {
		return nil, err
	}
	names := make([]string, 0, len(files))
	for name := range files {
		names = append(names, name)
	}
	slices.Sort(names)
	keys := make([]string, 0, len(names))
	for _, name := range names {
		if err := job.Objects.Put(ctx, name, files[name]); err != nil {
			return nil, err
		}
		keys = append(keys, job.Objects.Key(name))
	}
	return keys, nil
}

// notify tells the owner, offering the call's downloads.
func (r *Runner) notify(ctx context.Context, job *Job) ([]string, error) {
	if r.cfg.Notifier == nil {
		return nil, inputErr("no notifier is configured")
	}
	doc, err := readTranscript(ctx, job.Objects)
	if err != nil {
		return nil, err
	}
	downloads, err := job.Downloads(ctx)
	if err != nil {
		return nil, err
	}
	if err := r.cfg.Notifier.Notify(ctx, job.Call, doc, downloads); err != nil {
		return nil, err
	}
	return []string{job.Objects.Key(calls.Notification)}, nil
}

// readTranscript reads and decodes calls.Transcript.
func readTranscript(ctx context.Context, o Objects) (*transcript.Document, error) {
	b, err := o.Get(ctx, calls.Transcript)
	if err != nil {
		return nil, fmt.Errorf("read transcript: %w", err)
	}
	doc, err := transcript.Decode(bytes.NewReader(b))
	if err != nil {
		return nil, inputErr("%s: %v", o.Key(calls.Transcript), err)
	}
	return doc, nil
}

// putJSON stores v as the output name, encoded with EncodeJSON.
func putJSON(ctx context.Context, o Objects, name string, v any) error {
	b, err := EncodeJSON(v)
	if err != nil {
		return err
	}
	return o.Put(ctx, name, b)
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

// ReadTranscript reads a transcript document (callrec's or Amazon
// Transcribe Call Analytics output) from a file.
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
