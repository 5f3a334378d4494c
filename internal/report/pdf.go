package report

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"time"
)

// ConvertPDF converts a DOCX to PDF with LibreOffice:
//
//	soffice -env:UserInstallation=file:///tmp/… --headless --convert-to pdf --outdir DIR FILE.docx
//
// It runs in a private temporary directory with a fresh LibreOffice
// profile (so conversions can run side by side and never touch a user's
// profile), is bounded by the Renderer's PDFTimeout and ctx, and kills
// LibreOffice's whole process group when either runs out. It returns an
// error wrapping ErrNoLibreOffice when LibreOffice is missing.
func (r *Renderer) ConvertPDF(ctx context.Context, docx []byte) ([]byte, error) {
	if r.sofficeErr != nil {
		return nil, r.sofficeErr
	}
	soffice := r.soffice
	if soffice == "" {
		var err error
		if soffice, err = findSoffice(r.opt.SofficePath); err != nil {
			return nil, err
		}
	}
	dir, err := os.MkdirTemp("", "callrec-pdf-")
	if err != nil {
		return nil, fmt.Errorf("PDF conversion: %w", err)
	}
	defer os.RemoveAll(dir)
	in := filepath.Join(dir, DOCX.FileName())
	if err := os.WriteFile(in, docx, 0o600); err != nil {
		return nil, fmt.Errorf("PDF conversion: %w", err)
	}
	profile := (&url.URL{Scheme: "file", Path: filepath.ToSlash(filepath.Join(dir, "profile"))}).String()
	out := filepath.Join(dir, "out")

	ctx, cancel := context.WithTimeout(ctx, r.opt.PDFTimeout)
	defer cancel()
	cmd := exec.CommandContext(ctx, soffice,
		"-env:UserInstallation="+profile,
		"--headless", "--invisible", "--nodefault", "--nolockcheck", "--nologo", "--norestore",
		"--convert-to", "pdf", "--outdir", out, in)
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), "HOME="+dir)
	var output bytes.Buffer
	cmd.Stdout, cmd.Stderr = &output, &output
	killGroup(cmd)
	cmd.WaitDelay = 5 * time.Second
	start := time.Now()
	runErr := cmd.Run()
	if ctx.Err() != nil {
		if errors.Is(ctx.Err(), context.DeadlineExceeded) {
			return nil, fmt.Errorf("PDF conversion: LibreOffice did not finish within %s (killed)", r.opt.PDFTimeout)
		}
		return nil, fmt.Errorf("PDF conversion: %w", ctx.Err())
	}
	pdf, err := os.ReadFile(filepath.Join(out, PDF.FileName()))
	if err != nil || len(pdf) == 0 {
		msg := strings.TrimSpace(output.String())
		if len(msg) > 600 {
			msg = msg[len(msg)-600:]
		}
		if runErr != nil {
			return nil, fmt.Errorf("PDF conversion: %s: %v: %s", soffice, runErr, msg)
		}
		return nil, fmt.Errorf("PDF conversion: %s wrote no PDF after %s: %s", soffice, time.Since(start).Round(time.Millisecond), msg)
	}
	return pdf, nil
}
