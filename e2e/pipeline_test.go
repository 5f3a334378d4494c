package e2e

// Post-call pipeline tests: a real call through `callrec serve`, processed
// by the River pipeline. The transcription engine is the openai engine
// talking to a local HTTP server that stands in for the remote paid API
// (OpenAI's POST /v1/audio/transcriptions, verbose_json); everything else
// (queue, analytics, rendering, notification record) is callrec's own.

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"
)

// whisperStub answers OpenAI transcription requests with fixed words. When
// hold is set, it keeps the first request open until released.
type whisperStub struct {
	url      string
	requests atomic.Int32
	arrived  chan struct{}
	release  chan struct{}
	hold     bool
	once     sync.Once
}

func startWhisperStub(t *testing.T, hold bool) *whisperStub {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	s := &whisperStub{url: "http://" + ln.Addr().String(), arrived: make(chan struct{}), release: make(chan struct{}), hold: hold}
	srv := &http.Server{Handler: http.HandlerFunc(s.serve)}
	go srv.Serve(ln)
	t.Cleanup(func() { srv.Close() })
	return s
}

func (s *whisperStub) serve(w http.ResponseWriter, r *http.Request) {
	if r.URL.Path != "/v1/audio/transcriptions" || r.Method != http.MethodPost {
		http.Error(w, `{"error":{"message":"not found"}}`, http.StatusNotFound)
		return
	}
	if err := r.ParseMultipartForm(32 << 20); err != nil {
		http.Error(w, `{"error":{"message":"bad form"}}`, http.StatusBadRequest)
		return
	}
	n := s.requests.Add(1)
	s.once.Do(func() { close(s.arrived) })
	if s.hold && n == 1 {
		select {
		case <-s.release:
		case <-r.Context().Done():
			return
		}
	}
	text := []string{"hello", "this", "is", "a", "great", "call"}
	words := make([]map[string]any, len(text))
	for i, wd := range text {
		words[i] = map[string]any{"word": wd, "start": 0.5 + 0.4*float64(i), "end": 0.8 + 0.4*float64(i), "probability": 0.9}
	}
	w.Header().Set("Content-Type", "application/json")
	json.NewEncoder(w).Encode(map[string]any{
		"task": "transcribe", "language": "english", "duration": 4.0,
		"text": strings.Join(text, " "), "words": words,
		"segments": []map[string]any{{"id": 0, "start": 0.5, "end": 3.0, "text": strings.Join(text, " "), "avg_logprob": -0.1}},
	})
}

func processingYAML(url string) string {
	return fmt.Sprintf("transcribe:\n  engine: openai\n  url: %q\npipeline:\n  workers: 1\n  max_attempts: 3\n  stage_timeout: \"60s\"\n", url)
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

// strangerCall places one short bridged, recorded call and returns its id.
func strangerCall(t *testing.T, cr *callrec) string {
	t.Helper()
	tn := makeTones(t)
	trunk := startTrunk(t, cr, trunkScenario{Tone: tn.owner, HangupAfterMS: 4000})
	stranger := call(t, cr, "stranger", callerScenario{
		From: strangerNum, To: serviceNumber, Early: true, EventPT: 101, Tone: tn.other,
		Steps: []step{awaitBye(40000)},
	}, sippOpts{})
	stranger.mustPass(callTimeout)
	trunk.mustPass(10 * time.Second)
	recs := cr.finishedCalls(1)
	if recs[0].Status != "completed" {
		t.Fatalf("call not completed: %s", recs[0])
	}
	return fmt.Sprint(recs[0].ID)
}

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

// writeStereoWAV writes a 16-bit PCM WAV of frames frames with a quiet
// tone on every channel.
func writeStereoWAV(t *testing.T, path string, rate, channels, frames int) {
	t.Helper()
	var b bytes.Buffer
	data := frames * channels * 2
	le32 := func(v int) { b.Write([]byte{byte(v), byte(v >> 8), byte(v >> 16), byte(v >> 24)}) }
	le16 := func(v int) { b.Write([]byte{byte(v), byte(v >> 8)}) }
	b.WriteString("RIFF")
	le32(36 + data)
	b.WriteString("WAVEfmt ")
	le32(16)
	le16(1)
	le16(channels)
	le32(rate)
	le32(rate * channels * 2)
	le16(channels * 2)
	le16(16)
	b.WriteString("data")
	le32(data)
	tone := sine(440, 0.1, frames)
	for i := 0; i < frames; i++ {
		for c := 0; c < channels; c++ {
			le16(int(tone[i]))
		}
	}
	if err := os.WriteFile(path, b.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}
}

// postgresSchemaURL makes a fresh schema on the PostgreSQL server named by
// TEST_POSTGRES_URL (CI starts one on loopback) and returns a URL
// that uses it. Without it the test skips, except on CI, where it fails.
func postgresSchemaURL(t *testing.T) string {
	t.Helper()
	base := os.Getenv("TEST_POSTGRES_URL")
	if base == "" {
		if os.Getenv("CI") == "true" {
			t.Fatal("TEST_POSTGRES_URL is not set on CI")
		}
		t.Skip("TEST_POSTGRES_URL not set: no PostgreSQL to test against")
	}
	schema := fmt.Sprintf("e2e_%d", time.Now().UnixNano())
	psql := func(sql string) {
		out, err := exec.Command("psql", base, "-qc", sql).CombinedOutput()
		if err != nil {
			t.Fatalf("psql %q: %v\n%s", sql, err, out)
		}
	}
	psql("CREATE SCHEMA " + schema)
	t.Cleanup(func() { exec.Command("psql", base, "-qc", "DROP SCHEMA "+schema+" CASCADE").Run() })
	sep := "?"
	if strings.Contains(base, "?") {
		sep = "&"
	}
	return base + sep + "search_path=" + schema
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
