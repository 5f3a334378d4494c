package queue

import (
	"bytes"
	"context"
	"encoding/binary"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/callrec/callrec/internal/blob"
	"github.com/callrec/callrec/internal/calls"
	"github.com/callrec/callrec/internal/pipeline"
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

// testRenderer stands in for the report renderer: it makes the three
// report files from the transcript.
type testRenderer struct{}

func (testRenderer) Render(_ context.Context, call *store.Call, doc *transcript.Document) (map[string][]byte, error) {
	body := []byte(call.ID + ": " + string(rune('0'+len(doc.Transcript))) + " turns")
	return map[string][]byte{calls.ReportDOCX: body, calls.ReportPDF: body, calls.ReportHTML: body}, nil
}

// recordingNotifier records what each call's notification offered.
type recordingNotifier struct {
	mu   sync.Mutex
	sent map[string][]calls.Download
	bs   blob.Store
}

func (n *recordingNotifier) Notify(ctx context.Context, call *store.Call, _ *transcript.Document, ds []calls.Download) error {
	n.mu.Lock()
	defer n.mu.Unlock()
	if n.sent == nil {
		n.sent = map[string][]calls.Download{}
	}
	n.sent[call.ID] = ds
	return n.bs.Put(ctx, calls.OutputKey(call.ID, calls.Notification), strings.NewReader("{}"))
}

func (n *recordingNotifier) offered(id string) []calls.Download {
	n.mu.Lock()
	defer n.mu.Unlock()
	return n.sent[id]
}

type fixture struct {
	st       *store.Store
	bs       blob.Store
	q        *Queue
	notifier *recordingNotifier
	scratch  string
}

// newFixture starts a queue with one worker on a fresh SQLite store and a
// local blob store. Options change the queue's or the runner's config.
func newFixture(t *testing.T, url string, maxAttempts int, opts ...func(*Config, *pipeline.Config)) *fixture {
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
	f := &fixture{st: st, bs: bs, notifier: &recordingNotifier{bs: bs}, scratch: filepath.Join(dir, "scratch")}
	pcfg := pipeline.Config{
		Engine: func() (transcribe.Engine, error) {
			return openai.New(openai.Config{URL: url, Retries: -1})
		},
		Renderer: testRenderer{},
		Notifier: f.notifier,
	}
	cfg := Config{
		Logger: slog.New(slog.NewTextHandler(io.Discard, nil)),
		Store:  st, Blob: bs, Workers: 1, MaxAttempts: maxAttempts, StageTimeout: 30 * time.Second,
		ScratchDir: f.scratch,
	}
	for _, o := range opts {
		o(&cfg, &pcfg)
	}
	f.bs = cfg.Blob
	runner, err := pipeline.NewRunner(pcfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { runner.Close() })
	cfg.Runner = runner
	q, err := New(ctx, cfg)
	if err != nil {
		t.Fatal(err)
	}
	if err := q.Start(ctx); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		q.Stop(ctx)
	})
	f.q = q
	return f
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
	c.RecordingKey = calls.RecordingKey(id, now)
	if err := f.bs.Put(ctx, c.RecordingKey, bytes.NewReader(recording)); err != nil {
		t.Fatal(err)
	}
	c.Status, c.RecordingState, c.EndedAt = store.StatusCompleted, store.RecordingComplete, &now
	if err := f.st.WithTx(ctx, func(tx *store.Tx) error {
		if err := f.st.UpdateCallTx(ctx, tx, c); err != nil {
			return err
		}
		return f.q.EnqueueTx(ctx, tx, id)
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

func notified(m map[string]store.Stage) bool { return m[calls.StageNotify].State == store.StageDone }

func TestStagesRunInOrder(t *testing.T) {
	srv, requests := whisper(t, 0)
	f := newFixture(t, srv.URL, 3)
	f.addCall(t, "c1", wavBytes(8000, 2, 16000))
	stages := f.wait(t, "c1", notified)
	for _, name := range calls.Stages() {
		s := stages[name]
		if s.State != store.StageDone || s.Attempts != 1 || s.OutputKey == "" || s.FinishedAt == nil {
			t.Errorf("stage %s: %+v", name, s)
		}
	}
	if !stages[calls.StageNotify].FinishedAt.After(*stages[calls.StageTranscribe].StartedAt) {
		t.Error("notify finished before transcribe started")
	}
	if n := requests.Load(); n != 2 {
		t.Errorf("engine requests %d, want 2 (one per channel)", n)
	}
	rc, err := f.bs.Open(context.Background(), calls.OutputKey("c1", calls.Transcript))
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
		return m[calls.StageTranscribe].State == store.StageRetry && strings.Contains(m[calls.StageTranscribe].LastError, "overloaded") &&
			m[calls.StageTranscribe].NextAttemptAt != nil
	})
	stages := f.wait(t, "c2", notified)
	if s := stages[calls.StageTranscribe]; s.Attempts != 2 || s.LastError != "" || s.NextAttemptAt != nil {
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
		stages := f.wait(t, id, func(m map[string]store.Stage) bool { return m[calls.StageTranscribe].State == store.StageFailed })
		s := stages[calls.StageTranscribe]
		if s.Attempts != 1 || !strings.Contains(s.LastError, c.want) {
			t.Errorf("%s: %+v, want one attempt and an error mentioning %q", name, s, c.want)
		}
		if stages[calls.StageAnalyze].State != store.StagePending {
			t.Errorf("%s: analyze ran after a failed transcribe: %+v", name, stages[calls.StageAnalyze])
		}
	}
	if requests.Load() != 0 {
		t.Error("a bad recording was sent to the engine")
	}
}

func TestRetryUnknownStage(t *testing.T) {
	srv, _ := whisper(t, 0)
	f := newFixture(t, srv.URL, 1)
	if err := f.q.Retry(context.Background(), "x", "publish"); err == nil {
		t.Fatal("unknown stage accepted")
	}
}

func TestRetentionDeletesOldCalls(t *testing.T) {
	srv, _ := whisper(t, 0)
	var now atomic.Int64 // the queue's clock, unix nanoseconds
	now.Store(time.Now().UnixNano())
	f := newFixture(t, srv.URL, 3, func(c *Config, _ *pipeline.Config) {
		c.Now = func() time.Time { return time.Unix(0, now.Load()) }
		c.RetentionDays, c.RetentionEvery = 1, time.Hour
	})
	ctx := context.Background()
	f.addCall(t, "old", wavBytes(8000, 2, 8000))
	f.wait(t, "old", notified)
	old, err := f.st.GetCall(ctx, "old")
	if err != nil {
		t.Fatal(err)
	}
	// Today nothing is expired.
	if err := f.q.Expire(ctx); err != nil {
		t.Fatal(err)
	}
	if _, err := f.st.GetCall(ctx, "old"); err != nil {
		t.Fatalf("a call within the retention period was deleted: %v", err)
	}
	// Two days on, the call goes with everything it made.
	now.Store(time.Now().Add(48 * time.Hour).UnixNano())
	if err := f.q.Expire(ctx); err != nil {
		t.Fatal(err)
	}
	if _, err := f.st.GetCall(ctx, "old"); err == nil {
		t.Fatal("an expired call was not deleted")
	}
	left, err := f.bs.List(ctx, "")
	if err != nil {
		t.Fatal(err)
	}
	if len(left) != 0 {
		t.Errorf("objects left after retention: %v", left)
	}
	if _, err := f.bs.Stat(ctx, old.RecordingKey); err == nil {
		t.Error("the recording survived retention")
	}
}

// permanentNotifier fails in a way no retry can fix (as a refused SMTP
// log-in is).
type permanentNotifier struct{}

type permanentErr struct{}

func (permanentErr) Error() string   { return "login refused; check notify.email.smtp.username/password" }
func (permanentErr) Permanent() bool { return true }

func (permanentNotifier) Notify(context.Context, *store.Call, *transcript.Document, []calls.Download) error {
	return permanentErr{}
}

func TestPermanentNotifyErrorFailsAtOnce(t *testing.T) {
	srv, _ := whisper(t, 0)
	f := newFixture(t, srv.URL, 5, func(_ *Config, p *pipeline.Config) { p.Notifier = permanentNotifier{} })
	f.addCall(t, "c3", wavBytes(8000, 2, 8000))
	stages := f.wait(t, "c3", func(m map[string]store.Stage) bool { return m[calls.StageNotify].State == store.StageFailed })
	if s := stages[calls.StageNotify]; s.Attempts != 1 || !strings.Contains(s.LastError, "login refused") {
		t.Errorf("notify: %+v, want one attempt failed for good", s)
	}
}

// TestNotifyOffersEveryOutput: the render stage records every file it
// wrote, and the notify stage offers all of them with the recording and
// the transcript, in display order.
func TestNotifyOffersEveryOutput(t *testing.T) {
	srv, _ := whisper(t, 0)
	f := newFixture(t, srv.URL, 3)
	f.addCall(t, "c4", wavBytes(8000, 2, 8000))
	stages := f.wait(t, "c4", notified)
	want := []string{calls.OutputKey("c4", calls.ReportDOCX), calls.OutputKey("c4", calls.ReportHTML), calls.OutputKey("c4", calls.ReportPDF)}
	if got := stages[calls.StageRender].Outputs; !slices.Equal(got, want) {
		t.Errorf("render stage outputs %v, want %v", got, want)
	}
	var names []string
	for _, d := range f.notifier.offered("c4") {
		names = append(names, d.Name)
	}
	if got, want := strings.Join(names, " "), "report.docx report.pdf report.html recording transcript.json"; got != want {
		t.Errorf("notification offered %q, want %q", got, want)
	}
}

// hiddenLocal is a blob store that is not local (no LocalPath), as an S3
// store is: recordings are read through a scratch copy.
type hiddenLocal struct{ blob.Store }

// TestScratchCopyRemoved: a recording read from a store that is not local
// is copied to the scratch directory for its stage and removed after.
func TestScratchCopyRemoved(t *testing.T) {
	srv, requests := whisper(t, 0)
	f := newFixture(t, srv.URL, 3, func(c *Config, _ *pipeline.Config) { c.Blob = hiddenLocal{c.Blob} })
	f.addCall(t, "c5", wavBytes(8000, 2, 8000))
	f.wait(t, "c5", notified)
	if requests.Load() != 2 {
		t.Errorf("engine requests %d, want 2", requests.Load())
	}
	entries, err := os.ReadDir(f.scratch)
	if err != nil {
		t.Fatalf("scratch directory: %v", err)
	}
	if len(entries) != 0 {
		t.Errorf("scratch copies left: %v", entries)
	}
}
