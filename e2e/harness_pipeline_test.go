package e2e

// Stand-ins for what the post-call pipeline talks to: a local HTTP server
// that answers like the remote paid API (OpenAI's POST
// /v1/audio/transcriptions, verbose_json), the processing configuration
// that points callrec at it, and a fresh PostgreSQL schema.

import (
	"encoding/json"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"strings"
	"sync"
	"sync/atomic"
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
