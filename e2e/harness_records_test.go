package e2e

// Reading what callrec stored: call records (`callrec calls list --json`),
// a record's recording file, and the post-call pipeline's stages
// (`callrec calls show --json`).

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// callRecord is one element of `callrec calls list --json`.
type callRecord struct {
	ID             any         `json:"id"`
	Direction      string      `json:"direction"`
	Party          string      `json:"party"`
	StartedAt      *time.Time  `json:"started_at"`
	AnsweredAt     *time.Time  `json:"answered_at"`
	EndedAt        *time.Time  `json:"ended_at"`
	Status         string      `json:"status"`
	SIPStatus      any         `json:"sip_status"`
	HangupCause    any         `json:"hangup_cause"`
	RecordingState string      `json:"recording_state"`
	RecordingFile  string      `json:"recording_file"`
	Pauses         []pauseSpan `json:"pauses"`
}

func (r callRecord) String() string {
	b, _ := json.Marshal(r)
	return string(b)
}

// pauseSpan is a paused span of a recording. Its ends are times, or
// offsets in seconds from the start of the recording.
type pauseSpan struct {
	Start flexTime `json:"start"`
	End   flexTime `json:"end"`
}

// flexTime is an RFC 3339 time or a number of seconds.
type flexTime struct {
	T       time.Time
	Seconds float64
	IsTime  bool
}

func (f *flexTime) UnmarshalJSON(b []byte) error {
	if len(b) > 0 && b[0] == '"' {
		f.IsTime = true
		return json.Unmarshal(b, &f.T)
	}
	return json.Unmarshal(b, &f.Seconds)
}

func (f flexTime) MarshalJSON() ([]byte, error) {
	if f.IsTime {
		return json.Marshal(f.T)
	}
	return json.Marshal(f.Seconds)
}

// offset is f in seconds from the recording's start recStart.
func (f flexTime) offset(recStart time.Time) float64 {
	if f.IsTime {
		return f.T.Sub(recStart).Seconds()
	}
	return f.Seconds
}

// calls runs `callrec calls list --json` once.
func (c *callrec) calls() ([]callRecord, error) {
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, env.callrec, "calls", "list", "--json", "--config", c.cfgPath)
	cmd.Env = cleanEnv()
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		return nil, fmt.Errorf("callrec calls list --json: %w\n%s", err, stderr.String())
	}
	var recs []callRecord
	if err := json.Unmarshal(out, &recs); err != nil {
		return nil, fmt.Errorf("callrec calls list --json printed no JSON array of records: %w\n%s", err, out)
	}
	return recs, nil
}

// finishedCalls waits until callrec lists n calls that have all ended, and
// returns them.
func (c *callrec) finishedCalls(n int) []callRecord {
	t := c.t
	t.Helper()
	deadline := time.Now().Add(15 * time.Second)
	for {
		recs, err := c.calls()
		if err != nil {
			t.Fatal(err)
		}
		done := len(recs) == n
		for _, r := range recs {
			if r.EndedAt == nil || r.Status == "active" || r.Status == "" {
				done = false
			}
		}
		if done {
			for _, r := range recs {
				t.Logf("call record: %v", r)
			}
			return recs
		}
		if time.Now().After(deadline) {
			var b strings.Builder
			for _, r := range recs {
				fmt.Fprintf(&b, "\n  %v", r)
			}
			t.Fatalf("want %d ended call records within 15 s of the calls' end, have %d:%s", n, len(recs), b.String())
		}
		time.Sleep(200 * time.Millisecond)
	}
}

// oneCall is finishedCalls(1)[0].
func (c *callrec) oneCall() callRecord {
	c.t.Helper()
	return c.finishedCalls(1)[0]
}

// recordingPath resolves a record's recording_file.
func (c *callrec) recordingPath(rec callRecord) string {
	c.t.Helper()
	if rec.RecordingFile == "" {
		c.t.Fatalf("call record has no recording_file: %v", rec)
	}
	if filepath.IsAbs(rec.RecordingFile) {
		return rec.RecordingFile
	}
	return filepath.Join(filepath.Dir(c.cfgPath), rec.RecordingFile)
}

// callShow is `callrec calls show --json`.
type callShow struct {
	ID     string `json:"id"`
	Stages []struct {
		Name      string `json:"name"`
		State     string `json:"state"`
		Attempts  int    `json:"attempts"`
		LastError string `json:"last_error"`
		OutputKey string `json:"output_key"`
	} `json:"stages"`
}

func (c *callrec) show(id string) (callShow, error) {
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, env.callrec, "calls", "show", "--json", "--config", c.cfgPath, id)
	cmd.Env = cleanEnv()
	out, err := cmd.Output()
	if err != nil {
		return callShow{}, fmt.Errorf("calls show: %w", err)
	}
	var cs callShow
	err = json.Unmarshal(out, &cs)
	return cs, err
}

// waitStages polls until every stage is done (or one failed for good).
func (c *callrec) waitStages(t *testing.T, id string, d time.Duration) callShow {
	t.Helper()
	deadline := time.Now().Add(d)
	var last callShow
	for time.Now().Before(deadline) {
		cs, err := c.show(id)
		if err == nil {
			last = cs
			done := len(cs.Stages) == 4
			for _, s := range cs.Stages {
				if s.State == "failed" {
					t.Fatalf("stage %s failed: %s", s.Name, s.LastError)
				}
				done = done && s.State == "done"
			}
			if done {
				return cs
			}
		}
		time.Sleep(300 * time.Millisecond)
	}
	t.Fatalf("stages not done after %s: %+v\n%s", d, last, c.log.String())
	return last
}
