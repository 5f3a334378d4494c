package pipeline

import (
	"bytes"
	"context"
	"encoding/binary"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/callrec/callrec/internal/blob"
	"github.com/callrec/callrec/internal/store"
	"github.com/callrec/callrec/internal/transcribe"
	"github.com/callrec/callrec/internal/transcribe/openai"
	"github.com/callrec/callrec/internal/transcript"
)

// whisper stands in for the remote transcription API (OpenAI's POST
// /v1/audio/transcriptions, verbose_json); failFirst makes its first
// failFirst answers 503s.
func whisper(t *testing.T, failFirst int32) (*httptest.Server, *atomic.Int32) {
	var n atomic.Int32
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if n.Add(1) <= failFirst {
			w.WriteHeader(http.StatusServiceUnavailable)
			w.Write([]byte(`{"error":{"message":"overloaded"}}`))
			return
		}
		json.NewEncoder(w).Encode(map[string]any{
			"language": "english", "text": "thank you very much",
			"words": []map[string]any{
				{"word": "thank", "start": 0.2, "end": 0.4}, {"word": "you", "start": 0.4, "end": 0.6},
				{"word": "very", "start": 0.6, "end": 0.8}, {"word": "much", "start": 0.8, "end": 1.0},
			},
		})
	}))
	t.Cleanup(srv.Close)
	return srv, &n
}

func wavBytes(rate, channels, frames int) []byte {
	var b bytes.Buffer
	data := frames * channels * 2
	b.WriteString("RIFF")
	binary.Write(&b, binary.LittleEndian, uint32(36+data))
	b.WriteString("WAVEfmt ")
	for _, v := range []any{uint32(16), uint16(1), uint16(channels), uint32(rate), uint32(rate * channels * 2), uint16(channels * 2), uint16(16)} {
		binary.Write(&b, binary.LittleEndian, v)
	}
	b.WriteString("data")
	binary.Write(&b, binary.LittleEndian, uint32(data))
	for i := 0; i < frames*channels; i++ {
		v := int16(0)
		if (i/channels/40)%2 == 0 {
			v = 4000
		}
		binary.Write(&b, binary.LittleEndian, v)
	}
	return b.Bytes()
}

type fixture struct {
	st   *store.Store
	bs   *blob.Local
	pipe *Pipeline
}

func newFixture(t *testing.T, url string, maxAttempts int, opts ...func(*Config)) *fixture {
	t.Helper()
	dir := t.TempDir()
	ctx := context.Background()
	st, err := store.Open(ctx, filepath.Join(dir, "callrec.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	bs, err := blob.NewLocal(filepath.Join(dir, "objects"))
	if err != nil {
		t.Fatal(err)
	}
	cfg := Config{
		Logger: slog.New(slog.NewTextHandler(io.Discard, nil)),
		Store:  st, Blob: bs, Workers: 1, MaxAttempts: maxAttempts, StageTimeout: 30 * time.Second,
		Engine: func() (transcribe.Engine, error) {
			return openai.New(openai.Config{URL: url, Retries: -1})
		},
	}
	for _, o := range opts {
		o(&cfg)
	}
	pipe, err := New(ctx, cfg)
	if err != nil {
		t.Fatal(err)
	}
	if err := pipe.Start(ctx); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		pipe.Stop(ctx)
	})
	return &fixture{st: st, bs: bs, pipe: pipe}
}

// addCall stores a finished call with the given recording bytes and queues
// it the way the runtime does: in the transaction that completes it.
func (f *fixture) addCall(t *testing.T, id string, recording []byte) {
	t.Helper()
	ctx := context.Background()
	now := time.Now().UTC()
	c := &store.Call{ID: id, Direction: store.DirectionInbound, OwnerNumber: "+15550111", Party: "+12125550123",
		ServiceNumber: "+15550100", StartedAt: now, Status: store.StatusActive}
	if err := f.st.InsertCall(ctx, c); err != nil {
		t.Fatal(err)
	}
	c.RecordingKey = blob.RecordingKey(id, now)
	if err := f.bs.Put(ctx, c.RecordingKey, bytes.NewReader(recording)); err != nil {
		t.Fatal(err)
	}
	c.Status, c.RecordingState, c.EndedAt = store.StatusCompleted, store.RecordingComplete, &now
	if err := f.st.WithTx(ctx, func(tx *store.Tx) error {
		if err := f.st.UpdateCallTx(ctx, tx, c); err != nil {
			return err
		}
		return f.pipe.EnqueueTx(ctx, tx, id)
	}); err != nil {
		t.Fatal(err)
	}
}

// wait polls the stages until cond holds.
func (f *fixture) wait(t *testing.T, id string, cond func(map[string]store.Stage) bool) map[string]store.Stage {
	t.Helper()
	deadline := time.Now().Add(60 * time.Second)
	for {
		list, err := f.st.Stages(context.Background(), id)
		if err != nil {
			t.Fatal(err)
		}
		m := map[string]store.Stage{}
		for _, s := range list {
			m[s.Name] = s
		}
		if cond(m) {
			return m
		}
		if time.Now().After(deadline) {
			t.Fatalf("stages never reached the expected state: %+v", m)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

func TestStagesRunInOrder(t *testing.T) {
	srv, requests := whisper(t, 0)
	f := newFixture(t, srv.URL, 3)
	f.addCall(t, "c1", wavBytes(8000, 2, 16000))
	stages := f.wait(t, "c1", func(m map[string]store.Stage) bool { return m[StageNotify].State == store.StageDone })
	for _, name := range Stages() {
		s := stages[name]
		if s.State != store.StageDone || s.Attempts != 1 || s.OutputKey == "" || s.FinishedAt == nil {
			t.Errorf("stage %s: %+v", name, s)
		}
	}
	if !stages[StageNotify].FinishedAt.After(*stages[StageTranscribe].StartedAt) {
		t.Error("notify finished before transcribe started")
	}
	if n := requests.Load(); n != 2 {
		t.Errorf("engine requests %d, want 2 (one per channel)", n)
	}
	rc, err := f.bs.Open(context.Background(), OutputKey("c1", "transcript.json"))
	if err != nil {
		t.Fatal(err)
	}
	defer rc.Close()
	var doc struct{ Transcript []struct{ Content string } }
	if err := json.NewDecoder(rc).Decode(&doc); err != nil || len(doc.Transcript) != 2 {
		t.Fatalf("transcript %+v %v", doc, err)
	}
}

func TestTransientFailureIsRetried(t *testing.T) {
	srv, _ := whisper(t, 1)
	f := newFixture(t, srv.URL, 3)
	f.addCall(t, "c2", wavBytes(8000, 2, 8000))
	// The first attempt fails (the server answers 503) and is retried
	// with backoff; the stage shows the error meanwhile.
	f.wait(t, "c2", func(m map[string]store.Stage) bool {
		return m[StageTranscribe].State == store.StageRetry && strings.Contains(m[StageTranscribe].LastError, "overloaded")
	})
	stages := f.wait(t, "c2", func(m map[string]store.Stage) bool { return m[StageNotify].State == store.StageDone })
	if s := stages[StageTranscribe]; s.Attempts != 2 || s.LastError != "" {
		t.Errorf("transcribe after retry: %+v", s)
	}
}

func TestBadRecordingFailsStage(t *testing.T) {
	srv, requests := whisper(t, 0)
	f := newFixture(t, srv.URL, 5)
	full := wavBytes(8000, 2, 8000)
	cases := map[string]struct {
		data []byte
		want string
	}{
		"empty":     {nil, "empty"},
		"not a wav": {[]byte("hello, this is not audio"), "RIFF"},
		"mono":      {wavBytes(8000, 1, 8000), "channel"},
		"48k":       {wavBytes(48000, 2, 48000), "48000 Hz"},
		"truncated": {full[:len(full)/2], "truncated"},
	}
	for name, c := range cases {
		id := strings.ReplaceAll(name, " ", "-")
		f.addCall(t, id, c.data)
		stages := f.wait(t, id, func(m map[string]store.Stage) bool { return m[StageTranscribe].State == store.StageFailed })
		s := stages[StageTranscribe]
		if s.Attempts != 1 || !strings.Contains(s.LastError, c.want) {
			t.Errorf("%s: %+v, want one attempt and an error mentioning %q", name, s, c.want)
		}
		if stages[StageAnalyze].State != store.StagePending {
			t.Errorf("%s: analyze ran after a failed transcribe: %+v", name, stages[StageAnalyze])
		}
	}
	if requests.Load() != 0 {
		t.Error("a bad recording was sent to the engine")
	}
}

func TestRetryUnknownStage(t *testing.T) {
	srv, _ := whisper(t, 0)
	f := newFixture(t, srv.URL, 1)
	if err := f.pipe.Retry(context.Background(), "x", "publish"); err == nil {
		t.Fatal("unknown stage accepted")
	}
}

func TestRetentionDeletesOldCalls(t *testing.T) {
	srv, _ := whisper(t, 0)
	deleted := make(chan string, 10)
	var now atomic.Int64                                 // the pipeline's clock, unix nanoseconds
	now.Store(time.Now().Add(48 * time.Hour).UnixNano()) // two days ahead
	f := newFixture(t, srv.URL, 3, func(c *Config) {
		c.Now = func() time.Time { return time.Unix(0, now.Load()) }
		c.Retention = Retention{Days: 1, Every: time.Hour, Delete: func(ctx context.Context, call *store.Call) error {
			deleted <- call.ID
			return nil
		}}
	})
	f.addCall(t, "old", wavBytes(8000, 2, 8000))
	// The periodic job runs at start (RunOnStart) and again when asked.
	if err := f.pipe.Expire(context.Background()); err != nil {
		t.Fatal(err)
	}
	select {
	case id := <-deleted:
		if id != "old" {
			t.Fatalf("deleted %q", id)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("an expired call was not deleted")
	}
	now.Store(time.Now().UnixNano()) // back to today: nothing is expired
	for len(deleted) > 0 {
		<-deleted
	}
	if err := f.pipe.Expire(context.Background()); err != nil {
		t.Fatal(err)
	}
	if len(deleted) != 0 {
		t.Fatal("a call within the retention period was deleted")
	}
}

// permanentNotifier fails in a way no retry can fix (as a refused SMTP
// log-in is).
type permanentNotifier struct{}

type permanentErr struct{}

func (permanentErr) Error() string   { return "login refused; check notify.email.smtp.username/password" }
func (permanentErr) Permanent() bool { return true }

func (permanentNotifier) Notify(context.Context, *store.Call, *transcript.Document, map[string]string) error {
	return permanentErr{}
}

func TestPermanentNotifyErrorFailsAtOnce(t *testing.T) {
	srv, _ := whisper(t, 0)
	f := newFixture(t, srv.URL, 5, func(c *Config) { c.Notifier = permanentNotifier{} })
	f.addCall(t, "c3", wavBytes(8000, 2, 8000))
	stages := f.wait(t, "c3", func(m map[string]store.Stage) bool { return m[StageNotify].State == store.StageFailed })
	if s := stages[StageNotify]; s.Attempts != 1 || !strings.Contains(s.LastError, "login refused") {
		t.Errorf("notify: %+v, want one attempt failed for good", s)
	}
}
