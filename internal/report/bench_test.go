package report

import (
	"context"
	"testing"
	"time"
)

// The render targets: a 10-minute call in under 1 s, a 2-hour call in
// under 10 s (DOCX with its charts; HTML likewise; the PDF conversion is
// LibreOffice's time and is not included).

func benchmarkRender(b *testing.B, d time.Duration, turns int, f Format) {
	doc := synthDoc(d, turns, 7)
	call := testCall("bench", d)
	r := New(Options{Formats: []Format{f}, Location: time.UTC})
	b.ReportAllocs()
	b.ResetTimer()
	for b.Loop() {
		files, err := r.Render(context.Background(), call, doc)
		if err != nil {
			b.Fatal(err)
		}
		b.SetBytes(int64(len(files[f.FileName()])))
	}
}

func BenchmarkRenderDOCX10Min(b *testing.B) { benchmarkRender(b, 10*time.Minute, 170, DOCX) }
func BenchmarkRenderDOCX2h(b *testing.B)    { benchmarkRender(b, 2*time.Hour, 2000, DOCX) }
func BenchmarkRenderHTML10Min(b *testing.B) { benchmarkRender(b, 10*time.Minute, 170, HTML) }
func BenchmarkRenderHTML2h(b *testing.B)    { benchmarkRender(b, 2*time.Hour, 2000, HTML) }
