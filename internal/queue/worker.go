package queue

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/riverqueue/river"

	"github.com/callrec/callrec/internal/calls"
	"github.com/callrec/callrec/internal/pipeline"
	"github.com/callrec/callrec/internal/store"
	"github.com/callrec/callrec/internal/transcribe"
)

type stageWorker struct {
	river.WorkerDefaults[StageArgs]
	q *Queue
}

// Work runs one stage attempt: it records the stage running, has the
// runner do it, and in one transaction records it done, queues the next
// stage and completes the job. A failure no retry can fix cancels the job
// at once; others are retried with backoff (retryAt), the stage record
// saying when.
func (w *stageWorker) Work(ctx context.Context, job *river.Job[StageArgs]) error {
	q := w.q
	a := job.Args
	log := q.log.With("call_id", a.CallID, "stage", a.Stage, "attempt", job.Attempt)
	call, err := q.cfg.Store.GetCall(ctx, a.CallID)
	if errors.Is(err, store.ErrNotFound) {
		log.Warn("call deleted; dropping its processing")
		return river.JobCancel(err)
	}
	if err != nil {
		return err
	}
	started := time.Now().UTC()
	st := &store.Stage{CallID: a.CallID, Name: a.Stage, State: store.StageRunning, Attempts: job.Attempt, StartedAt: &started}
	if err := q.cfg.Store.SaveStage(ctx, st); err != nil {
		return err
	}
	log.Info("stage started")
	sctx, cancel := context.WithTimeout(ctx, q.cfg.StageTimeout)
	keys, runErr := q.cfg.Runner.Stage(sctx, a.Stage, q.job(call))
	cancel()
	finished := time.Now().UTC()
	st.FinishedAt = &finished
	took := finished.Sub(started)
	if runErr != nil {
		q.cfg.Metrics.StageFailed(a.Stage)
		st.LastError = runErr.Error()
		permanent := pipeline.Permanent(runErr)
		next, again := q.retryAt(job.JobRow, a.Stage, finished)
		// The notify stage ends with its retry window, not at MaxAttempts:
		// River would retry it, so it is cancelled.
		windowOver := !permanent && !again && a.Stage == calls.StageNotify && job.Attempt < job.MaxAttempts
		switch {
		case permanent || !again:
			st.State = store.StageFailed
			if windowOver {
				st.LastError = fmt.Sprintf("%s (tried for %s since the first attempt; giving up)", st.LastError, q.cfg.NotifyRetryFor)
			}
		default:
			st.State = store.StageRetry
			st.NextAttemptAt = &next
		}
		if err := q.cfg.Store.SaveStage(context.WithoutCancel(ctx), st); err != nil {
			log.Error("stage state not saved", "err", err)
		}
		if st.State == store.StageRetry {
			log.Warn("stage failed; retrying", "err", runErr, "next_attempt_at", next, "took", took)
		} else {
			log.Warn("stage failed", "err", runErr, "final", true, "took", took)
		}
		if permanent || windowOver {
			return river.JobCancel(runErr)
		}
		return runErr
	}
	q.cfg.Metrics.StageDone(a.Stage, took)
	st.State = store.StageDone
	st.Outputs = keys
	st.OutputKey = ""
	st.LastError = ""
	err = q.cfg.Store.WithTx(ctx, func(tx *store.Tx) error {
		if err := q.cfg.Store.SaveStageTx(ctx, tx, st); err != nil {
			return err
		}
		if n := calls.NextStage(a.Stage); n != "" {
			if err := q.insertStage(ctx, tx, a.CallID, n); err != nil {
				return err
			}
		}
		return q.client.completeTx(ctx, tx, job)
	})
	if err != nil {
		return fmt.Errorf("record stage %s done: %w", a.Stage, err)
	}
	log.Info("stage done", "outputs", keys, "took", took)
	return nil
}

// NextRetry implements river.Worker: when a stage's failed attempt is
// tried again (retryAt), never before now.
func (w *stageWorker) NextRetry(job *river.Job[StageArgs]) time.Time {
	now := time.Now()
	next, _ := w.q.retryAt(job.JobRow, job.Args.Stage, now)
	if next.Before(now) {
		return now
	}
	return next
}

// job is the runner's view of a call on this server: outputs in the blob
// store under the call's prefix, the recording read from it, and the
// downloads its stage records list.
func (q *Queue) job(call *store.Call) *pipeline.Job {
	return &pipeline.Job{
		Call:    call,
		Objects: pipeline.BlobObjects{Blob: q.cfg.Blob, CallID: call.ID},
		Recording: func(ctx context.Context) (*transcribe.Recording, func(), error) {
			return pipeline.BlobRecording(ctx, q.cfg.Blob, call.RecordingKey, q.cfg.ScratchDir)
		},
		Downloads: func(ctx context.Context) ([]calls.Download, error) {
			stages, err := q.cfg.Store.Stages(ctx, call.ID)
			if err != nil {
				return nil, err
			}
			return calls.Downloads(ctx, q.cfg.Blob, call, stages)
		},
	}
}

// RetentionArgs is the periodic retention job.
type RetentionArgs struct{}

// Kind implements river.JobArgs.
func (RetentionArgs) Kind() string { return "callrec_retention" }

type retentionWorker struct {
	river.WorkerDefaults[RetentionArgs]
	q *Queue
}

// Work deletes every call past its retention.
func (w *retentionWorker) Work(ctx context.Context, _ *river.Job[RetentionArgs]) error {
	return w.q.Expire(ctx)
}

// retentionBatch is how many calls retention reads at a time.
const retentionBatch = 100

// Expire deletes the calls older than the retention period now, with
// everything they made (calls.Delete). It is the periodic job's work,
// exported for tests and a manual run.
func (q *Queue) Expire(ctx context.Context) error {
	days := q.cfg.RetentionDays
	if days <= 0 {
		return nil
	}
	cutoff := q.cfg.Now().Add(-time.Duration(days) * 24 * time.Hour)
	deleted := 0
	for {
		batch, err := q.cfg.Store.CallsStartedBefore(ctx, cutoff, retentionBatch)
		if err != nil {
			return err
		}
		progress := false
		for i := range batch {
			c := &batch[i]
			n, err := calls.Delete(ctx, q.cfg.Store, q.cfg.Blob, c)
			if err != nil {
				q.log.Warn("retention: call not deleted; retried at the next run", "call_id", c.ID, "err", err)
				continue
			}
			q.log.Info("call deleted", "call_id", c.ID, "objects", n, "by", "retention")
			deleted++
			progress = true
		}
		if len(batch) < retentionBatch || !progress {
			break
		}
	}
	if deleted > 0 {
		q.log.Info("retention: deleted calls older than the retention period", "calls", deleted, "days", days)
	}
	return nil
}

// periodicJobs is the retention job, when retention is on and this node
// runs workers.
func (q *Queue) periodicJobs() []*river.PeriodicJob {
	if q.cfg.RetentionDays <= 0 || q.cfg.Workers == 0 {
		return nil
	}
	return []*river.PeriodicJob{river.NewPeriodicJob(river.PeriodicInterval(q.cfg.RetentionEvery),
		func() (river.JobArgs, *river.InsertOpts) { return RetentionArgs{}, nil },
		&river.PeriodicJobOpts{RunOnStart: true})}
}
