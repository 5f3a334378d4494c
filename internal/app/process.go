package app

import (
	"context"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/callrec/callrec/internal/analytics"
	"github.com/callrec/callrec/internal/config"
	"github.com/callrec/callrec/internal/pipeline"
	"github.com/callrec/callrec/internal/report"
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
// queue and writes every output to opt.OutDir. It returns the paths
// written.
func Process(ctx context.Context, cfg *config.Config, opt ProcessOptions) ([]string, error) {
	if opt.Engine != "" {
		cfg.Transcribe.Engine = opt.Engine
	}
	if err := os.MkdirAll(opt.OutDir, 0o750); err != nil {
		return nil, fmt.Errorf("output directory: %w", err)
	}
	pr := newProgress(opt.Progress, opt.Terminal)
	aopt, err := AnalyticsOptions(cfg)
	if err != nil {
		return nil, err
	}
	var written []string
	write := func(name string, data []byte) error {
		path := filepath.Join(opt.OutDir, name)
		if err := os.WriteFile(path, data, 0o640); err != nil {
			return fmt.Errorf("write %s: %w", path, err)
		}
		written = append(written, path)
		return nil
	}

	var doc *transcript.Document
	base := strings.TrimSuffix(filepath.Base(opt.Input), filepath.Ext(opt.Input))
	if strings.EqualFold(filepath.Ext(opt.Input), ".json") {
		pr.step(1, 3, "reading transcript")
		if doc, err = pipeline.ReadTranscript(opt.Input); err != nil {
			return nil, err
		}
	} else {
		pr.step(1, 4, "reading recording")
		rec, err := pipeline.LoadRecording(opt.Input)
		if err != nil {
			return nil, err
		}
		rec.CallID = base
		pr.step(2, 4, fmt.Sprintf("transcribing %s with %s", rec.Duration().Round(time.Second), cfg.Transcribe.Engine))
		engine, err := NewEngine(ctx, cfg)
		if err != nil {
			return nil, err
		}
		if c, ok := engine.(io.Closer); ok {
			defer c.Close()
		}
		words, err := pipeline.Transcribe(ctx, engine, rec)
		if err != nil {
			return nil, err
		}
		pr.step(3, 4, "analysing")
		if doc, err = pipeline.Analyze(rec, words, aopt); err != nil {
			return nil, err
		}
		if doc.CallrecMetadata != nil {
			doc.CallrecMetadata.AudioFile = filepath.Base(opt.Input)
		}
	}
	b, err := pipeline.EncodeJSON(doc)
	if err != nil {
		return nil, err
	}
	if err := write("transcript.json", b); err != nil {
		return nil, err
	}
	pr.step(4, 4, "rendering")
	// No call record: what the report says about the call comes from the
	// document (times and numbers are reported as not known).
	call := report.CallFromDocument(doc)
	if call.ID == "" {
		call.ID = base
	}
	files, err := report.New(report.Options{}).Render(ctx, call, doc)
	if err != nil {
		return nil, err
	}
	for name, data := range files {
		if err := write(name, data); err != nil {
			return nil, err
		}
	}
	pr.done()
	return written, nil
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
	if w == nil {
		w = io.Discard
	}
	return &progress{w: w, terminal: terminal, start: time.Now()}
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
