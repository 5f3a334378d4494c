// Command checkrec reads `callrec calls list --json` on standard input and
// reports, for the benchmark, how many calls completed and whether every
// recording is complete: a stereo WAV at the expected sample rate (-rate:
// 8000, or 16000 when both legs of every call are G.722) whose duration
// matches the bridged time (answered_at to ended_at) within the given
// tolerance. With -audio it also checks that both channels carry the
// benchmark's tone throughout (no 100 ms window nearly silent, beyond 1 %
// of them), which a recording padded with silence for lost packets fails.
package main

import (
	"encoding/json"
	"flag"
	"fmt"
	"os"
	"time"
)

// call is what checkrec reads of one call in the JSON list.
type call struct {
	ID            string     `json:"id"`
	Status        string     `json:"status"`
	AnsweredAt    *time.Time `json:"answered_at"`
	EndedAt       *time.Time `json:"ended_at"`
	RecordingFile string     `json:"recording_file"`
}

func main() {
	tolerance := flag.Float64("tolerance", 0.01, "largest allowed shortfall of a recording, as a fraction of the bridged time")
	rate := flag.Int("rate", 8000, "the sample rate every recording must have, in Hz (8000 or 16000)")
	audio := flag.Bool("audio", false, "also check that both channels carry the benchmark's tone throughout, and print a second line")
	flag.Parse()
	if *rate != 8000 && *rate != 16000 {
		fmt.Fprintln(os.Stderr, "checkrec: -rate must be 8000 or 16000")
		os.Exit(2)
	}
	var calls []call
	if err := json.NewDecoder(os.Stdin).Decode(&calls); err != nil {
		fmt.Fprintln(os.Stderr, "checkrec: reading calls JSON:", err)
		os.Exit(2)
	}
	r := check(calls, uint32(*rate), *tolerance)
	fmt.Println(r)
	failed := r.missing > 0 || r.short > 0
	if *audio {
		a := checkAudio(calls, uint32(*rate))
		fmt.Println(a)
		failed = failed || a.withGaps > 0
	}
	if failed {
		os.Exit(1)
	}
}
