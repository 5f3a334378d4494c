package runtime

import (
	"context"
	"time"

	"github.com/callrec/callrec/internal/store"
)

// Storage is what the runtime asks of the storage watcher.
type Storage interface {
	// Full reports whether the disk is full: new calls are then not
	// recorded.
	Full() bool
	// Failed is told of a write that failed.
	Failed(err error)
}

// unsaved is a finished call's record that could not be written.
type unsaved struct {
	call     store.Call
	recorded bool
}

// Backoff of the saver's retries.
const (
	saveRetryFirst = time.Second
	saveRetryMax   = 10 * time.Second
)

// keep hands a finished call's record that could not be written to the
// saver, which writes it as soon as it can.
func (e *Engine) keep(c *store.Call, recorded bool) {
	select {
	case e.unsaved <- unsaved{call: *c, recorded: recorded}:
	case <-e.saverDone:
		e.log.Error("call record lost: callrec is stopping and could not write it", "call_id", c.ID)
	}
}

// saveLoop is the saver: the one goroutine that owns the records waiting
// to be written. It retries them with backoff until each is written, and
// when ctx ends tries once more before it returns.
func (e *Engine) saveLoop(ctx context.Context) {
	defer close(e.saverDone)
	var pending []unsaved
	wait := saveRetryFirst
	timer := time.NewTimer(time.Hour)
	timer.Stop()
	try := func(ctx context.Context) {
		left := pending[:0]
		for _, u := range pending {
			sctx, cancel := context.WithTimeout(ctx, 10*time.Second)
			err := e.saveFinal(sctx, &u.call, u.recorded)
			cancel()
			if err != nil {
				e.failed(err)
				left = append(left, u)
				continue
			}
			e.log.Info("call record written after a delay", "call_id", u.call.ID, "status", u.call.Status)
		}
		if len(left) > 0 && len(left) == len(pending) {
			wait = min(2*wait, saveRetryMax)
		} else {
			wait = saveRetryFirst
		}
		pending = left
	}
	for {
		select {
		case u := <-e.unsaved:
			if len(pending) == 0 {
				e.log.Warn("call records could not be written; kept in memory and retried until they are", "first", u.call.ID)
				timer.Reset(wait)
			}
			pending = append(pending, u)
		case <-timer.C:
			try(ctx)
			if len(pending) > 0 {
				timer.Reset(wait)
			}
		case <-ctx.Done():
			timer.Stop()
			if len(pending) > 0 {
				last, cancel := context.WithTimeout(context.Background(), 10*time.Second)
				try(last)
				cancel()
			}
			for _, u := range pending {
				e.log.Error("call record lost at shutdown: the store would not take it; the call is marked interrupted at the next start", "call_id", u.call.ID)
			}
			return
		}
	}
}

// failed tells the storage watcher of a write that failed.
func (e *Engine) failed(err error) {
	if e.cfg.Storage != nil {
		e.cfg.Storage.Failed(err)
	}
}

// storageFull reports whether the storage watcher says the disk is full.
func (e *Engine) storageFull() bool { return e.cfg.Storage != nil && e.cfg.Storage.Full() }
