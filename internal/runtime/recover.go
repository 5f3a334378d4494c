package runtime

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"time"

	"github.com/callrec/callrec/internal/calls"
	"github.com/callrec/callrec/internal/media/wav"
	"github.com/callrec/callrec/internal/store"
)

// Recover finishes what a killed process left: calls still marked active
// become "interrupted", and their partial recordings are repaired and
// stored. Run it once at start-up, before taking calls.
func (e *Engine) Recover(ctx context.Context) error {
	active, err := e.cfg.Store.ActiveCalls(ctx)
	if err != nil {
		return fmt.Errorf("recover: %w", err)
	}
	for i := range active {
		c := &active[i]
		log := e.log.With("call_id", c.ID)
		now := time.Now().UTC()
		c.Status = store.StatusInterrupted
		c.HangupCause = "callrec stopped during the call"
		if c.EndedAt == nil {
			c.EndedAt = &now
		}
		spool := filepath.Join(e.cfg.SpoolDir, c.ID+".wav")
		if _, err := os.Stat(spool); err == nil {
			info, err := wav.Repair(spool)
			if err != nil {
				log.Error("recover: recording could not be repaired; kept in spool", "path", spool, "err", err)
			} else {
				key := c.RecordingKey
				if key == "" {
					key = calls.RecordingKey(c.ID, c.StartedAt)
				}
				if err := e.cfg.Blob.PutFile(ctx, key, spool); err != nil {
					log.Error("recover: storing recording failed; kept in spool", "path", spool, "err", err)
				} else {
					c.RecordingKey = key
					c.RecordingState = store.RecordingPartial
					c.RecordingDurationMS = info.Duration.Milliseconds()
					log.Warn("recovered partial recording of an interrupted call", "key", key, "duration", info.Duration)
				}
			}
		} else if _, err := e.cfg.Blob.Stat(ctx, c.RecordingKey); c.RecordingKey != "" && err == nil {
			// Stored, but the process died before the record said so.
			c.RecordingState = store.RecordingPartial
		} else if c.RecordingState == store.RecordingInProgress || c.RecordingState == store.RecordingPaused {
			c.RecordingState = store.RecordingNone
		}
		for j := range c.Pauses {
			if c.Pauses[j].End == nil {
				c.Pauses[j].End = c.EndedAt
			}
		}
		if err := e.saveFinal(ctx, c, c.RecordingState == store.RecordingPartial); err != nil {
			log.Error("recover: call record not written; retried until it is", "err", err)
			e.failed(err)
			e.keep(c, c.RecordingState == store.RecordingPartial)
		}
	}
	return nil
}

// saveFinal writes a finished call's record; with a stored recording, its
// processing is queued in the same transaction, so a crash can neither lose
// the job nor queue it for a call not marked finished.
// The record is inserted when it is not there yet (its first write
// failed).
func (e *Engine) saveFinal(ctx context.Context, c *store.Call, recorded bool) error {
	if !recorded || e.cfg.Enqueue == nil {
		return e.cfg.Store.SaveCall(ctx, c)
	}
	return e.cfg.Store.WithTx(ctx, func(tx *store.Tx) error {
		if err := e.cfg.Store.SaveCallTx(ctx, tx, c); err != nil {
			return err
		}
		return e.cfg.Enqueue(ctx, tx, c.ID)
	})
}
