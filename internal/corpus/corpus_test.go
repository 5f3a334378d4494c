package corpus

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

func TestScriptsShape(t *testing.T) {
	scripts := Scripts()
	if len(scripts) < 2 {
		t.Fatalf("%d built-in scripts, want at least 2", len(scripts))
	}
	interrupters := map[int]bool{}
	for _, s := range scripts {
		if err := s.Validate(); err != nil {
			t.Errorf("%s: %v", s.Name, err)
		}
		if s.Voices[0] == s.Voices[1] {
			t.Errorf("%s: both speakers use voice %s", s.Name, s.Voices[0])
		}
		long := map[time.Duration]bool{}
		for i, l := range s.Lines {
			if l.Gap >= MinSilence {
				long[l.Gap] = true
			}
			if l.Gap < 0 {
				interrupters[l.Speaker] = true
				if s.Lines[i-1].Speaker == l.Speaker {
					t.Errorf("%s line %d: overlaps its own speaker", s.Name, i)
				}
			}
		}
		if len(long) < 2 {
			t.Errorf("%s: %d distinct silences of %v or more, want 2", s.Name, len(long), MinSilence)
		}
		all := strings.ToLower(s.Name + " " + text(s))
		for _, want := range []string{"problem with", "will send you", "call me back"} {
			if !strings.Contains(all, want) {
				t.Errorf("%s: no %q", s.Name, want)
			}
		}
	}
	if !interrupters[Agent] || !interrupters[Customer] {
		t.Errorf("interrupters %v: want each speaker to interrupt once", interrupters)
	}
}

func text(s Script) string {
	var b strings.Builder
	for _, l := range s.Lines {
		b.WriteString(l.Text)
		b.WriteByte(' ')
	}
	return b.String()
}

func TestValidate(t *testing.T) {
	ok := Script{Name: "x", Voices: [2]string{"rms", "awb"}, Lines: []Line{{Agent, "hello", 0}}}
	tests := []struct {
		name   string
		change func(*Script)
		want   string
	}{
		{"ok", func(*Script) {}, ""},
		{"bad name", func(s *Script) { s.Name = "a b" }, "script name"},
		{"no voice", func(s *Script) { s.Voices[1] = "" }, "voice of speaker 1"},
		{"no lines", func(s *Script) { s.Lines = nil }, "no lines"},
		{"bad speaker", func(s *Script) { s.Lines[0].Speaker = 2 }, "speaker 2"},
		{"no text", func(s *Script) { s.Lines[0].Text = " " }, "no text"},
		{"before start", func(s *Script) { s.Lines[0].Gap = -time.Second }, "before the recording"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			s := ok
			s.Lines = append([]Line(nil), ok.Lines...)
			tc.change(&s)
			err := s.Validate()
			if tc.want == "" {
				if err != nil {
					t.Fatalf("Validate: %v", err)
				}
				return
			}
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("Validate = %v, want an error with %q", err, tc.want)
			}
		})
	}
}

func TestPlaceTruth(t *testing.T) {
	const rate = 1000
	s := Script{Name: "t", Voices: [2]string{"a", "b"}, Lines: []Line{
		{Agent, "one", 0},
		{Customer, "two", 500 * time.Millisecond},
		{Agent, "three", -300 * time.Millisecond},
		{Customer, "four", 4 * time.Second},
	}}
	lines := [][]int16{make([]int16, 1000), make([]int16, 2000), make([]int16, 1000), make([]int16, 500)}
	tr, err := place(s, lines, rate)
	if err != nil {
		t.Fatal(err)
	}
	want := []Segment{
		{Agent, 500 * time.Millisecond, 1500 * time.Millisecond, "one"},
		{Customer, 2000 * time.Millisecond, 4000 * time.Millisecond, "two"},
		{Agent, 3700 * time.Millisecond, 4700 * time.Millisecond, "three"},
		{Customer, 8700 * time.Millisecond, 9200 * time.Millisecond, "four"},
	}
	for i := range want {
		if tr.Segments[i] != want[i] {
			t.Errorf("segment %d = %+v, want %+v", i, tr.Segments[i], want[i])
		}
	}
	if len(tr.Overlaps) != 1 || tr.Overlaps[0] != (Overlap{Agent, 3700 * time.Millisecond, 4000 * time.Millisecond}) {
		t.Errorf("overlaps %+v", tr.Overlaps)
	}
	if len(tr.Silences) != 1 || tr.Silences[0] != (Span{4700 * time.Millisecond, 8700 * time.Millisecond}) {
		t.Errorf("silences %+v", tr.Silences)
	}
	if tr.TalkTime != [2]time.Duration{2 * time.Second, 2500 * time.Millisecond} {
		t.Errorf("talk time %v", tr.TalkTime)
	}
	if tr.Duration != 10200*time.Millisecond {
		t.Errorf("duration %v", tr.Duration)
	}
	s.Lines[2].Gap = -3 * time.Second // would overlap line 0 of the same speaker
	if _, err := place(s, lines, rate); err == nil || !strings.Contains(err.Error(), "same speaker") {
		t.Errorf("self-overlap: %v", err)
	}
}

func TestTrim(t *testing.T) {
	x := make([]int16, 8000)
	for i := 2000; i < 6000; i++ {
		x[i] = int16(3000 * (i%7 - 3))
	}
	y := trim(x, 8000)
	if len(y) < 4000 || len(y) > 4080 {
		t.Errorf("trimmed to %d samples, want about 4000", len(y))
	}
	if trim(make([]int16, 100), 8000) != nil {
		t.Error("silence not trimmed to nothing")
	}
}

func TestWords(t *testing.T) {
	tr := Truth{Segments: []Segment{
		{Customer, time.Second, 2 * time.Second, "b c"},
		{Agent, 0, 3 * time.Second, "a, b d."},
	}}
	w := tr.Words()
	if len(w) != 5 {
		t.Fatalf("%d words", len(w))
	}
	if w[0].Text != "a," || w[0].End != time.Second || w[len(w)-1].Text != "d." {
		t.Errorf("words %+v", w)
	}
	for i := 1; i < len(w); i++ {
		if w[i].Start < w[i-1].Start {
			t.Errorf("word %d out of order", i)
		}
	}
	if got := tr.Text(Agent); got != "a, b d." {
		t.Errorf("Text = %q", got)
	}
}

func TestSynthesize(t *testing.T) {
	Require(t)
	dir := t.TempDir()
	ctx := context.Background()
	for _, rate := range []int{16000, 8000} {
		for _, s := range Scripts() {
			start := time.Now()
			path, tr, err := Synthesize(ctx, s, dir, rate)
			if err != nil {
				t.Fatal(err)
			}
			t.Logf("%s at %d Hz: %v long, talk %v, %d silences, %d overlaps, rendered in %v",
				s.Name, rate, tr.Duration, tr.TalkTime, len(tr.Silences), len(tr.Overlaps), time.Since(start).Round(time.Millisecond))
			if tr.Duration < 40*time.Second || tr.Duration > 90*time.Second {
				t.Errorf("%s: %v long, want 40 to 90 s", s.Name, tr.Duration)
			}
			if len(tr.Silences) < 2 || len(tr.Overlaps) < 2 {
				t.Errorf("%s: %d silences, %d overlaps", s.Name, len(tr.Silences), len(tr.Overlaps))
			}
			rec, err := Load(path)
			if err != nil {
				t.Fatal(err)
			}
			if rec.SampleRate != rate || len(rec.Channels) != 2 || rec.Duration() != tr.Duration {
				t.Errorf("%s: %d Hz, %d channels, %v long; truth %v", s.Name, rec.SampleRate, len(rec.Channels), rec.Duration(), tr.Duration)
			}
			// A cached rendering comes back identical, from the file made
			// the first time (not rendered again).
			before, err := os.Stat(path)
			if err != nil {
				t.Fatal(err)
			}
			path2, tr2, err := Synthesize(ctx, s, dir, rate)
			if err != nil || path2 != path || len(tr2.Segments) != len(tr.Segments) || tr2.Segments[3] != tr.Segments[3] {
				t.Errorf("cache: %v %s %+v", err, path2, tr2.Segments)
			}
			if after, err := os.Stat(path); err != nil || !after.ModTime().Equal(before.ModTime()) || !os.SameFile(before, after) {
				t.Errorf("cache hit rendered the file again: %v", err)
			}
		}
	}
}

func TestSynthesizeErrors(t *testing.T) {
	Require(t)
	ctx := context.Background()
	s := Script{Name: "bad-voice", Voices: [2]string{"no-such-voice", "rms"}, Lines: []Line{{Agent, "hello", 0}}}
	if _, _, err := Synthesize(ctx, s, t.TempDir(), 8000); err == nil || !strings.Contains(err.Error(), "no-such-voice") {
		t.Errorf("unknown voice: %v", err)
	}
	if _, _, err := Synthesize(ctx, Scripts()[0], t.TempDir(), 0); err == nil {
		t.Error("rate 0 accepted")
	}
	t.Setenv("PATH", t.TempDir())
	err := CheckTools()
	if err == nil || !strings.Contains(err.Error(), "flite") || !strings.Contains(err.Error(), "apt-get install") {
		t.Errorf("CheckTools without tools = %v", err)
	}
	if _, _, err := Synthesize(ctx, Scripts()[0], t.TempDir(), 8000); err == nil || !strings.Contains(err.Error(), "flite") {
		t.Errorf("Synthesize without tools = %v", err)
	}
}

type fakeTB struct{ skipped, failed bool }

func (f *fakeTB) Helper()               {}
func (f *fakeTB) Skipf(string, ...any)  { f.skipped = true }
func (f *fakeTB) Fatalf(string, ...any) { f.failed = true }

func TestRequire(t *testing.T) {
	t.Setenv("PATH", t.TempDir())
	for _, ci := range []string{"", "true"} {
		t.Setenv("CI", ci)
		var f fakeTB
		Require(&f)
		if f.failed != (ci == "true") || f.skipped != (ci != "true") {
			t.Errorf("CI=%q: skipped %v failed %v", ci, f.skipped, f.failed)
		}
	}
}

func TestDefaultDir(t *testing.T) {
	t.Setenv("XDG_CACHE_HOME", t.TempDir())
	t.Setenv("HOME", t.TempDir())
	dir, err := DefaultDir()
	if err != nil {
		t.Fatal(err)
	}
	if fi, err := os.Stat(dir); err != nil || !fi.IsDir() || filepath.Base(dir) != "corpus" {
		t.Errorf("DefaultDir = %s, %v", dir, err)
	}
}

func TestLong(t *testing.T) {
	s := Long("long", 40)
	if len(s.Lines) != 40 || s.Validate() != nil {
		t.Fatalf("%d lines, %v", len(s.Lines), s.Validate())
	}
	n := len(Scripts()[0].Lines)
	if s.Lines[n].Gap != 2*time.Second || s.Lines[n].Text != Scripts()[1].Lines[0].Text {
		t.Errorf("line %d: %+v", n, s.Lines[n])
	}
}
