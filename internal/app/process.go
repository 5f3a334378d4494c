package app

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/callrec/callrec/internal/analytics"
	"github.com/callrec/callrec/internal/calls"
	"github.com/callrec/callrec/internal/config"
	"github.com/callrec/callrec/internal/pipeline"
	"github.com/callrec/callrec/internal/report"
	"github.com/callrec/callrec/internal/store"
	"github.com/callrec/callrec/internal/transcribe"
	"github.com/callrec/callrec/internal/transcript"
)

// ProcessOptions configures `callrec process`.
type ProcessOptions struct {
	// Input is a stereo WAV recording, or a transcript JSON (callrec's or
	// Amazon Transcribe Call Analytics output) to skip transcription.
	Input string
	// OutDir receives the outputs.
	OutDir string
	// Engine overrides transcribe.engine.
	Engine string
	// Progress receives progress; Terminal makes it a redrawn bar.
	Progress io.Writer
	Terminal bool
}

// Process runs the pipeline's stages on one file without a server or a
// queue, through the same Runner a server uses, and writes the outputs a
// call offers for download (the transcript and the reports) to opt.OutDir.
// It returns the paths written.
func Process(ctx context.Context, cfg *config.Config, opt ProcessOptions) ([]string, error) {
	if opt.Engine != "" {
		cfg.Transcribe.Engine = opt.Engine
	}
	if err := os.MkdirAll(opt.OutDir, 0o750); err != nil {
		return nil, fmt.Errorf("output directory: %w", err)
	}
	aopt, err := AnalyticsOptions(cfg)
	if err != nil {
		return nil, err
	}
	base := strings.TrimSuffix(filepath.Base(opt.Input), filepath.Ext(opt.Input))
	isJSON := strings.EqualFold(filepath.Ext(opt.Input), ".json")
	var rec *transcribe.Recording
	var engine transcribe.Engine
	if !isJSON {
		// Read the recording and make the engine first, so that a bad file
		// or engine fails before any work.
		if rec, err = pipeline.LoadRecording(opt.Input); err != nil {
			return nil, err
		}
		if engine, err = NewEngine(ctx, cfg); err != nil {
			return nil, err
		}
	}
	r := report.New(report.Options{})
	runner, err := pipeline.NewRunner(pipeline.Config{
		Engine: func() (transcribe.Engine, error) {
			if engine == nil {
				return nil, errors.New("no transcription engine: the input is a transcript")
			}
			return engine, nil
		},
		Analytics: aopt,
		// No call record: what the report says about the call comes from
		// the document (times and numbers are reported as not known).
		Renderer: renderFunc(func(ctx context.Context, _ *store.Call, doc *transcript.Document) (map[string][]byte, error) {
			call := report.CallFromDocument(doc)
			if call.ID == "" {
				call.ID = base
			}
			return r.Render(ctx, call, doc)
		}),
	})
	if err != nil {
		return nil, err
	}
	defer runner.Close()

	objects := &pipeline.MemObjects{}
	job := &pipeline.Job{Call: &store.Call{ID: base}, Objects: objects, AudioFile: filepath.Base(opt.Input)}
	var stages []string
	if isJSON {
		// A transcript already made: only rendering is left.
		doc, err := pipeline.ReadTranscript(opt.Input)
		if err != nil {
			return nil, err
		}
		b, err := pipeline.EncodeJSON(doc)
		if err != nil {
			return nil, err
		}
		if err := objects.Put(ctx, calls.Transcript, b); err != nil {
			return nil, err
		}
		stages = []string{calls.StageRender}
	} else {
		job.Recording = func(context.Context) (*transcribe.Recording, func(), error) { return rec, func() {}, nil }
		stages = []string{calls.StageTranscribe, calls.StageAnalyze, calls.StageRender}
		fmt.Fprintf(progressOut(opt.Progress), "%s of audio, engine %s\n", rec.Duration().Round(time.Second), cfg.Transcribe.Engine)
	}
	pr := newProgress(opt.Progress, opt.Terminal)
	if _, err := runner.Run(ctx, job, stages, func(i int, name string) { pr.step(i+1, len(stages), name) }); err != nil {
		return nil, err
	}
	var written []string
	for _, name := range objects.Names() {
		if !calls.Offered(name) {
			continue
		}
		data, err := objects.Get(ctx, name)
		if err != nil {
			return nil, err
		}
		path := filepath.Join(opt.OutDir, name)
		if err := os.WriteFile(path, data, 0o640); err != nil {
			return nil, fmt.Errorf("write %s: %w", path, err)
		}
		written = append(written, path)
	}
	pr.done()
	return written, nil
}

// renderFunc is a pipeline.Renderer made of a function.
type renderFunc func(ctx context.Context, call *store.Call, doc *transcript.Document) (map[string][]byte, error)

// Render implements pipeline.Renderer.
func (f renderFunc) Render(ctx context.Context, call *store.Call, doc *transcript.Document) (map[string][]byte, error) {
	return f(ctx, call, doc)
}

// progressOut is w, or a writer that discards when w is nil.
func progressOut(w io.Writer) io.Writer {
	if w == nil {
		return io.Discard
	}
	return w
}

// AnalyticsOptions builds analytics options from the config (categories
// file included).
func AnalyticsOptions(cfg *config.Config) (analytics.Options, error) {
	opt := analytics.Options{Language: cfg.Transcribe.Language}
	if f := cfg.Analytics.CategoriesFile; f != "" {
		rules, err := LoadCategories(f)
		if err != nil {
			return opt, fmt.Errorf("analytics.categories_file: %w", err)
		}
		opt.Categories = rules
	}
	return opt, nil
}

// progress prints stage progress: a redrawn bar on a terminal, plain lines
// otherwise.
type progress struct {
	w        io.Writer
	terminal bool
	start    time.Time
}

func newProgress(w io.Writer, terminal bool) *progress {
	return &progress{w: progressOut(w), terminal: terminal, start: time.Now()}
}

func (p *progress) step(i, n int, what string) {
	if p.terminal {
		const width = 20
		filled := width * (i - 1) / n
		fmt.Fprintf(p.w, "\r\033[K[%s%s] %d/%d %s…", strings.Repeat("#", filled), strings.Repeat(".", width-filled), i, n, what)
		return
	}
	fmt.Fprintf(p.w, "%d/%d %s\n", i, n, what)
}

func (p *progress) done() {
	took := time.Since(p.start).Round(100 * time.Millisecond)
	if p.terminal {
		fmt.Fprintf(p.w, "\r\033[K[%s] done in %s\n", strings.Repeat("#", 20), took)
		return
	}
	fmt.Fprintf(p.w, "done in %s\n", took)
}
