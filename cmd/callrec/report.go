package main

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/signal"
	"path/filepath"
	"strings"
	"syscall"
	"time"

	"github.com/spf13/cobra"

	"github.com/callrec/callrec/internal/report"
	"github.com/callrec/callrec/internal/transcript"
)

// reportOptions are the flags of `callrec report`.
type reportOptions struct {
	out           string  // --out
	format        string  // --format
	tz            string  // --tz
	owner         string  // --owner
	lowConfidence float64 // --low-confidence
	histogram     bool    // --histogram
	soffice       string  // --soffice
}

// newReportCmd is `callrec report`.
func newReportCmd() *cobra.Command {
	var o reportOptions
	cmd := &cobra.Command{
		Use:   "report FILE.json",
		Short: "render a transcript JSON as a report",
		Long: `Renders a transcript JSON (callrec's, or Amazon Transcribe Call Analytics output) as the
call report: a Word document, a self-contained HTML page, or a PDF (through LibreOffice's
soffice). The path written is printed.`,
		Example: `  callrec report transcript.json --out report.docx
  callrec report transcript.json --format html --tz Europe/London --owner Alice
  callrec report transcript.json --out report.pdf --histogram --low-confidence 0.5`,
		Args: exactArgs(1, "report needs exactly one transcript FILE.json"),
		ValidArgsFunction: func(_ *cobra.Command, args []string, _ string) ([]cobra.Completion, cobra.ShellCompDirective) {
			if len(args) > 0 {
				return nil, cobra.ShellCompDirectiveNoFileComp
			}
			return []cobra.Completion{"json"}, cobra.ShellCompDirectiveFilterFileExt
		},
		RunE: work(func(cmd *cobra.Command, args []string) error {
			return cmdReport(cmd.Context(), args[0], o, cmd.OutOrStdout(), cmd.ErrOrStderr())
		}),
	}
	f := cmd.Flags()
	f.StringVar(&o.out, "out", "", "write the report to `FILE` (default: FILE.json's name with the format's extension, beside it)")
	f.StringVar(&o.format, "format", "", "the report's `FORMAT`: docx, html or pdf (default: from --out's extension, else docx)")
	f.StringVar(&o.tz, "tz", "", "time `ZONE` of the dates, an IANA name such as Europe/London (default: local)")
	f.StringVar(&o.owner, "owner", "", "the owner's `NAME` in the report (default: Owner)")
	f.Float64Var(&o.lowConfidence, "low-confidence", report.DefaultLowConfidence, "grey words recognised with a confidence below `LEVEL` (0…1; 0 greys none)")
	f.BoolVar(&o.histogram, "histogram", false, "add a histogram of word confidence")
	f.StringVar(&o.soffice, "soffice", "", "LibreOffice's soffice `PROGRAM` for --format pdf (default: soffice on PATH)")
	_ = cmd.MarkFlagFilename("out", "docx", "html", "pdf")
	_ = cmd.RegisterFlagCompletionFunc("format", cobra.FixedCompletions([]cobra.Completion{"docx", "html", "pdf"}, cobra.ShellCompDirectiveNoFileComp))
	_ = cmd.RegisterFlagCompletionFunc("tz", cobra.NoFileCompletions)
	return cmd
}

// cmdReport renders the transcript in input as one report and prints the
// path written.
func cmdReport(ctx context.Context, input string, o reportOptions, stdout, stderr io.Writer) error {
	var f report.Format
	switch {
	case o.format != "":
		var err error
		if f, err = report.ParseFormat(strings.ToLower(o.format)); err != nil {
			return usageError{err.Error()}
		}
	case o.out != "":
		ext := strings.ToLower(strings.TrimPrefix(filepath.Ext(o.out), "."))
		var err error
		if f, err = report.ParseFormat(ext); err != nil {
			return usageError{fmt.Sprintf("cannot tell the format from --out %s: name it .docx, .html or .pdf, or add --format", o.out)}
		}
	default:
		f = report.DOCX
	}
	path := o.out
	if path == "" {
		path = strings.TrimSuffix(input, filepath.Ext(input)) + "." + string(f)
	}
	if o.lowConfidence < 0 || o.lowConfidence > 1 {
		return usageError{"--low-confidence must be between 0 and 1"}
	}
	loc := time.Local
	if o.tz != "" {
		var err error
		if loc, err = time.LoadLocation(o.tz); err != nil {
			return usageError{fmt.Sprintf("--tz %q: unknown time zone (use an IANA name such as Europe/London, or UTC)", o.tz)}
		}
	}
	fh, err := os.Open(input)
	if err != nil {
		return fmt.Errorf("read transcript: %w", err)
	}
	doc, err := transcript.Decode(fh)
	fh.Close()
	if err != nil {
		return fmt.Errorf("%s: %w", input, err)
	}
	lc := o.lowConfidence
	if lc == 0 {
		lc = -1 // grey nothing
	}
	r := report.New(report.Options{
		Location: loc, OwnerName: o.owner, LowConfidence: lc, ConfidenceHistogram: o.histogram,
		Formats: []report.Format{f}, SofficePath: o.soffice,
		Logger: slog.New(slog.NewTextHandler(stderr, nil)),
	})
	if f == report.PDF {
		if err := r.PDFAvailable(); err != nil {
			return fmt.Errorf("--format pdf: %w (or render --format docx or html)", err)
		}
	}
	ctx, stop := signal.NotifyContext(ctx, syscall.SIGTERM, syscall.SIGINT)
	defer stop()
	files, err := r.Render(ctx, report.CallFromDocument(doc), doc)
	if err != nil {
		return err
	}
	data, ok := files[f.FileName()]
	if !ok {
		return fmt.Errorf("no %s was rendered", f.FileName())
	}
	if err := os.WriteFile(path, data, 0o640); err != nil {
		return fmt.Errorf("write report: %w", err)
	}
	fmt.Fprintln(stdout, path)
	return nil
}
