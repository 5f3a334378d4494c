package runtime

import (
	"context"
	"errors"
	"time"

	"github.com/callrec/callrec/internal/callflow"
	"github.com/callrec/callrec/internal/calls"
	"github.com/callrec/callrec/internal/media/recorder"
	"github.com/callrec/callrec/internal/store"
)

// recording is the call's recording in progress.
type recording struct {
	r *recorder.Recorder
	// owner is the tag of the owner's leg, recorded on channel 0.
	owner string
	key   string
	e     *Engine
}

// stored is what stopping and storing a recording gave.
type stored struct {
	res      recorder.Result
	err      error // the recording is incomplete
	storeErr error // not stored: it stays in the spool directory
}

// stopAndStore finishes the recording and moves it to the blob store (the
// one way a recording leaves the spool directory during a call).
func (r *recording) stopAndStore(ctx context.Context, byOwner bool) stored {
	var s stored
	s.res, s.err = r.r.Stop(byOwner)
	s.storeErr = r.e.cfg.Blob.PutFile(ctx, r.key, s.res.Path)
	return s
}

// applyRecording puts what stopAndStore gave on the call record, and logs
// it.
func (c *call) applyRecording(s stored) {
	r := &c.record
	r.Pauses = r.Pauses[:0]
	for _, p := range s.res.Pauses {
		sp := store.Span{Start: p.Start.UTC()}
		if !p.End.IsZero() {
			e := p.End.UTC()
			sp.End = &e
		}
		r.Pauses = append(r.Pauses, sp)
	}
	r.RecordingDurationMS = s.res.Duration.Milliseconds()
	switch {
	case s.res.Truncated:
		r.RecordingState = store.RecordingTruncated
	case s.res.Stopped:
		r.RecordingState = store.RecordingStopped
	default:
		r.RecordingState = store.RecordingComplete
	}
	if s.err != nil {
		c.e.failed(s.err)
		c.log.Error("recording cut short", "err", s.err, "kept", s.res.Duration)
	}
	if s.storeErr != nil {
		c.e.failed(s.storeErr)
		c.log.Error("storing recording failed; it stays in the spool directory and is stored at the next start", "path", s.res.Path, "err", s.storeErr)
		return
	}
	c.log.Info("recording stored", "key", r.RecordingKey, "duration", s.res.Duration)
}

// tap installs l's stream handlers: its digits go to the call, its audio to
// the recording (when one runs) on the owner's or the other channel.
func (c *call) tap(l *leg) {
	var onAudio func([]int16)
	if rec := c.rec; rec != nil {
		ch := 1
		if l.tag == rec.owner {
			ch = 0
		}
		onAudio = func(pcm []int16) { rec.r.Write(ch, pcm) }
	}
	l.st.SetHandlers(streamHandlers(c, l, onAudio))
}

// tapAll re-taps every leg with a stream (the recording started or
// stopped).
func (c *call) tapAll() {
	for _, l := range c.legs {
		if l.st != nil {
			c.tap(l)
		}
	}
}

func (c *call) startRecording(a callflow.Action) actionResult {
	owner := a.Parameters.ParticipantTag
	if owner == "" {
		owner = callflow.LegA
	}
	if c.rec != nil {
		return fail(a, callflow.ErrInvalidActionParameter, errors.New("recording already started"))
	}
	if c.e.storageFull() {
		return fail(a, callflow.ErrSystemException, errors.New("the disk is full: the call is not recorded"))
	}
	r, err := recorder.Start(c.spoolPath(), nil)
	if err != nil {
		c.e.failed(err)
		return fail(a, callflow.ErrSystemException, err)
	}
	c.record.RecordingKey = calls.RecordingKey(c.id, c.record.StartedAt)
	c.rec = &recording{r: r, owner: owner, key: c.record.RecordingKey, e: c.e}
	c.tapAll()
	c.record.RecordingState = store.RecordingInProgress
	c.saveRecord()
	c.log.Info("recording started", "owner_leg", owner)
	return ok(a)
}

func (c *call) pauseRecording(a callflow.Action) actionResult {
	if c.rec == nil {
		return fail(a, callflow.ErrInvalidActionParameter, errors.New("no recording in progress"))
	}
	if a.Type == callflow.ActionPauseCallRecording {
		c.rec.r.Pause()
		c.record.RecordingState = store.RecordingPaused
	} else {
		c.rec.r.Resume()
		c.record.RecordingState = store.RecordingInProgress
	}
	c.log.Info("recording control", "action", a.Type)
	c.saveRecord()
	return ok(a)
}

// stopRecording stops the recording at the owner's request: the streams
// stop feeding it here, and it is finished and stored on the action's
// goroutine.
func (c *call) stopRecording(ctx context.Context, a callflow.Action) func() actionResult {
	rec := c.rec
	if rec == nil {
		return done(fail(a, callflow.ErrInvalidActionParameter, errors.New("no recording in progress")))
	}
	c.rec = nil
	c.tapAll()
	c.record.RecordingState = store.RecordingStopped
	return func() actionResult {
		sctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), time.Minute)
		defer cancel()
		s := rec.stopAndStore(sctx, true)
		res := ok(a)
		res.apply = func() {
			c.applyRecording(s)
			c.log.Info("recording control", "action", a.Type)
			c.saveRecord()
		}
		return res
	}
}
