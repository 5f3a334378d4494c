package e2e

// Post-call pipeline tests: a real call through `callrec serve`, processed
// by the River pipeline. The transcription engine is the openai engine
// talking to a local HTTP server that stands in for the remote paid API
// (see harness_pipeline_test.go); everything else (queue, analytics,
// rendering, notification record) is callrec's own. Also `callrec process`
// on files, and two processes sharing one PostgreSQL database.

import (
	"bytes"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"
)

// TestPipelineProcessesCall: a finished call's recording is queued with the
// record and goes through transcribe → analyze → render → notify; the
// transcript is in the Call Analytics schema with the owner as AGENT.
func TestPipelineProcessesCall(t *testing.T) {
	t.Parallel()
	stub := startWhisperStub(t, false)
	cr := startCallrec(t, config{Processing: processingYAML(stub.url)})
	id := strangerCall(t, cr)
	cs := cr.waitStages(t, id, 60*time.Second)
	if n := stub.requests.Load(); n != 2 {
		t.Errorf("transcription requests: %d, want 2 (one per channel)", n)
	}
	objects := filepath.Join(cr.cfg.DataDir, "objects")
	raw, err := os.ReadFile(filepath.Join(objects, "calls", id, "transcript.json"))
	if err != nil {
		t.Fatal(err)
	}
	var doc struct {
		JobStatus  string
		Transcript []struct {
			ParticipantRole string
			Content         string
		}
		ConversationCharacteristics struct {
			TalkTime struct{ TotalTimeMillis int64 }
		}
	}
	if err := json.Unmarshal(raw, &doc); err != nil {
		t.Fatal(err)
	}
	roles := map[string]bool{}
	for _, turn := range doc.Transcript {
		roles[turn.ParticipantRole] = true
		if !strings.Contains(turn.Content, "great") {
			t.Errorf("turn content %q lacks the transcribed words", turn.Content)
		}
	}
	if doc.JobStatus != "COMPLETED" || !roles["AGENT"] || !roles["CUSTOMER"] {
		t.Errorf("transcript: status %q roles %v", doc.JobStatus, roles)
	}
	for _, name := range []string{"words.json", "report.html", "notification.json"} {
		if _, err := os.Stat(filepath.Join(objects, "calls", id, name)); err != nil {
			t.Errorf("output %s: %v", name, err)
		}
	}
	for _, s := range cs.Stages {
		if s.OutputKey == "" {
			t.Errorf("stage %s has no output key", s.Name)
		}
	}
}

// TestPipelineCrashRecovery: callrec is killed (SIGKILL) while the
// transcribe stage waits for the engine; after a restart the job finishes,
// with exactly one transcript and one notification.
func TestPipelineCrashRecovery(t *testing.T) {
	t.Parallel()
	stub := startWhisperStub(t, true)
	cr := startCallrec(t, config{Processing: processingYAML(stub.url)})
	id := strangerCall(t, cr)
	select {
	case <-stub.arrived:
	case <-time.After(60 * time.Second):
		t.Fatalf("transcription never started\n%s", cr.log.String())
	}
	cr.signal(syscall.SIGKILL)
	cr.waitExit(10 * time.Second)
	close(stub.release)

	cr2 := cr.restart()
	cs := cr2.waitStages(t, id, 60*time.Second)
	if cs.Stages[0].Name != "transcribe" || cs.Stages[0].Attempts < 2 {
		t.Errorf("transcribe stage: %+v, want a second attempt after the crash", cs.Stages[0])
	}
	entries, err := os.ReadDir(filepath.Join(cr.cfg.DataDir, "objects", "calls", id))
	if err != nil {
		t.Fatal(err)
	}
	counts := map[string]int{}
	for _, e := range entries {
		counts[e.Name()]++
	}
	if counts["transcript.json"] != 1 || counts["notification.json"] != 1 {
		t.Errorf("outputs after recovery: %v, want exactly one transcript and one notification", counts)
	}
	if n := strings.Count(cr2.log.String(), "msg=\"call processed\""); n != 1 {
		t.Errorf("notifications logged after restart: %d, want 1", n)
	}
}

// TestPipelinePostgres: two callrec processes share one PostgreSQL
// database (records and River queue): one answers the call and only queues
// its processing (pipeline.workers 0), the other, taking no calls of its
// own, runs every stage.
func TestPipelinePostgres(t *testing.T) {
	t.Parallel()
	url := postgresSchemaURL(t)
	stub := startWhisperStub(t, false)
	db := fmt.Sprintf("database:\n  url: %q\n", url)
	sipNode := startCallrec(t, config{Extra: db})
	worker := startCallrec(t, config{Extra: db, Processing: processingYAML(stub.url)})
	// The worker reads the recordings the SIP node stored: both use one
	// object directory (one machine here; S3 across machines).
	if err := os.RemoveAll(filepath.Join(worker.cfg.DataDir, "objects")); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink(filepath.Join(sipNode.cfg.DataDir, "objects"), filepath.Join(worker.cfg.DataDir, "objects")); err != nil {
		t.Fatal(err)
	}
	id := strangerCall(t, sipNode)
	cs := worker.waitStages(t, id, 60*time.Second)
	for _, s := range cs.Stages {
		if s.Attempts != 1 {
			t.Errorf("stage %s took %d attempts, want 1", s.Name, s.Attempts)
		}
	}
	if len(cs.Stages) != 4 {
		t.Fatalf("stages %+v", cs)
	}
	if _, err := os.Stat(filepath.Join(sipNode.cfg.DataDir, "objects", "calls", id, "transcript.json")); err != nil {
		t.Fatal(err)
	}
	if strings.Contains(sipNode.log.String(), "stage started") {
		t.Error("the SIP node (pipeline.workers 0) ran a stage")
	}
}

// TestProcessCommand: `callrec process` on a recording made by a call, and
// clear failures on bad input files.
func TestProcessCommand(t *testing.T) {
	t.Parallel()
	requireCallrec(t)
	stub := startWhisperStub(t, false)
	dir := t.TempDir()
	good := filepath.Join(dir, "call.wav")
	writeStereoWAV(t, good, 8000, 2, 8000*3)
	run := func(args ...string) (string, error) {
		cmd := exec.Command(env.callrec, append([]string{"process"}, args...)...)
		cmd.Env = append(cleanEnv(), "CALLREC_TRANSCRIBE_ENGINE=openai", "CALLREC_TRANSCRIBE_URL="+stub.url)
		var out bytes.Buffer
		cmd.Stdout, cmd.Stderr = &out, &out
		err := cmd.Run()
		return out.String(), err
	}
	out, err := run("--out", filepath.Join(dir, "out"), good)
	if err != nil {
		t.Fatalf("process: %v\n%s", err, out)
	}
	for _, name := range []string{"transcript.json", "report.html"} {
		if _, err := os.Stat(filepath.Join(dir, "out", name)); err != nil {
			t.Errorf("%s not written: %v\n%s", name, err, out)
		}
	}
	// A transcript JSON skips transcription.
	before := stub.requests.Load()
	out, err = run("--out", filepath.Join(dir, "out2"), filepath.Join(dir, "out", "transcript.json"))
	if err != nil || stub.requests.Load() != before {
		t.Fatalf("process JSON: %v (requests %d→%d)\n%s", err, before, stub.requests.Load(), out)
	}

	bad := map[string]string{}
	bad["empty"] = filepath.Join(dir, "empty.wav")
	os.WriteFile(bad["empty"], nil, 0o644)
	bad["not a WAV"] = filepath.Join(dir, "notes.wav")
	os.WriteFile(bad["not a WAV"], []byte("this is not audio at all, just text"), 0o644)
	bad["mono"] = filepath.Join(dir, "mono.wav")
	writeStereoWAV(t, bad["mono"], 8000, 1, 8000)
	bad["48 kHz"] = filepath.Join(dir, "hifi.wav")
	writeStereoWAV(t, bad["48 kHz"], 48000, 2, 48000)
	bad["truncated"] = filepath.Join(dir, "cut.wav")
	full, _ := os.ReadFile(good)
	os.WriteFile(bad["truncated"], full[:len(full)/2], 0o644)
	want := map[string]string{"empty": "empty", "not a WAV": "WAV", "mono": "channel", "48 kHz": "48000 Hz", "truncated": "truncated"}
	for name, path := range bad {
		out, err := run("--out", filepath.Join(dir, "bad"), path)
		if err == nil {
			t.Errorf("%s: process succeeded", name)
			continue
		}
		if ee, ok := err.(*exec.ExitError); !ok || ee.ExitCode() != 1 || strings.Contains(out, "panic") {
			t.Errorf("%s: %v\n%s", name, err, out)
		}
		if !strings.Contains(out, want[name]) {
			t.Errorf("%s: message %q does not mention %q", name, strings.TrimSpace(out), want[name])
		}
	}
}
