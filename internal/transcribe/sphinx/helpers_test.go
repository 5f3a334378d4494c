//go:build cgo && !nosphinx

package sphinx

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/callrec/callrec/internal/media/codec"
	"github.com/callrec/callrec/internal/media/wav"
	"github.com/callrec/callrec/internal/transcribe"
)

// needTools skips the test when flite, sox or the PocketSphinx model are
// missing, except in CI (CI=true), where their absence is a failure.
func needTools(tb testing.TB) {
	tb.Helper()
	var missing []string
	for _, bin := range []string{"flite", "sox"} {
		if _, err := exec.LookPath(bin); err != nil {
			missing = append(missing, bin+" (apt-get install "+bin+")")
		}
	}
	if err := (Config{}).withDefaults().check(); err != nil {
		missing = append(missing, err.Error())
	}
	if len(missing) == 0 {
		return
	}
	msg := "missing: " + strings.Join(missing, "; ")
	if os.Getenv("CI") == "true" {
		tb.Fatal(msg)
	}
	tb.Skip(msg)
}

// speak synthesises text with the flite voice and returns it as mono 16-bit
// samples at rate. At 8 kHz the audio also goes through G.711 mu-law, as a
// phone call's does.
func speak(tb testing.TB, dir, voice, text string, rate int) []int16 {
	tb.Helper()
	raw := filepath.Join(dir, "flite.wav")
	out := filepath.Join(dir, "speech.wav")
	run(tb, "flite", "-voice", voice, "-t", text, "-o", raw)
	// -D: no dither, so the audio (and the word error rate) is the same
	// on every run.
	run(tb, "sox", "-D", raw, "-r", fmt.Sprint(rate), "-c", "1", "-b", "16", "-e", "signed-integer", out)
	data, err := os.ReadFile(out)
	if err != nil {
		tb.Fatal(err)
	}
	f, samples, err := wav.Decode(bytes.NewReader(data))
	if err != nil {
		tb.Fatalf("decode %s: %v", out, err)
	}
	if int(f.SampleRate) != rate || f.Channels != 1 {
		tb.Fatalf("sox made %d Hz × %d channels, want %d Hz mono", f.SampleRate, f.Channels, rate)
	}
	if rate == 8000 {
		samples = codec.PCMU.Decode(nil, codec.PCMU.Encode(nil, samples))
	}
	return samples
}

func run(tb testing.TB, name string, args ...string) {
	tb.Helper()
	cmd := exec.Command(name, args...)
	if out, err := cmd.CombinedOutput(); err != nil {
		tb.Fatalf("%s %s: %v\n%s", name, strings.Join(args, " "), err, out)
	}
}

// line is one sentence of the scripted conversation.
type line struct {
	Channel int
	Voice   string
	Text    string
}

// placed is a line as put into the recording.
type placed struct {
	line
	Start, End time.Duration
}

// conversation builds a recording at rate from lines spoken in turn, each
// followed by pause of silence (the first preceded by lead), and returns
// it with where each line went.
func conversation(tb testing.TB, lines []line, rate int, lead, pause time.Duration) (*transcribe.Recording, []placed) {
	tb.Helper()
	dir := tb.TempDir()
	nch := 0
	for _, l := range lines {
		nch = max(nch, l.Channel+1)
	}
	chans := make([][]int16, nch)
	var out []placed
	pos := int(int64(rate) * int64(lead) / int64(time.Second))
	gap := int(int64(rate) * int64(pause) / int64(time.Second))
	for _, l := range lines {
		s := speak(tb, dir, l.Voice, l.Text, rate)
		s = trimSilence(s)
		for ch := range chans {
			for len(chans[ch]) < pos {
				chans[ch] = append(chans[ch], 0)
			}
		}
		chans[l.Channel] = append(chans[l.Channel], s...)
		out = append(out, placed{
			line:  l,
			Start: time.Duration(pos) * time.Second / time.Duration(rate),
			End:   time.Duration(pos+len(s)) * time.Second / time.Duration(rate),
		})
		pos += len(s) + gap
	}
	for ch := range chans {
		for len(chans[ch]) < pos {
			chans[ch] = append(chans[ch], 0)
		}
	}
	return &transcribe.Recording{Path: "synthetic.wav", SampleRate: rate, Channels: chans}, out
}

// trimSilence removes flite's leading and trailing near-silence, so the
// placed span is the speech itself.
func trimSilence(s []int16) []int16 {
	const thr = 100
	a, b := 0, len(s)
	for a < b && abs16(s[a]) < thr {
		a++
	}
	for b > a && abs16(s[b-1]) < thr {
		b--
	}
	return s[a:b]
}

func abs16(v int16) int {
	if v < 0 {
		return -int(v)
	}
	return int(v)
}

// channelText returns the words recognised on channel ch, in time order.
func channelText(res *transcribe.Result, ch int) string {
	var b strings.Builder
	for _, w := range res.Words {
		if w.Channel == ch {
			b.WriteString(w.Text)
			b.WriteByte(' ')
		}
	}
	return strings.TrimSpace(b.String())
}

// conversationWER scores res against the lines, channel by channel, and
// returns the overall word error rate.
func conversationWER(tb testing.TB, res *transcribe.Result, lines []placed) float64 {
	tb.Helper()
	refs := map[int]string{}
	for _, l := range lines {
		refs[l.Channel] += l.Text + " "
	}
	var edits, n int
	for ch := 0; ch < len(refs); ch++ {
		hyp := channelText(res, ch)
		r, e, m := wer(refs[ch], hyp)
		tb.Logf("channel %d: WER %.1f%% (%d/%d)\n  ref: %s\n  hyp: %s", ch, 100*r, e, m, strings.TrimSpace(refs[ch]), hyp)
		edits += e
		n += m
	}
	return float64(edits) / float64(max(n, 1))
}

func transcribeOK(tb testing.TB, e *Engine, rec *transcribe.Recording) *transcribe.Result {
	tb.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	res, err := e.Transcribe(ctx, rec)
	if err != nil {
		tb.Fatalf("Transcribe: %v", err)
	}
	return res
}
