package main

import (
	"fmt"
	"time"

	"github.com/callrec/callrec/internal/media/wav"
)

// report is what check found.
type report struct {
	calls, completed, missing, short int
	worst                            float64 // largest shortfall, a fraction of the bridged time
	bridged, recorded                time.Duration
}

// String is the line the benchmark script reads.
func (r report) String() string {
	return fmt.Sprintf("calls_recorded=%d completed=%d recordings_missing=%d recordings_short=%d worst_shortfall_pct=%.2f bridged_minutes=%.2f recorded_minutes=%.2f",
		r.calls, r.completed, r.missing, r.short, r.worst*100, r.bridged.Minutes(), r.recorded.Minutes())
}

// check looks at the recording of every completed call: one that is not a
// stereo WAV at rate Hz counts as missing, one shorter than the bridged
// time by more than tolerance (a fraction of it) as short.
func check(calls []call, rate uint32, tolerance float64) report {
	r := report{calls: len(calls)}
	for _, c := range calls {
		if c.Status != "completed" || c.AnsweredAt == nil || c.EndedAt == nil {
			continue
		}
		r.completed++
		want := c.EndedAt.Sub(*c.AnsweredAt)
		r.bridged += want
		if c.RecordingFile == "" {
			r.missing++
			continue
		}
		info, err := wav.Stat(c.RecordingFile)
		if err != nil || info.Format.Channels != 2 || info.Format.SampleRate != rate {
			r.missing++
			continue
		}
		r.recorded += info.Duration
		shortfall := (want - info.Duration).Seconds() / want.Seconds()
		if shortfall > r.worst {
			r.worst = shortfall
		}
		if shortfall > tolerance {
			r.short++
		}
	}
	return r
}
