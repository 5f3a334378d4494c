package main

import (
	"math"
	"path/filepath"
	"testing"
	"time"

	"github.com/callrec/callrec/internal/media/wav"
)

// recording writes a WAV of d at rate Hz with channels channels and
// returns its path.
func recording(t *testing.T, name string, rate uint32, channels uint16, d time.Duration) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), name+".wav")
	w, err := wav.Create(path, rate, channels)
	if err != nil {
		t.Fatal(err)
	}
	frames := int(int64(rate) * int64(d) / int64(time.Second))
	if err := w.Write(make([]int16, frames*int(channels))); err != nil {
		t.Fatal(err)
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	return path
}

// bridged returns a completed call bridged for d with the recording at path.
func bridged(d time.Duration, path string) call {
	answered := time.Date(2026, 12, 1, 12, 0, 0, 0, time.UTC)
	ended := answered.Add(d)
	return call{Status: "completed", AnsweredAt: &answered, EndedAt: &ended, RecordingFile: path}
}

func TestCheckAtEachRate(t *testing.T) {
	const d = 10 * time.Second
	narrow := recording(t, "narrow", 8000, 2, d)
	wide := recording(t, "wide", 16000, 2, d)
	mono := recording(t, "mono", 16000, 1, d)
	short := recording(t, "short", 16000, 2, d*98/100)
	unanswered := call{Status: "failed"}
	calls := []call{bridged(d, narrow), bridged(d, wide), bridged(d, mono), bridged(d, short), bridged(d, ""), unanswered}

	for _, tc := range []struct {
		rate                   uint32
		missing, short, worst2 int
	}{
		// At 8 kHz the wide, mono and short files are not what was
		// asked for, and the call without a file is missing too.
		{8000, 4, 0, 0},
		// At 16 kHz the narrow and mono ones are, and the short one is
		// 2 % short.
		{16000, 3, 1, 2},
	} {
		r := check(calls, tc.rate, 0.01)
		if r.calls != 6 || r.completed != 5 || r.missing != tc.missing || r.short != tc.short {
			t.Errorf("rate %d: %+v, want 6 calls, 5 completed, %d missing, %d short", tc.rate, r, tc.missing, tc.short)
		}
		if got := int(r.worst*100 + 0.5); got != tc.worst2 {
			t.Errorf("rate %d: worst shortfall %.4f, want %d %%", tc.rate, r.worst, tc.worst2)
		}
		if r.bridged != 5*d {
			t.Errorf("rate %d: bridged %v, want %v", tc.rate, r.bridged, 5*d)
		}
	}
}

func TestReportLine(t *testing.T) {
	r := report{calls: 3, completed: 2, missing: 1, short: 0, worst: 0.0005, bridged: 2 * time.Minute, recorded: 90 * time.Second}
	want := "calls_recorded=3 completed=2 recordings_missing=1 recordings_short=0 worst_shortfall_pct=0.05 bridged_minutes=2.00 recorded_minutes=1.50"
	if r.String() != want {
		t.Errorf("report line\n%s\nwant\n%s", r.String(), want)
	}
}

// toneRecording writes d of stereo 440 Hz at half of full scale, silent on
// channel 1 for the span [from, to), and returns its path.
func toneRecording(t *testing.T, rate uint32, d, from, to time.Duration) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), "tone.wav")
	w, err := wav.Create(path, rate, 2)
	if err != nil {
		t.Fatal(err)
	}
	frames := int(int64(rate) * int64(d) / int64(time.Second))
	pcm := make([]int16, 2*frames)
	for i := range frames {
		v := int16(0.5 * math.MaxInt16 * math.Sin(2*math.Pi*440*float64(i)/float64(rate)))
		at := time.Duration(i) * time.Second / time.Duration(rate)
		pcm[2*i] = v
		if at < from || at >= to {
			pcm[2*i+1] = v
		}
	}
	if err := w.Write(pcm); err != nil {
		t.Fatal(err)
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	return path
}

func TestCheckAudioFindsGaps(t *testing.T) {
	const d = 12 * time.Second
	whole := toneRecording(t, 16000, d, 0, 0)
	// A second lost in the middle of channel 1: 10 of the 100 windows
	// between the edges.
	gap := toneRecording(t, 16000, d, 5*time.Second, 6*time.Second)
	// Silence in the edges is not counted.
	late := toneRecording(t, 16000, d, 0, 900*time.Millisecond)
	narrow := toneRecording(t, 8000, d, 0, 0)
	r := checkAudio([]call{bridged(d, whole), bridged(d, gap), bridged(d, late), bridged(d, narrow)}, 16000)
	if r.checked != 3 || r.withGaps != 1 {
		t.Errorf("%+v, want 3 checked (not the 8 kHz one), 1 with gaps", r)
	}
	if math.Abs(r.worst-0.10) > 0.001 {
		t.Errorf("worst gap share %.4f, want 0.10", r.worst)
	}
	if want := "tone_checked=3 recordings_with_gaps=1 worst_gap_pct=10.00"; r.String() != want {
		t.Errorf("line %q, want %q", r.String(), want)
	}
}
