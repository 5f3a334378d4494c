// Package recorder writes a call's two sides into one time-aligned stereo
// WAV file (16-bit, 8 kHz): channel 0 is the owner, channel 1 the other
// party.
//
// Audio is driven by the wall clock, not by packet arrival: every tick the
// recorder writes exactly the frames that elapsed (less a small jitter
// allowance), taking what each side delivered and filling the rest with
// silence. Lost packets and paused spans therefore become silence, and the
// file's duration equals the recorded wall time. The WAV header is
// rewritten every few seconds so the file stays valid if the process dies.
package recorder

import (
	"fmt"
	"sync"
	"time"

	"github.com/callrec/callrec/internal/media/wav"
)

// SampleRate is the recording's sample rate.
const SampleRate = 8000

const (
	// jitter is how long the writer trails real time so late packets
	// still land in place.
	jitter = 200 * time.Millisecond
	// maxBuffered bounds each side's backlog (a sender faster than real
	// time loses its oldest samples, so channels stay aligned).
	maxBuffered = SampleRate * 600 / 1000
	tick        = 100 * time.Millisecond
	syncEvery   = 2 * time.Second
)

// Span is a paused interval.
type Span struct {
	Start time.Time
	End   time.Time // zero while still paused
}

// Result describes a finished recording.
type Result struct {
	Path     string
	Frames   int64
	Duration time.Duration
	Pauses   []Span
	Stopped  bool // stopped early by the owner
	// Truncated: writing failed (a full disk) before the end; the file
	// holds the audio up to then, and Frames and Duration say how much.
	Truncated bool
}

// Recorder records one call.
type Recorder struct {
	path  string
	clock func() time.Time

	mu        sync.Mutex
	w         *wav.Writer
	start     time.Time
	written   int64
	buf       [2][]int16
	paused    bool
	pauses    []Span
	closed    bool
	stopped   bool
	truncated bool
	lastSync  time.Time
	scratch   []int16
	err       error

	quit chan struct{}
	done chan struct{}
}

// Start creates the WAV at path and starts the clock. clock may be nil
// (time.Now).
func Start(path string, clock func() time.Time) (*Recorder, error) {
	if clock == nil {
		clock = time.Now
	}
	w, err := wav.Create(path, SampleRate, 2)
	if err != nil {
		return nil, fmt.Errorf("start recording %s: %w", path, err)
	}
	now := clock()
	r := &Recorder{
		path:     path,
		clock:    clock,
		w:        w,
		start:    now,
		lastSync: now,
		quit:     make(chan struct{}),
		done:     make(chan struct{}),
	}
	go r.loop()
	return r, nil
}

// Path is the file being written.
func (r *Recorder) Path() string { return r.path }

// Write adds samples one side sent; ch is 0 (owner) or 1 (other party).
func (r *Recorder) Write(ch int, pcm []int16) {
	if ch < 0 || ch > 1 {
		return
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.closed || r.paused {
		return
	}
	b := append(r.buf[ch], pcm...)
	if over := len(b) - maxBuffered; over > 0 {
		b = b[:copy(b, b[over:])]
	}
	r.buf[ch] = b
}

func (r *Recorder) loop() {
	defer close(r.done)
	t := time.NewTicker(tick)
	defer t.Stop()
	for {
		select {
		case <-r.quit:
			return
		case <-t.C:
			r.tickOnce()
		}
	}
}

// tickOnce writes what elapsed up to now less the jitter allowance and
// rewrites the header every syncEvery.
func (r *Recorder) tickOnce() {
	r.mu.Lock()
	defer r.mu.Unlock()
	now := r.clock()
	r.flushLocked(now.Add(-jitter))
	if now.Sub(r.lastSync) >= syncEvery && r.err == nil && !r.closed {
		r.lastSync = now
		if err := r.w.Flush(); err != nil {
			r.err = err
		}
	}
}

// flushLocked writes frames up to time t.
func (r *Recorder) flushLocked(t time.Time) {
	if r.closed || r.err != nil {
		return
	}
	target := int64(t.Sub(r.start)) * SampleRate / int64(time.Second)
	n := int(target - r.written)
	if n <= 0 {
		return
	}
	if cap(r.scratch) < 2*n {
		r.scratch = make([]int16, 2*n)
	}
	out := r.scratch[:2*n]
	clear(out)
	for ch := 0; ch < 2; ch++ {
		b := r.buf[ch]
		m := min(len(b), n)
		for i := 0; i < m; i++ {
			out[2*i+ch] = b[i]
		}
		r.buf[ch] = b[:copy(b, b[m:])]
	}
	if err := r.w.Write(out); err != nil {
		r.err = fmt.Errorf("write recording %s: %w", r.path, err)
		return
	}
	r.written = target
}

// Pause makes the recording silent from now on.
func (r *Recorder) Pause() {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.closed || r.paused {
		return
	}
	now := r.clock()
	r.flushLocked(now)
	r.paused = true
	r.buf[0], r.buf[1] = r.buf[0][:0], r.buf[1][:0]
	r.pauses = append(r.pauses, Span{Start: now})
}

// Resume records audio again.
func (r *Recorder) Resume() {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.closed || !r.paused {
		return
	}
	now := r.clock()
	r.flushLocked(now)
	r.paused = false
	r.pauses[len(r.pauses)-1].End = now
}

// Paused reports whether the recording is paused.
func (r *Recorder) Paused() bool {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.paused
}

// Stop finishes the file; stoppedEarly marks an owner's stop request.
// Calling it again returns the same result.
func (r *Recorder) Stop(stoppedEarly bool) (Result, error) {
	r.mu.Lock()
	if r.closed {
		res := r.resultLocked()
		r.mu.Unlock()
		return res, r.err
	}
	now := r.clock()
	r.flushLocked(now)
	if r.paused {
		r.pauses[len(r.pauses)-1].End = now
		r.paused = false
	}
	r.closed = true
	r.stopped = stoppedEarly
	if err := r.w.Close(); err != nil && r.err == nil {
		r.err = fmt.Errorf("close recording %s: %w", r.path, err)
	}
	if r.err != nil {
		// What reached the file, not what the call lasted.
		r.truncated = true
		if info, err := wav.Stat(r.path); err == nil {
			r.written = info.Frames
		}
	}
	res := r.resultLocked()
	err := r.err
	r.mu.Unlock()
	close(r.quit)
	<-r.done
	return res, err
}

func (r *Recorder) resultLocked() Result {
	return Result{
		Path:      r.path,
		Frames:    r.written,
		Duration:  time.Duration(r.written) * time.Second / SampleRate,
		Pauses:    append([]Span(nil), r.pauses...),
		Stopped:   r.stopped,
		Truncated: r.truncated,
	}
}
