package report

import (
	"bytes"
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/callrec/callrec/internal/transcript"
)

// TestPDFRendering renders reports with LibreOffice (DOCX → PDF) and reads
// them back with poppler: the headings and every turn are in the PDF's
// text, the page count is sane, and the first page is kept as a PNG test
// artifact (CALLREC_TEST_ARTIFACTS) to look at.
func TestPDFRendering(t *testing.T) {
	requireTools(t, "soffice", "pdftotext", "pdfinfo", "pdftoppm")
	for _, tc := range []struct {
		name               string
		doc                func(testing.TB) *transcript.Document
		minPages, maxPages int
	}{
		{"aws", goldenAWS, 2, 5},
		{"corpus", goldenCorpus, 2, 6},
		{"ten-minutes", func(testing.TB) *transcript.Document { return synthDoc(10*time.Minute, 170, 4) }, 5, 20},
		{"no-speech", func(testing.TB) *transcript.Document { return &transcript.Document{JobStatus: "COMPLETED"} }, 1, 2},
	} {
		t.Run(tc.name, func(t *testing.T) {
			doc := tc.doc(t)
			files := render(t, "pdf-"+tc.name, testCall("pdf-"+tc.name, doc.Duration()), doc, testOptions(DOCX, PDF))
			pdf := files["report.pdf"]
			if !bytes.HasPrefix(pdf, []byte("%PDF-")) {
				t.Fatalf("report.pdf does not start with %%PDF- (%d bytes)", len(pdf))
			}
			dir := artifactsDir(t)
			path := filepath.Join(dir, "pdf-"+tc.name+"-report.pdf")
			if err := os.WriteFile(path, pdf, 0o644); err != nil {
				t.Fatal(err)
			}

			info := run(t, "pdfinfo", path)
			m := regexp.MustCompile(`(?m)^Pages:\s+(\d+)`).FindStringSubmatch(info)
			if m == nil {
				t.Fatalf("pdfinfo: no page count:\n%s", info)
			}
			pages, _ := strconv.Atoi(m[1])
			if pages < tc.minPages || pages > tc.maxPages {
				t.Errorf("%d pages, want %d to %d", pages, tc.minPages, tc.maxPages)
			}
			t.Logf("%s: %d pages, %d bytes", tc.name, pages, len(pdf))

			words := pdfWords(run(t, "pdftotext", "-enc", "UTF-8", path, "-"))
			want := expectedHeadings(true)
			want = want[:len(want)-1] // the histogram only when there are words
			for _, h := range want {
				if !containsInOrder(words, h.Text) {
					t.Errorf("PDF text lacks the heading %q", h.Text)
				}
			}
			for i := range doc.Transcript {
				if txt := turnText(&doc.Transcript[i]); !containsInOrder(words, txt) {
					t.Errorf("PDF text lacks turn %d: %q", i, txt)
				}
			}

			png := filepath.Join(dir, "pdf-"+tc.name+"-page")
			run(t, "pdftoppm", "-png", "-r", "80", "-f", "1", "-l", "1", "-singlefile", path, png)
			if st, err := os.Stat(png + ".png"); err != nil || st.Size() == 0 {
				t.Errorf("first page PNG: %v", err)
			} else {
				t.Logf("first page: %s.png", png)
			}
		})
	}
}

// TestPDFTimeout checks that a conversion that takes too long is killed
// with a clear error.
func TestPDFTimeout(t *testing.T) {
	requireTools(t, "soffice")
	r := New(Options{Formats: []Format{PDF}, PDFTimeout: 50 * time.Millisecond})
	docx, err := renderDOCX(buildModel(CallFromDocument(goldenAWS(t)), goldenAWS(t), r.opt), chartSet{})
	if err != nil {
		t.Fatal(err)
	}
	_, err = r.ConvertPDF(context.Background(), docx)
	if err == nil || !strings.Contains(err.Error(), "did not finish within") {
		t.Fatalf("ConvertPDF = %v, want a timeout", err)
	}
}

// run runs a program and returns its standard output.
func run(t testing.TB, name string, args ...string) string {
	t.Helper()
	var out, errb bytes.Buffer
	cmd := exec.Command(name, args...)
	cmd.Stdout, cmd.Stderr = &out, &errb
	if err := cmd.Run(); err != nil {
		t.Fatalf("%s %s: %v: %s", name, strings.Join(args, " "), err, errb.String())
	}
	return out.String()
}

// pdfWords splits PDF text into words, undoing ligatures.
func pdfWords(s string) []string {
	s = strings.NewReplacer("ﬀ", "ff", "ﬁ", "fi", "ﬂ", "fl", "ﬃ", "ffi", "ﬄ", "ffl").Replace(s)
	return strings.Fields(s)
}

// containsInOrder reports whether the words of text appear in words in
// order, with at most a few dozen others between two of them: a table's
// other columns, or a page break (footer, repeated header row), may come
// between the lines of a cell.
func containsInOrder(words []string, text string) bool {
	want := strings.Fields(text)
	if len(want) == 0 {
		return true
	}
	for start := range words {
		if words[start] != want[0] {
			continue
		}
		k, gaps := 1, 0
		for i := start + 1; i < len(words) && k < len(want) && gaps < 40; i++ {
			if words[i] == want[k] {
				k++
				gaps = 0
			} else {
				gaps++
			}
		}
		if k == len(want) {
			return true
		}
	}
	return false
}
