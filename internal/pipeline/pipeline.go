package pipeline

import (
	"bytes"
	"context"
	"database/sql"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"sync"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/riverqueue/river"
	"github.com/riverqueue/river/riverdriver"
	"github.com/riverqueue/river/riverdriver/riverpgxv5"
	"github.com/riverqueue/river/riverdriver/riversqlite"
	"github.com/riverqueue/river/rivermigrate"
	"github.com/riverqueue/river/rivertype"

	"github.com/callrec/callrec/internal/analytics"
	"github.com/callrec/callrec/internal/blob"
	"github.com/callrec/callrec/internal/store"
	"github.com/callrec/callrec/internal/transcribe"
	"github.com/callrec/callrec/internal/transcript"
)

// StageArgs is the River job of one stage of one call.
type StageArgs struct {
	CallID string `json:"call_id"`
	Stage  string `json:"stage"`
}

// Kind implements river.JobArgs.
func (StageArgs) Kind() string { return "callrec_stage" }

// Renderer makes the report files of a call (render stage): file name
// (such as "report.html") to content.
type Renderer interface {
	Render(ctx context.Context, call *store.Call, doc *transcript.Document) (map[string][]byte, error)
}

// Notifier tells the owner a call is processed (notify stage). outputs maps
// output names (as Renderer returned them, plus "transcript.json" and
// "recording") to blob keys. It must be idempotent per call.
type Notifier interface {
	Notify(ctx context.Context, call *store.Call, doc *transcript.Document, outputs map[string]string) error
}

// Config wires a Pipeline.
type Config struct {
	Store *store.Store
	Blob  blob.Store
	// Engine makes the transcription engine on first use (engines load
	// models); it is called at most once.
	Engine    func() (transcribe.Engine, error)
	Analytics analytics.Options
	Renderer  Renderer
	Notifier  Notifier
	// Workers is how many stages run at once; 0 makes an insert-only
	// pipeline (this node queues, others process).
	Workers int
	// MaxAttempts per stage (transient failures are retried with backoff).
	MaxAttempts int
	// StageTimeout bounds one attempt of a stage.
	StageTimeout time.Duration
	// Retention deletes old calls (a periodic job).
	Retention Retention
	// Now is the clock (tests); nil means time.Now.
	Now func() time.Time
	// OnStage, when set, is told of every stage attempt's outcome (metrics).
	OnStage func(stage string, took time.Duration, err error)
	// ScratchDir holds temporary copies of recordings for remote blob stores.
	ScratchDir string
	Logger     *slog.Logger
}

// Pipeline runs stages as River jobs on the call store's database.
type Pipeline struct {
	cfg   Config
	log   *slog.Logger
	queue queue

	engineOnce sync.Once
	engine     transcribe.Engine
	engineErr  error
}

// New migrates River's tables and builds the job client (not started).
func New(ctx context.Context, cfg Config) (*Pipeline, error) {
	if cfg.Store == nil || cfg.Blob == nil || cfg.Engine == nil {
		return nil, errors.New("pipeline: store, blob and engine are required")
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.Default()
	}
	if cfg.MaxAttempts <= 0 {
		cfg.MaxAttempts = 5
	}
	if cfg.StageTimeout <= 0 {
		cfg.StageTimeout = 30 * time.Minute
	}
	if cfg.Renderer == nil {
		cfg.Renderer = BasicRenderer{}
	}
	if cfg.Notifier == nil {
		cfg.Notifier = LogNotifier{Blob: cfg.Blob, Logger: cfg.Logger}
	}
	p := &Pipeline{cfg: cfg, log: cfg.Logger.With("component", "pipeline")}
	workers := river.NewWorkers()
	if err := river.AddWorkerSafely(workers, &stageWorker{p: p}); err != nil {
		return nil, err
	}
	if err := river.AddWorkerSafely(workers, &retentionWorker{p: p}); err != nil {
		return nil, err
	}
	var queues map[string]river.QueueConfig
	if cfg.Workers > 0 {
		queues = map[string]river.QueueConfig{river.QueueDefault: {MaxWorkers: cfg.Workers}}
	}
	rcfg := &river.Config{
		Queues:               queues,
		Workers:              workers,
		JobTimeout:           cfg.StageTimeout,
		RescueStuckJobsAfter: cfg.StageTimeout + time.Minute,
		MaxAttempts:          cfg.MaxAttempts,
		RetryPolicy:          backoff{},
		FetchPollInterval:    500 * time.Millisecond,
		PeriodicJobs:         p.periodicJobs(),
		Logger:               slog.New(levelFloor{h: cfg.Logger.Handler(), min: slog.LevelWarn}),
	}
	var err error
	if cfg.Store.Postgres() {
		var c *river.Client[pgx.Tx]
		if c, err = newClient(ctx, riverpgxv5.New(cfg.Store.Pool()), rcfg); err == nil {
			p.queue = pgQueue{c}
		}
	} else {
		var c *river.Client[*sql.Tx]
		if c, err = newClient(ctx, riversqlite.New(cfg.Store.DB()), rcfg); err == nil {
			p.queue = sqliteQueue{c}
		}
	}
	if err != nil {
		return nil, err
	}
	return p, nil
}

func newClient[TTx any](ctx context.Context, driver riverdriver.Driver[TTx], cfg *river.Config) (*river.Client[TTx], error) {
	migrator, err := rivermigrate.New(driver, nil)
	if err != nil {
		return nil, fmt.Errorf("pipeline: job queue migrations: %w", err)
	}
	if _, err := migrator.Migrate(ctx, rivermigrate.DirectionUp, nil); err != nil {
		return nil, fmt.Errorf("pipeline: job queue migrations: %w", err)
	}
	c, err := river.NewClient(driver, cfg)
	if err != nil {
		return nil, fmt.Errorf("pipeline: job client: %w", err)
	}
	return c, nil
}

// queue is River's client on one of its drivers.
type queue interface {
	insertTx(ctx context.Context, tx *store.Tx, args StageArgs) error
	completeTx(ctx context.Context, tx *store.Tx, job *river.Job[StageArgs]) error
	start(ctx context.Context) error
	stop(ctx context.Context) error
	stopAndCancel(ctx context.Context) error
}

// sqliteQueue is River on the SQLite database (riversqlite).
type sqliteQueue struct{ c *river.Client[*sql.Tx] }

func (q sqliteQueue) insertTx(ctx context.Context, tx *store.Tx, a StageArgs) error {
	_, err := q.c.InsertTx(ctx, tx.SQL(), a, nil)
	return err
}
func (q sqliteQueue) completeTx(ctx context.Context, tx *store.Tx, job *river.Job[StageArgs]) error {
	_, err := river.JobCompleteTx[*riversqlite.Driver](ctx, tx.SQL(), job)
	return err
}
func (q sqliteQueue) start(ctx context.Context) error         { return q.c.Start(ctx) }
func (q sqliteQueue) stop(ctx context.Context) error          { return q.c.Stop(ctx) }
func (q sqliteQueue) stopAndCancel(ctx context.Context) error { return q.c.StopAndCancel(ctx) }

// pgQueue is River on PostgreSQL (riverpgxv5), shared by many nodes.
type pgQueue struct{ c *river.Client[pgx.Tx] }

func (q pgQueue) insertTx(ctx context.Context, tx *store.Tx, a StageArgs) error {
	_, err := q.c.InsertTx(ctx, tx.PGX(), a, nil)
	return err
}
func (q pgQueue) completeTx(ctx context.Context, tx *store.Tx, job *river.Job[StageArgs]) error {
	_, err := river.JobCompleteTx[*riverpgxv5.Driver](ctx, tx.PGX(), job)
	return err
}
func (q pgQueue) start(ctx context.Context) error         { return q.c.Start(ctx) }
func (q pgQueue) stop(ctx context.Context) error          { return q.c.Stop(ctx) }
func (q pgQueue) stopAndCancel(ctx context.Context) error { return q.c.StopAndCancel(ctx) }

func (c Config) now() time.Time {
	if c.Now != nil {
		return c.Now()
	}
	return time.Now()
}

// backoff retries after 5 s, 10 s, 20 s… up to 10 minutes.
type backoff struct{}

func (backoff) NextRetry(job *rivertype.JobRow) time.Time {
	d := 5 * time.Second << min(job.Attempt-1, 7)
	return time.Now().Add(min(d, 10*time.Minute))
}

// Start resumes jobs a killed process left running (the SQLite queue has a
// single node, so nothing else can be running them) and starts workers.
func (p *Pipeline) Start(ctx context.Context) error {
	if p.cfg.Workers == 0 {
		return nil
	}
	if !p.cfg.Store.Postgres() {
		// On PostgreSQL other nodes may be running jobs; River's rescuer
		// returns a dead node's jobs after pipeline.stage_timeout.
		res, err := p.cfg.Store.DB().ExecContext(ctx,
			`UPDATE river_job SET state = 'available', scheduled_at = CURRENT_TIMESTAMP WHERE state = 'running'`)
		if err != nil {
			return fmt.Errorf("pipeline: resume interrupted jobs: %w", err)
		}
		if n, _ := res.RowsAffected(); n > 0 {
			p.log.Warn("resuming stages interrupted by a stop", "jobs", n)
		}
	}
	if err := p.queue.start(ctx); err != nil {
		return fmt.Errorf("pipeline: start: %w", err)
	}
	return nil
}

// Stop waits for running stages until ctx ends, then cancels them (they
// are resumed at the next start).
func (p *Pipeline) Stop(ctx context.Context) {
	if p.cfg.Workers == 0 {
		return
	}
	defer func() {
		// Engines hold models (PocketSphinx: about 100 MB a decoder).
		if c, ok := p.engine.(io.Closer); ok {
			c.Close()
		}
	}()
	if err := p.queue.stop(ctx); err != nil {
		cctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		_ = p.queue.stopAndCancel(cctx)
	}
}

// EnqueueTx queues a call's processing inside tx (the transaction that
// marks its recording complete).
func (p *Pipeline) EnqueueTx(ctx context.Context, tx *store.Tx, callID string) error {
	for _, s := range stageOrder {
		if err := p.cfg.Store.SaveStageTx(ctx, tx, &store.Stage{CallID: callID, Name: s, State: store.StagePending}); err != nil {
			return err
		}
	}
	if err := p.queue.insertTx(ctx, tx, StageArgs{CallID: callID, Stage: StageTranscribe}); err != nil {
		return fmt.Errorf("queue processing of %s: %w", callID, err)
	}
	return nil
}

// Retry queues a stage again (after a failure); later stages follow.
func (p *Pipeline) Retry(ctx context.Context, callID, stage string) error {
	if !validStage(stage) {
		return fmt.Errorf("unknown stage %q (one of %v)", stage, stageOrder)
	}
	return p.cfg.Store.WithTx(ctx, func(tx *store.Tx) error {
		st := &store.Stage{CallID: callID, Name: stage, State: store.StagePending}
		if old, err := p.cfg.Store.Stage(ctx, callID, stage); err == nil {
			st.Attempts = old.Attempts
		}
		if err := p.cfg.Store.SaveStageTx(ctx, tx, st); err != nil {
			return err
		}
		return p.queue.insertTx(ctx, tx, StageArgs{CallID: callID, Stage: stage})
	})
}

func validStage(s string) bool {
	for _, n := range stageOrder {
		if n == s {
			return true
		}
	}
	return false
}

// OutputKey is where a call's stage output lives in the blob store.
func OutputKey(callID, name string) string { return "calls/" + callID + "/" + name }

type stageWorker struct {
	river.WorkerDefaults[StageArgs]
	p *Pipeline
}

// Work runs one stage attempt.
func (w *stageWorker) Work(ctx context.Context, job *river.Job[StageArgs]) error {
	p := w.p
	a := job.Args
	log := p.log.With("call_id", a.CallID, "stage", a.Stage, "attempt", job.Attempt)
	call, err := p.cfg.Store.GetCall(ctx, a.CallID)
	if errors.Is(err, store.ErrNotFound) {
		log.Warn("call deleted; dropping its processing")
		return river.JobCancel(err)
	}
	if err != nil {
		return err
	}
	started := time.Now().UTC()
	st := &store.Stage{CallID: a.CallID, Name: a.Stage, State: store.StageRunning, Attempts: job.Attempt, StartedAt: &started}
	if err := p.cfg.Store.SaveStage(ctx, st); err != nil {
		return err
	}
	log.Info("stage started")
	key, runErr := p.runStage(ctx, call, a.Stage)
	finished := time.Now().UTC()
	st.FinishedAt = &finished
	if p.cfg.OnStage != nil {
		p.cfg.OnStage(a.Stage, finished.Sub(started), runErr)
	}
	if runErr != nil {
		st.LastError = runErr.Error()
		final := isInput(runErr) || job.Attempt >= job.MaxAttempts
		if final {
			st.State = store.StageFailed
		} else {
			st.State = store.StageRetry
		}
		if err := p.cfg.Store.SaveStage(context.WithoutCancel(ctx), st); err != nil {
			log.Error("stage state not saved", "err", err)
		}
		log.Warn("stage failed", "err", runErr, "final", final, "took", finished.Sub(started))
		if isInput(runErr) {
			return river.JobCancel(runErr)
		}
		return runErr
	}
	st.State = store.StageDone
	st.OutputKey = key
	st.LastError = ""
	err = p.cfg.Store.WithTx(ctx, func(tx *store.Tx) error {
		if err := p.cfg.Store.SaveStageTx(ctx, tx, st); err != nil {
			return err
		}
		if n := next(a.Stage); n != "" {
			if err := p.queue.insertTx(ctx, tx, StageArgs{CallID: a.CallID, Stage: n}); err != nil {
				return err
			}
		}
		return p.queue.completeTx(ctx, tx, job)
	})
	if err != nil {
		return fmt.Errorf("record stage %s done: %w", a.Stage, err)
	}
	log.Info("stage done", "output", key, "took", finished.Sub(started))
	return nil
}

func (p *Pipeline) getEngine() (transcribe.Engine, error) {
	p.engineOnce.Do(func() { p.engine, p.engineErr = p.cfg.Engine() })
	return p.engine, p.engineErr
}

// runStage does one stage's work and returns its output key. A stage whose
// output already exists (an attempt that finished before a crash) is not
// done again.
func (p *Pipeline) runStage(ctx context.Context, call *store.Call, stage string) (string, error) {
	ctx, cancel := context.WithTimeout(ctx, p.cfg.StageTimeout)
	defer cancel()
	switch stage {
	case StageTranscribe:
		key := OutputKey(call.ID, "words.json")
		if p.exists(ctx, key) {
			return key, nil
		}
		rec, err := p.loadRecording(ctx, call)
		if err != nil {
			return "", err
		}
		engine, err := p.getEngine()
		if err != nil {
			return "", inputErr("transcription engine: %v", err)
		}
		words, err := Transcribe(ctx, engine, rec)
		if err != nil {
			return "", err
		}
		return key, p.putJSON(ctx, key, words)
	case StageAnalyze:
		key := OutputKey(call.ID, "transcript.json")
		if p.exists(ctx, key) {
			return key, nil
		}
		var words Words
		if err := p.getJSON(ctx, OutputKey(call.ID, "words.json"), &words); err != nil {
			return "", err
		}
		rec, err := p.loadRecording(ctx, call)
		if err != nil {
			return "", err
		}
		doc, err := Analyze(rec, &words, p.cfg.Analytics)
		if err != nil {
			return "", err
		}
		if doc.CallrecMetadata == nil {
			doc.CallrecMetadata = &transcript.CallrecMetadata{}
		}
		doc.CallrecMetadata.CallID = call.ID
		return key, p.putJSON(ctx, key, doc)
	case StageRender:
		doc, err := p.transcript(ctx, call.ID)
		if err != nil {
			return "", err
		}
		files, err := p.cfg.Renderer.Render(ctx, call, doc)
		if err != nil {
			return "", err
		}
		var first string
		for name, data := range files {
			key := OutputKey(call.ID, name)
			if err := p.cfg.Blob.Put(ctx, key, bytes.NewReader(data)); err != nil {
				return "", fmt.Errorf("store %s: %w", key, err)
			}
			if first == "" || name == "report.html" {
				first = key
			}
		}
		return first, nil
	case StageNotify:
		doc, err := p.transcript(ctx, call.ID)
		if err != nil {
			return "", err
		}
		outputs := map[string]string{"transcript.json": OutputKey(call.ID, "transcript.json"), "recording": call.RecordingKey}
		if st, err := p.cfg.Store.Stage(ctx, call.ID, StageRender); err == nil && st.OutputKey != "" {
			outputs["report"] = st.OutputKey
		}
		if err := p.cfg.Notifier.Notify(ctx, call, doc, outputs); err != nil {
			return "", err
		}
		return OutputKey(call.ID, "notification.json"), nil
	}
	return "", inputErr("unknown stage %q", stage)
}

func (p *Pipeline) transcript(ctx context.Context, callID string) (*transcript.Document, error) {
	rc, err := p.cfg.Blob.Open(ctx, OutputKey(callID, "transcript.json"))
	if err != nil {
		return nil, fmt.Errorf("read transcript: %w", err)
	}
	defer rc.Close()
	doc, err := transcript.Decode(rc)
	if err != nil {
		return nil, inputErr("%v", err)
	}
	return doc, nil
}

func (p *Pipeline) exists(ctx context.Context, key string) bool {
	_, err := p.cfg.Blob.Stat(ctx, key)
	return err == nil
}

func (p *Pipeline) putJSON(ctx context.Context, key string, v any) error {
	b, err := EncodeJSON(v)
	if err != nil {
		return err
	}
	if err := p.cfg.Blob.Put(ctx, key, bytes.NewReader(b)); err != nil {
		return fmt.Errorf("store %s: %w", key, err)
	}
	return nil
}

func (p *Pipeline) getJSON(ctx context.Context, key string, v any) error {
	rc, err := p.cfg.Blob.Open(ctx, key)
	if err != nil {
		return fmt.Errorf("read %s: %w", key, err)
	}
	defer rc.Close()
	b, err := io.ReadAll(rc)
	if err != nil {
		return fmt.Errorf("read %s: %w", key, err)
	}
	if err := jsonUnmarshal(b, v); err != nil {
		return inputErr("%s: %v", key, err)
	}
	return nil
}

// loadRecording reads a call's recording from the blob store.
func (p *Pipeline) loadRecording(ctx context.Context, call *store.Call) (*transcribe.Recording, error) {
	if call.RecordingKey == "" {
		return nil, inputErr("call %s has no recording", call.ID)
	}
	if l, ok := p.cfg.Blob.(blob.Localer); ok {
		if path, ok := l.LocalPath(call.RecordingKey); ok {
			rec, err := LoadRecording(path)
			if err != nil {
				return nil, err
			}
			rec.CallID = call.ID
			return rec, nil
		}
	}
	rc, err := p.cfg.Blob.Open(ctx, call.RecordingKey)
	if err != nil {
		return nil, fmt.Errorf("read recording: %w", err)
	}
	defer rc.Close()
	data, err := io.ReadAll(rc)
	if err != nil {
		return nil, fmt.Errorf("read recording: %w", err)
	}
	dir := p.cfg.ScratchDir
	if dir == "" {
		dir = os.TempDir()
	}
	path := filepath.Join(dir, call.ID+".wav")
	if err := os.WriteFile(path, data, 0o600); err != nil {
		return nil, fmt.Errorf("scratch copy of recording: %w", err)
	}
	rec, err := DecodeRecording(path, data)
	if err != nil {
		return nil, err
	}
	rec.CallID = call.ID
	return rec, nil
}

// levelFloor drops records below min (River is chatty at INFO).
type levelFloor struct {
	h   slog.Handler
	min slog.Level
}

func (l levelFloor) Enabled(ctx context.Context, lv slog.Level) bool {
	return lv >= l.min && l.h.Enabled(ctx, lv)
}
func (l levelFloor) Handle(ctx context.Context, r slog.Record) error { return l.h.Handle(ctx, r) }
func (l levelFloor) WithAttrs(as []slog.Attr) slog.Handler {
	return levelFloor{h: l.h.WithAttrs(as), min: l.min}
}
func (l levelFloor) WithGroup(n string) slog.Handler {
	return levelFloor{h: l.h.WithGroup(n), min: l.min}
}
