package pipeline

import (
	"context"
	"time"

	"github.com/riverqueue/river"

	"github.com/callrec/callrec/internal/store"
)

// Retention deletes calls older than Days, with everything they made.
type Retention struct {
	// Days is how long calls are kept; 0 keeps them forever.
	Days int
	// Delete removes one call: its recording, its outputs and its records.
	Delete func(ctx context.Context, call *store.Call) error
	// Every is how often the job runs (default hourly).
	Every time.Duration
}

// RetentionArgs is the periodic retention job.
type RetentionArgs struct{}

// Kind implements river.JobArgs.
func (RetentionArgs) Kind() string { return "callrec_retention" }

type retentionWorker struct {
	river.WorkerDefaults[RetentionArgs]
	p *Pipeline
}

// Work deletes every call past its retention, a batch at a time.
func (w *retentionWorker) Work(ctx context.Context, _ *river.Job[RetentionArgs]) error {
	return w.p.Expire(ctx)
}

// Expire deletes the calls older than the retention period now. It is the
// periodic job's work, exported for tests and a manual run.
func (p *Pipeline) Expire(ctx context.Context) error {
	r := p.cfg.Retention
	if r.Days <= 0 || r.Delete == nil {
		return nil
	}
	cutoff := p.cfg.now().Add(-time.Duration(r.Days) * 24 * time.Hour)
	deleted := 0
	for {
		calls, err := p.cfg.Store.CallsStartedBefore(ctx, cutoff, 100)
		if err != nil {
			return err
		}
		progress := false
		for i := range calls {
			if err := r.Delete(ctx, &calls[i]); err != nil {
				p.log.Warn("retention: call not deleted; retried at the next run", "call_id", calls[i].ID, "err", err)
				continue
			}
			deleted++
			progress = true
		}
		if len(calls) < 100 || !progress {
			break
		}
	}
	if deleted > 0 {
		p.log.Info("retention: deleted calls older than the retention period", "calls", deleted, "days", r.Days)
	}
	return nil
}

// periodicJobs is the retention job, when retention is on.
func (p *Pipeline) periodicJobs() []*river.PeriodicJob {
	r := p.cfg.Retention
	if r.Days <= 0 || r.Delete == nil || p.cfg.Workers == 0 {
		return nil
	}
	every := r.Every
	if every <= 0 {
		every = time.Hour
	}
	return []*river.PeriodicJob{river.NewPeriodicJob(river.PeriodicInterval(every),
		func() (river.JobArgs, *river.InsertOpts) { return RetentionArgs{}, nil },
		&river.PeriodicJobOpts{RunOnStart: true})}
}
