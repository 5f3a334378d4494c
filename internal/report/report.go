// Package report renders a call's transcript and analytics (a
// transcript.Document in Amazon Transcribe Call Analytics' schema) as the
// report the owner receives: a Word document (DOCX), the same report as one
// self-contained HTML file, and a PDF converted from the DOCX by LibreOffice
// when it is installed.
//
// The report, in order: the title and a call summary table; the talk-time
// split and the sentiment trend by quarter (charts); a timeline of the call
// (loudness per speaker, sentiment per turn, silences, interruptions and
// recording pauses); tables of categories, issues and action items,
// sentiment by quarter and talk speed; the turn-by-turn transcript, with the
// turns that carry an issue, a category match or an interruption
// highlighted and low-confidence words greyed; and, optionally, a histogram
// of word confidence.
//
// The owner is the AGENT of the transcript (recording channel 0) and the
// other party the CUSTOMER. Every optional field of the document may be
// missing: the report says what is not known rather than failing.
package report

import (
	"context"
	"errors"
	"fmt"
	"html/template"
	"log/slog"
	"os/exec"
	"slices"
	"sync"
	"time"

	"github.com/callrec/callrec/internal/calls"
	"github.com/callrec/callrec/internal/store"
	"github.com/callrec/callrec/internal/transcript"
)

// Format is an output format of the report.
type Format string

// The formats, and the file names Render gives them.
const (
	DOCX Format = "docx" // report.docx
	HTML Format = "html" // report.html
	PDF  Format = "pdf"  // report.pdf, converted from the DOCX by LibreOffice
)

// FileName returns the name Render gives a format's file, such as
// "report.docx".
func (f Format) FileName() string {
	switch f {
	case DOCX:
		return calls.ReportDOCX
	case HTML:
		return calls.ReportHTML
	case PDF:
		return calls.ReportPDF
	}
	return ""
}

// Formats lists every format, in the order Render makes them.
func Formats() []Format { return []Format{DOCX, HTML, PDF} }

// ParseFormat reads a format name ("docx", "html" or "pdf").
func ParseFormat(s string) (Format, error) {
	switch f := Format(s); f {
	case DOCX, HTML, PDF:
		return f, nil
	case "htm":
		return HTML, nil
	}
	return "", fmt.Errorf("unknown report format %q: want docx, html or pdf", s)
}

// Defaults of Options.
const (
	DefaultLowConfidence = 0.5
	DefaultPDFTimeout    = 5 * time.Minute
	DefaultChartDPI      = 300
)

// ErrNoLibreOffice says that PDF output needs LibreOffice and none was
// found. Render skips the PDF (and logs why) rather than failing; see
// Renderer.PDFAvailable.
var ErrNoLibreOffice = errors.New("LibreOffice (soffice) not found: install the Debian package libreoffice-writer-nogui or set the path to soffice")

// Options configure a Renderer. The zero value works: dates in the local
// time zone, "Owner" as the owner's name, every format.
type Options struct {
	// Location is the time zone of the dates in the report; nil means the
	// machine's local time zone.
	Location *time.Location
	// OwnerName names the owner in the report; empty means "Owner".
	OwnerName string
	// LowConfidence is the word confidence (0…1) below which a word is
	// greyed in the transcript; 0 means DefaultLowConfidence, a negative
	// value greys nothing.
	LowConfidence float64
	// ConfidenceHistogram adds a histogram of word confidence at the end.
	ConfidenceHistogram bool
	// Formats to render; empty means all of Formats().
	Formats []Format
	// SofficePath is LibreOffice's soffice program; empty means soffice or
	// libreoffice found on PATH.
	SofficePath string
	// PDFTimeout bounds one PDF conversion; 0 means DefaultPDFTimeout.
	PDFTimeout time.Duration
	// ChartDPI is the resolution of the chart images; 0 means
	// DefaultChartDPI (print quality).
	ChartDPI int
	// Now returns the time printed as the report's generation time; nil
	// means time.Now.
	Now func() time.Time
	// Logger receives the notice that the PDF is skipped; nil means
	// slog.Default().
	Logger *slog.Logger
}

// Renderer makes the report files of a call. It implements the pipeline's
// Renderer interface and is safe for concurrent use.
type Renderer struct {
	opt        Options
	html       *template.Template
	soffice    string
	sofficeErr error
	warnOnce   sync.Once
}

// New returns a Renderer with opt's defaults filled in. It looks up
// LibreOffice once, here.
func New(opt Options) *Renderer {
	if opt.Location == nil {
		opt.Location = time.Local
	}
	if opt.LowConfidence == 0 {
		opt.LowConfidence = DefaultLowConfidence
	}
	if len(opt.Formats) == 0 {
		opt.Formats = Formats()
	}
	if opt.PDFTimeout <= 0 {
		opt.PDFTimeout = DefaultPDFTimeout
	}
	if opt.ChartDPI <= 0 {
		opt.ChartDPI = DefaultChartDPI
	}
	if opt.Now == nil {
		opt.Now = time.Now
	}
	if opt.Logger == nil {
		opt.Logger = slog.Default()
	}
	// The template is a constant of this package: a parse error is a bug
	// that every test catches.
	tmpl, err := parseHTMLTemplate()
	if err != nil {
		panic(fmt.Sprintf("report: HTML template: %v", err))
	}
	r := &Renderer{opt: opt, html: tmpl}
	if slices.Contains(opt.Formats, PDF) {
		r.soffice, r.sofficeErr = findSoffice(opt.SofficePath)
	}
	return r
}

// findSoffice returns the path of LibreOffice's soffice program: path when
// set (looked up on PATH when it has no slash), else soffice or libreoffice
// on PATH.
func findSoffice(path string) (string, error) {
	names := []string{"soffice", "libreoffice"}
	if path != "" {
		names = []string{path}
	}
	for _, n := range names {
		if p, err := exec.LookPath(n); err == nil {
			return p, nil
		}
	}
	if path != "" {
		return "", fmt.Errorf("%w (%s is not an executable)", ErrNoLibreOffice, path)
	}
	return "", ErrNoLibreOffice
}

// PDFAvailable returns nil when Render can make PDFs, else an error wrapping
// ErrNoLibreOffice that says what to install. It is nil too when PDF is not
// among the Renderer's formats.
func (r *Renderer) PDFAvailable() error { return r.sofficeErr }

// Render makes the report files of a call: file name (report.docx,
// report.html, report.pdf) to content, for the formats of the Renderer's
// options. call may be nil (or lack fields): what it would say is then
// taken from the document or reported as unknown. When LibreOffice is
// missing the PDF is left out and a warning logged once; Render does not
// fail for it (see PDFAvailable).
func (r *Renderer) Render(ctx context.Context, call *store.Call, doc *transcript.Document) (map[string][]byte, error) {
	if doc == nil {
		return nil, errors.New("render report: no transcript document")
	}
	if call == nil {
		call = CallFromDocument(doc)
	}
	m := buildModel(call, doc, r.opt)
	charts, err := renderCharts(ctx, m, r.opt.ChartDPI, r.opt.ConfidenceHistogram)
	if err != nil {
		return nil, fmt.Errorf("render report charts for call %s: %w", m.CallID, err)
	}
	out := make(map[string][]byte, len(r.opt.Formats))
	var docx []byte
	needDOCX := slices.Contains(r.opt.Formats, DOCX) || (slices.Contains(r.opt.Formats, PDF) && r.sofficeErr == nil)
	if needDOCX {
		if docx, err = renderDOCX(m, charts); err != nil {
			return nil, fmt.Errorf("render DOCX report for call %s: %w", m.CallID, err)
		}
		if slices.Contains(r.opt.Formats, DOCX) {
			out[DOCX.FileName()] = docx
		}
	}
	if slices.Contains(r.opt.Formats, HTML) {
		html, err := renderHTML(r.html, m, charts)
		if err != nil {
			return nil, fmt.Errorf("render HTML report for call %s: %w", m.CallID, err)
		}
		out[HTML.FileName()] = html
	}
	if slices.Contains(r.opt.Formats, PDF) {
		if r.sofficeErr != nil {
			r.warnOnce.Do(func() {
				r.opt.Logger.Warn("PDF report skipped", "call_id", m.CallID, "reason", r.sofficeErr.Error())
			})
		} else {
			pdf, err := r.ConvertPDF(ctx, docx)
			if err != nil {
				return nil, fmt.Errorf("render PDF report for call %s: %w", m.CallID, err)
			}
			out[PDF.FileName()] = pdf
		}
	}
	return out, nil
}

// CallFromDocument builds the call record a report needs from the document
// alone, for a transcript rendered without one (callrec report): the call
// id from CallrecMetadata (else the job name) and the recording's length.
// Direction, numbers and times stay unknown.
func CallFromDocument(doc *transcript.Document) *store.Call {
	c := &store.Call{}
	if doc == nil {
		return c
	}
	c.ID = doc.JobName
	if md := doc.CallrecMetadata; md != nil {
		if md.CallID != "" {
			c.ID = md.CallID
		}
		c.RecordingDurationMS = md.DurationMillis
	}
	return c
}
