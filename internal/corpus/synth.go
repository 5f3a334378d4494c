package corpus

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"github.com/callrec/callrec/internal/media/wav"
	"github.com/callrec/callrec/internal/transcribe"
)

// version changes whenever the rendering changes, so that cached files of
// an older rendering are not reused.
const version = "corpus-v1"

// CheckTools reports whether flite and sox are on the PATH, with an error
// that says how to install what is missing.
func CheckTools() error {
	var missing []string
	for _, tool := range []string{"flite", "sox"} {
		if _, err := exec.LookPath(tool); err != nil {
			missing = append(missing, tool)
		}
	}
	if len(missing) > 0 {
		return fmt.Errorf("corpus: %s not found in PATH: install the Debian package(s) %s (apt-get install %s)",
			strings.Join(missing, " and "), strings.Join(missing, ", "), strings.Join(missing, " "))
	}
	return nil
}

// Validate checks a script: a usable name, two voices, lines of speaker 0 or
// 1 with text, a first line that starts after the lead-in, and no speaker
// overlapping themselves.
func (s Script) Validate() error {
	if s.Name == "" || strings.IndexFunc(s.Name, func(r rune) bool {
		return !(r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || r == '-' || r == '_')
	}) >= 0 {
		return fmt.Errorf("script name %q: use letters, digits, '-' and '_'", s.Name)
	}
	for i, v := range s.Voices {
		if strings.TrimSpace(v) == "" {
			return fmt.Errorf("script %s: voice of speaker %d is %q: name a flite voice (flite -lv lists them)", s.Name, i, v)
		}
	}
	if len(s.Lines) == 0 {
		return fmt.Errorf("script %s: no lines", s.Name)
	}
	for i, l := range s.Lines {
		if l.Speaker != Agent && l.Speaker != Customer {
			return fmt.Errorf("script %s: line %d: speaker %d: want 0 (owner) or 1 (other party)", s.Name, i, l.Speaker)
		}
		if strings.TrimSpace(l.Text) == "" {
			return fmt.Errorf("script %s: line %d: no text", s.Name, i)
		}
	}
	if s.Lines[0].Gap < -LeadIn {
		return fmt.Errorf("script %s: line 0 starts %v before the recording", s.Name, -(LeadIn + s.Lines[0].Gap))
	}
	return nil
}

// key identifies a rendering of s at rate for the cache.
func (s Script) key(rate int) string {
	h := sha256.New()
	fmt.Fprintf(h, "%s\x00%d\x00%s\x00%s\x00%s\x00%g\x00%g\x00%v\x00%v\n",
		version, rate, s.Name, s.Voices[0], s.Voices[1], NoiseDBFS, TrimDBFS, LeadIn, Tail)
	for _, l := range s.Lines {
		fmt.Fprintf(h, "%d\x00%d\x00%s\n", l.Speaker, l.Gap, l.Text)
	}
	return hex.EncodeToString(h.Sum(nil))[:12]
}

// Synthesize renders s as a stereo 16-bit WAV file at sampleRate in dir
// (speaker 0 on channel 0, speaker 1 on channel 1) and returns the file's
// path and its ground truth.
//
// Every line is spoken by flite in its speaker's voice, resampled with sox,
// cut to the edges of its speech (the first and last 5 ms with a level of
// TrimDBFS or more) and placed at its scripted offset; low white noise is
// added to both channels. The rendering is cached in dir under the
// script's name, the rate and a hash of everything that shapes it, so a
// second call returns at once; concurrent callers (test processes of
// several packages) are safe, as files are written under temporary names
// and renamed.
func Synthesize(ctx context.Context, s Script, dir string, sampleRate int) (path string, truth Truth, err error) {
	if err := s.Validate(); err != nil {
		return "", Truth{}, fmt.Errorf("corpus: %w", err)
	}
	if sampleRate < 4000 || sampleRate > 192000 {
		return "", Truth{}, fmt.Errorf("corpus: sample rate %d Hz: want 4000 to 192000 (8000 or 16000 for phone audio)", sampleRate)
	}
	base := filepath.Join(dir, fmt.Sprintf("%s-%d-%s", s.Name, sampleRate, s.key(sampleRate)))
	path = base + ".wav"
	if t, err := readTruth(base + ".json"); err == nil {
		if _, err := os.Stat(path); err == nil {
			return path, t, nil
		}
	}
	if err := CheckTools(); err != nil {
		return "", Truth{}, err
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return "", Truth{}, fmt.Errorf("corpus: %w", err)
	}
	tmp, err := os.MkdirTemp(dir, ".synth-*")
	if err != nil {
		return "", Truth{}, fmt.Errorf("corpus: %w", err)
	}
	defer os.RemoveAll(tmp)

	if err := checkVoices(ctx, s.Voices); err != nil {
		return "", Truth{}, fmt.Errorf("corpus: script %s: %w", s.Name, err)
	}
	lines := make([][]int16, len(s.Lines))
	for i, l := range s.Lines {
		lines[i], err = speak(ctx, tmp, i, s.Voices[l.Speaker], l.Text, sampleRate)
		if err != nil {
			return "", Truth{}, fmt.Errorf("corpus: script %s line %d: %w", s.Name, i, err)
		}
	}
	truth, err = place(s, lines, sampleRate)
	if err != nil {
		return "", Truth{}, fmt.Errorf("corpus: %w", err)
	}
	frames := durationSamples(truth.Duration, sampleRate)
	var ch [2][]int16
	for c := range ch {
		ch[c] = make([]int16, frames)
	}
	for i, seg := range truth.Segments {
		copy(ch[seg.Speaker][durationSamples(seg.Start, sampleRate):], lines[i])
	}
	addNoise(ch[:], s.key(sampleRate))

	wavTmp := filepath.Join(tmp, "out.wav")
	if err := writeStereo(wavTmp, sampleRate, ch); err != nil {
		return "", Truth{}, fmt.Errorf("corpus: %w", err)
	}
	js, err := json.MarshalIndent(truth, "", "  ")
	if err != nil {
		return "", Truth{}, fmt.Errorf("corpus: %w", err)
	}
	jsTmp := filepath.Join(tmp, "truth.json")
	if err := os.WriteFile(jsTmp, js, 0o644); err != nil {
		return "", Truth{}, fmt.Errorf("corpus: %w", err)
	}
	// The WAV first: a cache hit needs the truth, and the truth is
	// written last.
	if err := os.Rename(wavTmp, path); err != nil {
		return "", Truth{}, fmt.Errorf("corpus: %w", err)
	}
	if err := os.Rename(jsTmp, base+".json"); err != nil {
		return "", Truth{}, fmt.Errorf("corpus: %w", err)
	}
	return path, truth, nil
}

// Recording synthesises s (or takes it from the cache in dir) and loads it.
func Recording(ctx context.Context, s Script, dir string, sampleRate int) (*transcribe.Recording, Truth, error) {
	path, truth, err := Synthesize(ctx, s, dir, sampleRate)
	if err != nil {
		return nil, Truth{}, err
	}
	rec, err := Load(path)
	if err != nil {
		return nil, Truth{}, err
	}
	rec.CallID = s.Name
	return rec, truth, nil
}

// Load reads a WAV file into a Recording, one slice of samples per channel.
func Load(path string) (*transcribe.Recording, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("load recording: %w", err)
	}
	f, samples, err := wav.Decode(bytes.NewReader(b))
	if err != nil {
		return nil, fmt.Errorf("load recording %s: %w", path, err)
	}
	nc := int(f.Channels)
	if nc == 0 {
		return nil, fmt.Errorf("load recording %s: no channels", path)
	}
	rec := &transcribe.Recording{Path: path, SampleRate: int(f.SampleRate), Channels: make([][]int16, nc)}
	n := len(samples) / nc
	for c := range rec.Channels {
		rec.Channels[c] = make([]int16, n)
		for i := range n {
			rec.Channels[c][i] = samples[i*nc+c]
		}
	}
	return rec, nil
}

func readTruth(path string) (Truth, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return Truth{}, err
	}
	var t Truth
	if err := json.Unmarshal(b, &t); err != nil {
		return Truth{}, err
	}
	if len(t.Segments) == 0 {
		return Truth{}, errors.New("empty truth")
	}
	return t, nil
}

// speak renders one line: flite, then sox to the target rate, then the
// trim to the speech's edges.
func speak(ctx context.Context, tmp string, i int, voice, text string, rate int) ([]int16, error) {
	raw := filepath.Join(tmp, fmt.Sprintf("line%03d.wav", i))
	res := filepath.Join(tmp, fmt.Sprintf("line%03d-%d.wav", i, rate))
	if err := run(ctx, "flite", "-voice", voice, "-t", text, "-o", raw); err != nil {
		return nil, fmt.Errorf("voice %s: %w", voice, err)
	}
	if err := run(ctx, "sox", "-V1", raw, "-r", fmt.Sprint(rate), "-c", "1", "-b", "16", "-e", "signed-integer", res); err != nil {
		return nil, err
	}
	b, err := os.ReadFile(res)
	if err != nil {
		return nil, err
	}
	_, samples, err := wav.Decode(bytes.NewReader(b))
	if err != nil {
		return nil, fmt.Errorf("read sox output: %w", err)
	}
	out := trim(samples, rate)
	if len(out) == 0 {
		return nil, fmt.Errorf("flite voice %s produced no audible speech", voice)
	}
	return out, nil
}

func run(ctx context.Context, name string, args ...string) error {
	cmd := exec.CommandContext(ctx, name, args...)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	cmd.Stdout = &stderr
	if err := cmd.Run(); err != nil {
		msg := strings.TrimSpace(stderr.String())
		if ctx.Err() != nil {
			return fmt.Errorf("%s: %w", name, ctx.Err())
		}
		return fmt.Errorf("%s: %w: %s", name, err, msg)
	}
	// flite reports a voice file it cannot load on stderr and exits 0.
	if name == "flite" && strings.Contains(stderr.String(), "Error") {
		return fmt.Errorf("flite: %s", strings.TrimSpace(stderr.String()))
	}
	return nil
}

// checkVoices makes sure flite knows the voices: given an unknown name it
// silently speaks with its default voice. A voice given as a file
// (*.flitevox or a path) must exist.
func checkVoices(ctx context.Context, voices [2]string) error {
	out, err := exec.CommandContext(ctx, "flite", "-lv").CombinedOutput()
	if err != nil {
		return fmt.Errorf("flite -lv: %w: %s", err, bytes.TrimSpace(out))
	}
	_, list, _ := strings.Cut(string(out), ":")
	known := strings.Fields(list)
	for i, v := range voices {
		if strings.ContainsRune(v, '/') || strings.HasSuffix(v, ".flitevox") {
			if _, err := os.Stat(v); err != nil {
				return fmt.Errorf("voice of speaker %d: %w", i, err)
			}
			continue
		}
		if !slices.Contains(known, v) {
			return fmt.Errorf("voice of speaker %d: flite has no voice %q (it has %s)", i, v, strings.Join(known, ", "))
		}
	}
	return nil
}

// trim cuts samples to the first and last 5 ms block whose RMS level is
// TrimDBFS or more.
func trim(samples []int16, rate int) []int16 {
	block := max(1, rate/200)
	limit := math.Pow(10, TrimDBFS/10) * 32768 * 32768 // mean square
	loud := func(i int) bool {
		end := min(len(samples), i+block)
		var s float64
		for _, v := range samples[i:end] {
			s += float64(v) * float64(v)
		}
		return s/float64(end-i) >= limit
	}
	first, last := -1, -1
	for i := 0; i < len(samples); i += block {
		if loud(i) {
			if first < 0 {
				first = i
			}
			last = min(len(samples), i+block)
		}
	}
	if first < 0 {
		return nil
	}
	return samples[first:last]
}

// place lays the lines out on the time line and derives the truth.
func place(s Script, lines [][]int16, rate int) (Truth, error) {
	t := Truth{SampleRate: rate}
	var prevEnd time.Duration
	for i, l := range s.Lines {
		start := LeadIn + l.Gap
		if i > 0 {
			start = prevEnd + l.Gap
		}
		if start < 0 {
			return Truth{}, fmt.Errorf("script %s: line %d starts before the recording", s.Name, i)
		}
		first := durationSamples(start, rate)
		seg := Segment{
			Speaker: l.Speaker,
			Start:   samplesDuration(first, rate),
			End:     samplesDuration(first+len(lines[i]), rate),
			Text:    l.Text,
		}
		for j, o := range t.Segments {
			if o.Speaker == seg.Speaker && o.Start < seg.End && seg.Start < o.End {
				return Truth{}, fmt.Errorf("script %s: line %d overlaps line %d of the same speaker: one channel holds one voice at a time", s.Name, i, j)
			}
		}
		t.Segments = append(t.Segments, seg)
		prevEnd = seg.End
	}
	var end time.Duration
	for _, seg := range t.Segments {
		end = max(end, seg.End)
		t.TalkTime[seg.Speaker] += seg.End - seg.Start
	}
	t.Duration = samplesDuration(durationSamples(end+Tail, rate), rate)
	t.Silences = silences(t.Segments, t.Duration)
	t.Overlaps = overlaps(t.Segments)
	return t, nil
}

// silences returns the spans of MinSilence or more that no segment covers.
func silences(segs []Segment, total time.Duration) []Span {
	sorted := slices.Clone(segs)
	slices.SortFunc(sorted, func(a, b Segment) int { return int(a.Start - b.Start) })
	var out []Span
	var covered time.Duration // end of the speech so far
	for _, s := range sorted {
		if s.Start-covered >= MinSilence {
			out = append(out, Span{covered, s.Start})
		}
		covered = max(covered, s.End)
	}
	if total-covered >= MinSilence {
		out = append(out, Span{covered, total})
	}
	return out
}

// overlaps returns the spans where segments of both speakers intersect,
// attributed to the speaker whose segment started later.
func overlaps(segs []Segment) []Overlap {
	var out []Overlap
	for i, a := range segs {
		for _, b := range segs[i+1:] {
			if a.Speaker == b.Speaker || a.Start >= b.End || b.Start >= a.End || a.Start == b.Start {
				continue
			}
			who := b.Speaker
			if a.Start > b.Start {
				who = a.Speaker
			}
			out = append(out, Overlap{Interrupter: who, Start: max(a.Start, b.Start), End: min(a.End, b.End)})
		}
	}
	slices.SortFunc(out, func(a, b Overlap) int { return int(a.Start - b.Start) })
	return out
}

// addNoise adds white noise at NoiseDBFS, from a generator seeded by the
// rendering's key so that a rendering is reproducible.
func addNoise(ch [][]int16, key string) {
	seed := binary.LittleEndian.Uint64([]byte(key[:8]))
	rng := rand.New(rand.NewPCG(seed, 0x636f72707573))
	sigma := 32768 * math.Pow(10, NoiseDBFS/20)
	for _, c := range ch {
		for i, v := range c {
			x := float64(v) + rng.NormFloat64()*sigma
			c[i] = int16(max(-32768, min(32767, math.Round(x))))
		}
	}
}

func writeStereo(path string, rate int, ch [2][]int16) error {
	w, err := wav.Create(path, uint32(rate), 2)
	if err != nil {
		return err
	}
	inter := make([]int16, 2*len(ch[0]))
	for i := range ch[0] {
		inter[2*i] = ch[0][i]
		inter[2*i+1] = ch[1][i]
	}
	if err := w.Write(inter); err != nil {
		w.Close()
		return err
	}
	return w.Close()
}

func durationSamples(d time.Duration, rate int) int {
	return int((int64(d)*int64(rate) + int64(time.Second)/2) / int64(time.Second))
}

func samplesDuration(n, rate int) time.Duration {
	return time.Duration(int64(n) * int64(time.Second) / int64(rate))
}

func sortWords(w []transcribe.Word) {
	slices.SortStableFunc(w, func(a, b transcribe.Word) int {
		switch {
		case a.Start < b.Start:
			return -1
		case a.Start > b.Start:
			return 1
		}
		return 0
	})
}
