//go:build cgo && !nosphinx

package sphinx

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"os"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/callrec/callrec/internal/transcribe"
	"github.com/callrec/callrec/internal/transcribe/resample"
)

// script is a two-party call: the owner (channel 0) speaks with flite's rms
// voice, the other party (channel 1) with awb; they take turns, with
// silences between the lines.
var script = []line{
	{0, "rms", "Hello, this is David calling about the invoice you sent last week."},
	{1, "awb", "Thank you for calling. Let me find your account."},
	{0, "rms", "I think the amount on the second page is wrong."},
	{1, "awb", "I can see the problem. We charged you twice for the same order."},
	{0, "rms", "Can you send me a new invoice by email today?"},
	{1, "awb", "Yes, I will send it this afternoon and call you back tomorrow morning."},
	{0, "rms", "That would be great. Thank you very much for your help."},
	{1, "awb", "You are welcome. Have a nice day."},
}

var (
	engineOnce sync.Once
	engine     *Engine
	engineErr  error
)

// testEngine returns one engine for the package's tests (loading the
// models takes a second per decoder). TestMain closes it.
func testEngine(tb testing.TB) *Engine {
	tb.Helper()
	needTools(tb)
	engineOnce.Do(func() { engine, engineErr = New(Config{}) })
	if engineErr != nil {
		tb.Fatal(engineErr)
	}
	return engine
}

func TestMain(m *testing.M) {
	code := m.Run()
	if engine != nil {
		engine.Close()
	}
	os.Exit(code)
}

func TestConversation16k(t *testing.T) {
	e := testEngine(t)
	rec, lines := conversation(t, script, 16000, 700*time.Millisecond, 1200*time.Millisecond)
	start := time.Now()
	res := transcribeOK(t, e, rec)
	t.Logf("decoded %v of 2-channel audio in %v", rec.Duration(), time.Since(start))
	if res.Engine != "sphinx" || res.Language != "en-US" {
		t.Errorf("Engine %q Language %q", res.Engine, res.Language)
	}
	w := conversationWER(t, res, lines)
	t.Logf("16 kHz WER %.1f%%", 100*w)
	if w > 0.25 {
		t.Errorf("16 kHz WER %.1f%%, want ≤ 25%%", 100*w)
	}
	checkPlacement(t, res, lines)
}

func TestConversation8k(t *testing.T) {
	e := testEngine(t)
	rec, lines := conversation(t, script, 8000, 700*time.Millisecond, 1200*time.Millisecond)
	res := transcribeOK(t, e, rec)
	w := conversationWER(t, res, lines)
	// Narrowband (mu-law, 8 kHz) audio upsampled for a 16 kHz model is
	// clearly worse; the bound only catches a broken pipeline.
	t.Logf("8 kHz (mu-law) WER %.1f%%", 100*w)
	if w > 0.60 {
		t.Errorf("8 kHz WER %.1f%%, want ≤ 60%%", 100*w)
	}
	checkPlacement(t, res, lines)
}

// TestVoices measures each flite voice alone, at 16 and 8 kHz, and logs the
// word error rates (slt, a female voice, is known to fare worst with the
// en-us model). Only a broken decode fails it.
func TestVoices(t *testing.T) {
	e := testEngine(t)
	texts := []string{
		"Please call me back tomorrow morning about the invoice.",
		"The meeting has been moved to Thursday afternoon.",
		"I would like to check the status of my order.",
	}
	for _, voice := range []string{"rms", "awb", "slt"} {
		for _, rate := range []int{16000, 8000} {
			var lines []line
			for _, s := range texts {
				lines = append(lines, line{0, voice, s})
			}
			rec, placedLines := conversation(t, lines, rate, 500*time.Millisecond, time.Second)
			res := transcribeOK(t, e, rec)
			var ref strings.Builder
			for _, l := range placedLines {
				ref.WriteString(l.Text + " ")
			}
			w, edits, n := wer(ref.String(), channelText(res, 0))
			t.Logf("voice %s at %d Hz: WER %.1f%% (%d/%d): %s", voice, rate, 100*w, edits, n, channelText(res, 0))
			if w > 0.9 {
				t.Errorf("voice %s at %d Hz: WER %.1f%%: the decoder recognised almost nothing", voice, rate, 100*w)
			}
		}
	}
}

// checkPlacement checks that every word is on the channel of a line and
// inside that line's span (with 250 ms of slack for the padding), and that
// times and confidences are sane.
func checkPlacement(t *testing.T, res *transcribe.Result, lines []placed) {
	t.Helper()
	const slack = 250 * time.Millisecond
	if len(res.Words) == 0 {
		t.Fatal("no words")
	}
	var prev transcribe.Word
	for i, w := range res.Words {
		if w.End <= w.Start || w.Start < 0 {
			t.Errorf("word %d %q: start %v end %v", i, w.Text, w.Start, w.End)
		}
		if w.Confidence < 0 || w.Confidence > 1 {
			t.Errorf("word %d %q: confidence %v", i, w.Text, w.Confidence)
		}
		if w.Text == "" || strings.ContainsAny(w.Text, "()<>[]+") {
			t.Errorf("word %d: text %q not cleaned", i, w.Text)
		}
		if i > 0 && w.Channel == prev.Channel && w.Start < prev.Start {
			t.Errorf("word %d %q at %v before previous %q at %v on channel %d", i, w.Text, w.Start, prev.Text, prev.Start, w.Channel)
		}
		prev = w
		inside := false
		for _, l := range lines {
			if l.Channel == w.Channel && w.Start >= l.Start-slack && w.End <= l.End+slack {
				inside = true
				break
			}
		}
		if !inside {
			t.Errorf("word %q on channel %d at %v–%v is in no span of that channel's lines", w.Text, w.Channel, w.Start, w.End)
		}
	}
	// Each line's words are mostly found within its span.
	for _, l := range lines {
		var hyp []string
		for _, w := range res.Words {
			if w.Channel == l.Channel && w.Start >= l.Start-slack && w.End <= l.End+slack {
				hyp = append(hyp, w.Text)
			}
		}
		r, _, _ := wer(l.Text, strings.Join(hyp, " "))
		if r > 0.75 {
			t.Errorf("line %q (channel %d, %v–%v): WER %.0f%% within its span: %q", l.Text, l.Channel, l.Start, l.End, 100*r, hyp)
		}
	}
}

func TestRobustness(t *testing.T) {
	e := testEngine(t)
	rng := rand.New(rand.NewPCG(1, 2))
	noise := func(n int, amp float64) []int16 {
		s := make([]int16, n)
		for i := range s {
			v := rng.NormFloat64() * amp
			s[i] = int16(max(min(v, 32767), -32768))
		}
		return s
	}
	tests := []struct {
		name string
		rec  *transcribe.Recording
	}{
		{"no channels", &transcribe.Recording{SampleRate: 8000}},
		{"empty channels", &transcribe.Recording{SampleRate: 8000, Channels: [][]int16{{}, {}}}},
		{"nil channel", &transcribe.Recording{SampleRate: 16000, Channels: [][]int16{nil}}},
		{"all zero", &transcribe.Recording{SampleRate: 8000, Channels: [][]int16{make([]int16, 8000*5), make([]int16, 8000*5)}}},
		{"10 ms", &transcribe.Recording{SampleRate: 8000, Channels: [][]int16{noise(80, 3000), {1}}}},
		{"one sample", &transcribe.Recording{SampleRate: 16000, Channels: [][]int16{{32767}}}},
		{"clipped noise", &transcribe.Recording{SampleRate: 8000, Channels: [][]int16{noise(8000*3, 40000), noise(8000*3, 40000)}}},
		{"noise bursts", &transcribe.Recording{SampleRate: 8000, Channels: [][]int16{append(append(make([]int16, 8000), noise(4000, 40000)...), make([]int16, 8000)...)}}},
		{"48 kHz noise", &transcribe.Recording{SampleRate: 48000, Channels: [][]int16{noise(48000, 2000)}}},
		{"odd rate", &transcribe.Recording{SampleRate: 11025, Channels: [][]int16{noise(11025, 30000), noise(100, 10)}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			res, err := e.Transcribe(context.Background(), tt.rec)
			if err != nil {
				t.Fatalf("Transcribe: %v", err)
			}
			if res.Words == nil {
				t.Error("Words is nil, want an empty slice")
			}
			d := tt.rec.Duration()
			for _, w := range res.Words {
				if w.Start < 0 || w.End < w.Start || w.End > d+300*time.Millisecond || w.Channel >= len(tt.rec.Channels) {
					t.Errorf("insane word %+v in a %v recording", w, d)
				}
			}
			t.Logf("%d words", len(res.Words))
		})
	}
	for _, rec := range []*transcribe.Recording{nil, {SampleRate: 0, Channels: [][]int16{{1, 2}}}, {SampleRate: -8000, Channels: [][]int16{{1}}}} {
		if _, err := e.Transcribe(context.Background(), rec); err == nil {
			t.Errorf("Transcribe(%+v): no error", rec)
		}
	}
}

// TestDecoderOddInput feeds the decoder itself, past the voice activity
// detector, utterances no real segment would be: it must not crash, and
// whatever it returns must lie within the audio.
func TestDecoderOddInput(t *testing.T) {
	e := testEngine(t)
	d := <-e.pool
	defer func() { e.pool <- d }()
	rng := rand.New(rand.NewPCG(3, 4))
	clipped := make([]int16, 16000*2)
	for i := range clipped {
		if rng.IntN(2) == 0 {
			clipped[i] = 32767
		} else {
			clipped[i] = -32768
		}
	}
	square := make([]int16, 16000)
	for i := range square {
		square[i] = int16(20000 * (1 - 2*((i/40)%2)))
	}
	for name, s := range map[string][]int16{
		"empty":         nil,
		"one sample":    {100},
		"10 ms":         make([]int16, 160),
		"25 ms":         make([]int16, 400),
		"1 s zeros":     make([]int16, 16000),
		"clipped noise": clipped,
		"square wave":   square,
	} {
		words, err := d.decode(s, e.frameRate)
		if err != nil {
			t.Errorf("%s: %v", name, err)
			continue
		}
		dur := time.Duration(len(s)) * time.Second / sampleRate
		for _, w := range words {
			if w.Start < 0 || w.End < w.Start || w.End > dur+20*time.Millisecond {
				t.Errorf("%s (%v): word %+v outside the audio", name, dur, w)
			}
		}
		t.Logf("%s: %d words", name, len(words))
	}
}

func TestCancel(t *testing.T) {
	e := testEngine(t)
	rec, _ := conversation(t, script[:4], 8000, 300*time.Millisecond, 800*time.Millisecond)
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, err := e.Transcribe(ctx, rec); !errors.Is(err, context.Canceled) {
		t.Errorf("cancelled context: err = %v, want context.Canceled", err)
	}
	// A deadline that expires mid-way stops between segments: had the
	// engine not looked, it would finish and return no error.
	ctx, cancel = context.WithTimeout(context.Background(), 50*time.Millisecond)
	defer cancel()
	_, err := e.Transcribe(ctx, rec)
	if !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("deadline: err = %v, want context.DeadlineExceeded", err)
	}
	// The engine still works afterwards (decoders returned to the pool).
	if _, err := e.Transcribe(context.Background(), rec); err != nil {
		t.Errorf("after cancellation: %v", err)
	}
}

func TestConcurrentTranscribe(t *testing.T) {
	e := testEngine(t)
	rec, _ := conversation(t, script[:2], 8000, 300*time.Millisecond, 800*time.Millisecond)
	want := channelText(transcribeOK(t, e, rec), 0) + "|" + channelText(transcribeOK(t, e, rec), 1)
	var wg sync.WaitGroup
	for range 4 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			res, err := e.Transcribe(context.Background(), rec)
			if err != nil {
				t.Error(err)
				return
			}
			if got := channelText(res, 0) + "|" + channelText(res, 1); got != want {
				t.Errorf("concurrent result %q, want %q (decoders must not share state)", got, want)
			}
		}()
	}
	wg.Wait()
}

// TestOrderIndependent checks that a segment's words do not depend on what
// the decoder decoded before it. Without the warm-up utterance this very
// case (the other party's first line at 8 kHz, decoded twice in a row)
// gave "let me find your kind" the first time and "… your opponent" the
// second.
func TestOrderIndependent(t *testing.T) {
	e := testEngine(t)
	rec, _ := conversation(t, script[:2], 8000, 300*time.Millisecond, 800*time.Millisecond)
	var segs [][]int16
	for _, ch := range rec.Channels {
		x, err := resample.Resample(ch, rec.SampleRate, sampleRate)
		if err != nil {
			t.Fatal(err)
		}
		for _, s := range segments(x, sampleRate, e.vad) {
			segs = append(segs, x[s.Start:s.End])
		}
	}
	d := <-e.pool
	defer func() { e.pool <- d }()
	text := func(s []int16) string {
		words, err := d.decode(s, e.frameRate)
		if err != nil {
			t.Fatal(err)
		}
		var out []string
		for _, w := range words {
			out = append(out, w.Text)
		}
		return strings.Join(out, " ")
	}
	for i, target := range segs {
		text(segs[(i+1)%len(segs)])
		first := text(target) // after another segment
		if again := text(target); again != first {
			t.Errorf("segment %d: %q after another segment, %q after itself", i, first, again)
		}
	}
}

func TestNewAndClose(t *testing.T) {
	needTools(t)
	e, err := New(Config{Workers: 1})
	if err != nil {
		t.Fatal(err)
	}
	if e.Name() != "sphinx" {
		t.Errorf("Name %q", e.Name())
	}
	rec := &transcribe.Recording{SampleRate: 8000, Channels: [][]int16{make([]int16, 800)}}
	if _, err := e.Transcribe(context.Background(), rec); err != nil {
		t.Fatal(err)
	}
	if err := e.Close(); err != nil {
		t.Fatal(err)
	}
	if err := e.Close(); err != nil {
		t.Fatalf("second Close: %v", err)
	}
	if _, err := e.Transcribe(context.Background(), rec); !errors.Is(err, ErrClosed) {
		t.Errorf("after Close: err = %v, want ErrClosed", err)
	}
}

func TestNewMissingModel(t *testing.T) {
	dir := t.TempDir()
	tests := []struct {
		cfg  Config
		want string
	}{
		{Config{ModelDir: dir + "/nope"}, "pocketsphinx-en-us"},
		{Config{ModelDir: dir}, "mdef"},
		{Config{Dict: dir + "/missing.dict"}, "missing.dict"},
		{Config{LM: dir + "/missing.lm.bin"}, "missing.lm.bin"},
	}
	for _, tt := range tests {
		_, err := New(tt.cfg)
		if err == nil || !strings.Contains(err.Error(), tt.want) || !strings.Contains(err.Error(), "pocketsphinx-en-us") {
			t.Errorf("New(%+v): err = %v, want one naming %q and the package", tt.cfg, err, tt.want)
		}
	}
}

// cpuTime is the process's user and system CPU time so far.
func cpuTime() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// BenchmarkTranscribe decodes a two-party call with about 30 s of flite
// speech per channel at 8 kHz (mu-law) and reports the real-time factor per
// channel: the time one channel's decoding takes, divided by the channel's
// duration. With one worker the channels are decoded one after the other
// (rtf/channel = time / (2 × duration)); with two they run in parallel
// (rtf/channel = time / duration). rtf/speech divides by the seconds of
// speech instead, since the silences between turns cost almost nothing.
func BenchmarkTranscribe(b *testing.B) {
	needTools(b)
	lines := append(append([]line{}, script...), script...)
	rec, placedLines := conversation(b, lines, 8000, 500*time.Millisecond, 700*time.Millisecond)
	dur := rec.Duration().Seconds()
	var speech float64
	for _, l := range placedLines {
		speech += (l.End - l.Start).Seconds()
	}
	nch := len(rec.Channels)
	for _, workers := range []int{1, 2} {
		b.Run(fmt.Sprintf("workers=%d", workers), func(b *testing.B) {
			e, err := New(Config{Workers: workers})
			if err != nil {
				b.Fatal(err)
			}
			defer e.Close()
			b.ResetTimer()
			start, cpu0 := time.Now(), cpuTime()
			for range b.N {
				if _, err := e.Transcribe(context.Background(), rec); err != nil {
					b.Fatal(err)
				}
			}
			el := time.Since(start).Seconds() / float64(b.N)
			cpu := (cpuTime() - cpu0).Seconds() / float64(b.N)
			par := float64(min(workers, nch))
			b.ReportMetric(el*par/(dur*float64(nch)), "rtf/channel")
			b.ReportMetric(el*par/speech, "rtf/speech")
			// CPU time per second of channel: what the decoding costs on
			// one core, whatever else the machine is running.
			b.ReportMetric(cpu/(dur*float64(nch)), "cpu-rtf/channel")
			b.ReportMetric(speech/float64(nch), "speech-s/channel")
		})
	}
}
