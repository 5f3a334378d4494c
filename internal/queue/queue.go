// Package queue runs a call's processing as durable River jobs on the call
// store's database (riversqlite, or riverpgxv5 on PostgreSQL): one job per
// stage, queued in the transaction that records the previous stage done
// (or, for the first, the call's recording complete), so a crash can
// neither lose a call's processing nor run a stage twice after it was
// recorded. The stages' work is package pipeline's; this package is the
// glue: jobs, retries with backoff, stage records, resuming interrupted
// jobs, and the periodic retention job.
//
// Stages are retried with backoff up to MaxAttempts, except the notify
// stage: a mail server may be down for hours, so it is retried until
// NotifyRetryFor has passed since its first attempt, 5 s after the first
// failure and twice as long after each next one, at most NotifyBackoffMax.
// A failure no retry can fix (bad input, a refused SMTP log-in) fails any
// stage at once.
package queue

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"log/slog"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/riverqueue/river"
	"github.com/riverqueue/river/riverdriver"
	"github.com/riverqueue/river/riverdriver/riverpgxv5"
	"github.com/riverqueue/river/riverdriver/riversqlite"
	"github.com/riverqueue/river/rivermigrate"
	"github.com/riverqueue/river/rivertype"

	"github.com/callrec/callrec/internal/blob"
	"github.com/callrec/callrec/internal/calls"
	"github.com/callrec/callrec/internal/metrics"
	"github.com/callrec/callrec/internal/pipeline"
	"github.com/callrec/callrec/internal/store"
)

// StageArgs is the River job of one stage of one call.
type StageArgs struct {
	CallID string `json:"call_id"`
	Stage  string `json:"stage"`
}

// Kind implements river.JobArgs.
func (StageArgs) Kind() string { return "callrec_stage" }

// Config wires a Queue.
type Config struct {
	// Store holds the call and stage records and River's tables. Required.
	Store *store.Store
	// Blob holds recordings and outputs. Required.
	Blob blob.Store
	// Runner does the stages' work. Required unless Workers is 0.
	Runner *pipeline.Runner
	// Workers is how many stages run at once; 0 makes an insert-only queue
	// (this node queues, others process).
	Workers int
	// MaxAttempts per stage (transient failures are retried with backoff);
	// 0 means 5.
	MaxAttempts int
	// StageTimeout bounds one attempt of a stage; 0 means 30 minutes.
	StageTimeout time.Duration
	// NotifyRetryFor is how long the notify stage is retried, from its
	// first attempt, before it fails for good (MaxAttempts does not bound
	// it); 0 means DefaultNotifyRetryFor.
	NotifyRetryFor time.Duration
	// NotifyBackoffMax caps the wait between two attempts of the notify
	// stage; 0 means DefaultNotifyBackoffMax.
	NotifyBackoffMax time.Duration
	// RetentionDays, when positive, deletes calls older than this many
	// days (a periodic job, every RetentionEvery, default hourly).
	RetentionDays  int
	RetentionEvery time.Duration
	// ScratchDir holds temporary copies of recordings read from a blob
	// store that is not local; each is removed when its stage is done.
	ScratchDir string
	// Metrics receives stage durations and failures; nil for none.
	Metrics *metrics.Metrics
	// Now is the clock (retention); nil means time.Now.
	Now    func() time.Time
	Logger *slog.Logger
}

// Defaults of the notify stage's retries.
const (
	// DefaultNotifyRetryFor is how long a notification is retried.
	DefaultNotifyRetryFor = 24 * time.Hour
	// DefaultNotifyBackoffMax caps the wait between two notify attempts.
	DefaultNotifyBackoffMax = 30 * time.Minute
)

// Queue queues and runs stages. Make it with New; Start runs workers.
type Queue struct {
	cfg    Config
	log    *slog.Logger
	client client
	// notifyAttempts bounds the attempts of a notify job: more than its
	// schedule makes within NotifyRetryFor (River needs a bound; the
	// window is what ends the retries).
	notifyAttempts int
}

// New migrates River's tables and builds the job client (not started).
func New(ctx context.Context, cfg Config) (*Queue, error) {
	if cfg.Store == nil || cfg.Blob == nil || (cfg.Runner == nil && cfg.Workers > 0) {
		return nil, errors.New("queue: a store, a blob store and (with workers) a runner are required")
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
	if cfg.NotifyRetryFor <= 0 {
		cfg.NotifyRetryFor = DefaultNotifyRetryFor
	}
	if cfg.NotifyBackoffMax <= 0 {
		cfg.NotifyBackoffMax = DefaultNotifyBackoffMax
	}
	if cfg.RetentionEvery <= 0 {
		cfg.RetentionEvery = time.Hour
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	q := &Queue{cfg: cfg, log: cfg.Logger.With("component", "pipeline"),
		notifyAttempts: attemptsWithin(cfg.NotifyRetryFor, cfg.NotifyBackoffMax)}
	workers := river.NewWorkers()
	if err := river.AddWorkerSafely(workers, &stageWorker{q: q}); err != nil {
		return nil, err
	}
	if err := river.AddWorkerSafely(workers, &retentionWorker{q: q}); err != nil {
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
		PeriodicJobs:         q.periodicJobs(),
		Logger:               slog.New(levelFloor{h: cfg.Logger.Handler(), min: slog.LevelWarn}),
	}
	var err error
	if cfg.Store.Postgres() {
		var c *river.Client[pgx.Tx]
		if c, err = newClient(ctx, riverpgxv5.New(cfg.Store.Pool()), rcfg); err == nil {
			q.client = pgClient{c}
		}
	} else {
		var c *river.Client[*sql.Tx]
		if c, err = newClient(ctx, riversqlite.New(cfg.Store.DB()), rcfg); err == nil {
			q.client = sqliteClient{c: c, db: cfg.Store.DB()}
		}
	}
	if err != nil {
		return nil, err
	}
	return q, nil
}

func newClient[TTx any](ctx context.Context, driver riverdriver.Driver[TTx], cfg *river.Config) (*river.Client[TTx], error) {
	migrator, err := rivermigrate.New(driver, nil)
	if err != nil {
		return nil, fmt.Errorf("queue: job table migrations: %w", err)
	}
	if _, err := migrator.Migrate(ctx, rivermigrate.DirectionUp, nil); err != nil {
		return nil, fmt.Errorf("queue: job table migrations: %w", err)
	}
	c, err := river.NewClient(driver, cfg)
	if err != nil {
		return nil, fmt.Errorf("queue: job client: %w", err)
	}
	return c, nil
}

// client is River's client on one of its drivers.
type client interface {
	insertTx(ctx context.Context, tx *store.Tx, args river.JobArgs, opts *river.InsertOpts) error
	completeTx(ctx context.Context, tx *store.Tx, job *river.Job[StageArgs]) error
	// resumeInterrupted makes jobs a killed process left running
	// available again, where nothing else can be running them.
	resumeInterrupted(ctx context.Context) (int64, error)
	start(ctx context.Context) error
	stop(ctx context.Context) error
	stopAndCancel(ctx context.Context) error
}

// sqliteClient is River on the SQLite database (riversqlite).
type sqliteClient struct {
	c  *river.Client[*sql.Tx]
	db *sql.DB
}

func (q sqliteClient) insertTx(ctx context.Context, tx *store.Tx, a river.JobArgs, opts *river.InsertOpts) error {
	_, err := q.c.InsertTx(ctx, tx.SQL(), a, opts)
	return err
}
func (q sqliteClient) completeTx(ctx context.Context, tx *store.Tx, job *river.Job[StageArgs]) error {
	_, err := river.JobCompleteTx[*riversqlite.Driver](ctx, tx.SQL(), job)
	return err
}

// resumeInterrupted: a SQLite database has one node, so a job still
// running at start-up was left by a process that is gone.
func (q sqliteClient) resumeInterrupted(ctx context.Context) (int64, error) {
	res, err := q.db.ExecContext(ctx,
		`UPDATE river_job SET state = 'available', scheduled_at = CURRENT_TIMESTAMP WHERE state = 'running'`)
	if err != nil {
		return 0, err
	}
	return res.RowsAffected()
}
func (q sqliteClient) start(ctx context.Context) error         { return q.c.Start(ctx) }
func (q sqliteClient) stop(ctx context.Context) error          { return q.c.Stop(ctx) }
func (q sqliteClient) stopAndCancel(ctx context.Context) error { return q.c.StopAndCancel(ctx) }

// pgClient is River on PostgreSQL (riverpgxv5), shared by many nodes.
type pgClient struct{ c *river.Client[pgx.Tx] }

func (q pgClient) insertTx(ctx context.Context, tx *store.Tx, a river.JobArgs, opts *river.InsertOpts) error {
	_, err := q.c.InsertTx(ctx, tx.PGX(), a, opts)
	return err
}
func (q pgClient) completeTx(ctx context.Context, tx *store.Tx, job *river.Job[StageArgs]) error {
	_, err := river.JobCompleteTx[*riverpgxv5.Driver](ctx, tx.PGX(), job)
	return err
}

// resumeInterrupted does nothing on PostgreSQL: other nodes may be running
// those jobs; River's rescuer returns a dead node's jobs after the stage
// timeout.
func (q pgClient) resumeInterrupted(context.Context) (int64, error) { return 0, nil }
func (q pgClient) start(ctx context.Context) error                  { return q.c.Start(ctx) }
func (q pgClient) stop(ctx context.Context) error                   { return q.c.Stop(ctx) }
func (q pgClient) stopAndCancel(ctx context.Context) error          { return q.c.StopAndCancel(ctx) }

// Retry timing.
const (
	// firstBackoff is the wait after a first failure; it doubles after
	// each next one.
	firstBackoff = 5 * time.Second
	// stageBackoffMax caps the wait between two attempts of the stages
	// other than notify.
	stageBackoffMax = 10 * time.Minute
	// maxJobAttempts is the largest max_attempts River's PostgreSQL
	// schema can hold (a smallint).
	maxJobAttempts = 32767
)

// backoff retries after 5 s, 10 s, 20 s… up to 10 minutes (the periodic
// jobs; stage jobs have the stage worker's NextRetry).
type backoff struct{}

// NextRetry implements river.ClientRetryPolicy.
func (backoff) NextRetry(job *rivertype.JobRow) time.Time {
	return time.Now().Add(delay(job.Attempt, stageBackoffMax))
}

// delay is the wait after the attempt-th failure: 5 s, doubled after
// each failure, at most ceiling.
func delay(attempt int, ceiling time.Duration) time.Duration {
	return min(firstBackoff<<min(max(attempt-1, 0), 30), ceiling)
}

// firstAttempt is when a job was first tried: the start of its earliest
// failed attempt (River records each attempt's start with its error), or
// of this attempt when none failed before.
func firstAttempt(job *rivertype.JobRow, now time.Time) time.Time {
	if len(job.Errors) > 0 {
		return job.Errors[0].At
	}
	if job.AttemptedAt != nil {
		return *job.AttemptedAt
	}
	return now
}

// retryAt says what follows the failure, at now, of an attempt of stage
// (one that a retry might fix): when it is tried next, and whether it is
// at all (false: the stage has failed for good). A notify stage is tried
// until NotifyRetryFor has passed since its first attempt (its last try
// at the end of that window); the others MaxAttempts times.
func (q *Queue) retryAt(job *rivertype.JobRow, stage string, now time.Time) (time.Time, bool) {
	if stage != calls.StageNotify {
		return now.Add(delay(job.Attempt, stageBackoffMax)), job.Attempt < job.MaxAttempts
	}
	deadline := firstAttempt(job, now).Add(q.cfg.NotifyRetryFor)
	next := now.Add(delay(job.Attempt, q.cfg.NotifyBackoffMax))
	if next.After(deadline) {
		next = deadline
	}
	return next, now.Before(deadline) && job.Attempt < job.MaxAttempts
}

// attemptsWithin is how many attempts the notify schedule (5 s doubling,
// at most ceiling, the last at the end of window) can make in window,
// with one to spare, within River's bound.
func attemptsWithin(window, ceiling time.Duration) int {
	n, waited := 1, time.Duration(0)
	for waited < window && n < maxJobAttempts {
		waited += delay(n, ceiling)
		n++
	}
	return min(n+1, maxJobAttempts)
}

// insertStage queues a stage's job inside tx; a notify job may take as
// many attempts as its retry window allows.
func (q *Queue) insertStage(ctx context.Context, tx *store.Tx, callID, stage string) error {
	var opts *river.InsertOpts
	if stage == calls.StageNotify {
		opts = &river.InsertOpts{MaxAttempts: q.notifyAttempts}
	}
	return q.client.insertTx(ctx, tx, StageArgs{CallID: callID, Stage: stage}, opts)
}

// Start resumes jobs a killed process left running and starts the
// workers; an insert-only queue (no workers) does nothing.
func (q *Queue) Start(ctx context.Context) error {
	if q.cfg.Workers == 0 {
		return nil
	}
	n, err := q.client.resumeInterrupted(ctx)
	if err != nil {
		return fmt.Errorf("queue: resume interrupted jobs: %w", err)
	}
	if n > 0 {
		q.log.Warn("resuming stages interrupted by a stop", "jobs", n)
	}
	if err := q.client.start(ctx); err != nil {
		return fmt.Errorf("queue: start: %w", err)
	}
	return nil
}

// Stop waits for running stages until ctx ends, then cancels them (they
// are resumed at the next start).
func (q *Queue) Stop(ctx context.Context) {
	if q.cfg.Workers == 0 {
		return
	}
	if err := q.client.stop(ctx); err != nil {
		cctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		_ = q.client.stopAndCancel(cctx)
	}
}

// EnqueueTx queues a call's processing inside tx (the transaction that
// marks its recording complete): a pending record for every stage, and the
// first stage's job.
func (q *Queue) EnqueueTx(ctx context.Context, tx *store.Tx, callID string) error {
	for _, s := range calls.Stages() {
		if err := q.cfg.Store.SaveStageTx(ctx, tx, &store.Stage{CallID: callID, Name: s, State: store.StagePending}); err != nil {
			return err
		}
	}
	if err := q.insertStage(ctx, tx, callID, calls.StageTranscribe); err != nil {
		return fmt.Errorf("queue processing of %s: %w", callID, err)
	}
	return nil
}

// Retry queues a stage again (after a failure); later stages follow.
func (q *Queue) Retry(ctx context.Context, callID, stage string) error {
	if !calls.IsStage(stage) {
		return fmt.Errorf("unknown stage %q (one of %v)", stage, calls.Stages())
	}
	return q.cfg.Store.WithTx(ctx, func(tx *store.Tx) error {
		st := &store.Stage{CallID: callID, Name: stage, State: store.StagePending}
		if old, err := q.cfg.Store.Stage(ctx, callID, stage); err == nil {
			st.Attempts = old.Attempts
		}
		if err := q.cfg.Store.SaveStageTx(ctx, tx, st); err != nil {
			return err
		}
		return q.insertStage(ctx, tx, callID, stage)
	})
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
