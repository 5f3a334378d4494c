package runtime

import (
	"context"
	"errors"
	"time"

	"github.com/callrec/callrec/internal/callflow"
	"github.com/callrec/callrec/internal/calls"
	"github.com/callrec/callrec/internal/media/codec"
	"github.com/callrec/callrec/internal/media/recorder"
	"github.com/callrec/callrec/internal/media/stream"
	"github.com/callrec/callrec/internal/store"
)

// recording is the call's recording in progress.
type recording struct {
	r *recorder.Recorder
	// owner is the tag of the owner's leg, recorded on channel 0.
	owner string
	key   string
	e     *Engine
	// rate is the recording's sample rate.
	rate int
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
// the recording (when one runs) on the owner's or the other channel, placed
// by its RTP timestamp and converted to the recording's sample rate.
func (c *call) tap(l *leg) {
	var onAudio func(stream.Audio)
	if rec := c.rec; rec != nil {
		ch := 1
		if l.tag == rec.owner {
			ch = 0
		}
		onAudio = rec.feed(ch)
	}
	l.st.SetHandlers(streamHandlers(c, l, onAudio))
}

// feed is the audio handler of channel ch: it runs on one stream's receive
// goroutine, which owns the resamplers.
func (r *recording) feed(ch int) func(stream.Audio) {
	rate := r.rate
	up, down := codec.NewUpsampler(), codec.NewDownsampler()
	var buf []int16
	return func(a stream.Audio) {
		pcm := a.PCM
		switch {
		case a.SampleRate < rate:
			buf = up.Up(buf[:0], pcm)
			pcm = buf
		case a.SampleRate > rate:
			buf = down.Down(buf[:0], pcm)
			pcm = buf
		}
		// The RTP clock is 8 kHz for every codec callrec speaks.
		ts := a.Timestamp * uint32(rate/8000)
		r.r.WritePacket(ch, recorder.Packet{SSRC: a.SSRC, Timestamp: ts, PCM: pcm})
	}
}

// recordingRate is the sample rate of a recording started now: 16 kHz
// when every leg speaks a wideband codec (so transcription gets wideband
// audio), else 8 kHz.
func (c *call) recordingRate() int {
	wide := false
	for _, l := range c.legs {
		if l.st == nil || l.gone {
			continue
		}
		if !l.st.Params().Codec.Wideband() {
			return 8000
		}
		wide = true
	}
	if wide {
		return 16000
	}
	return 8000
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
	rate := c.recordingRate()
	r, err := recorder.Start(c.spoolPath(), recorder.Options{SampleRate: rate})
	if err != nil {
		c.e.failed(err)
		return fail(a, callflow.ErrSystemException, err)
	}
	c.record.RecordingKey = calls.RecordingKey(c.id, c.record.StartedAt)
	c.rec = &recording{r: r, owner: owner, key: c.record.RecordingKey, e: c.e, rate: rate}
	c.tapAll()
	c.record.RecordingState = store.RecordingInProgress
	c.saveRecord()
	c.log.Info("recording started", "owner_leg", owner, "sample_rate", rate)
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
