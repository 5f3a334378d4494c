// Package recorder writes a call's two sides into one time-aligned stereo
// WAV file (16-bit, 8 or 16 kHz): channel 0 is the owner, channel 1 the
// other party.
//
// Each packet is placed by its RTP timestamp: a channel maps RTP time to
// recording time with an offset taken from its least-delayed packets of
// the last few seconds, so reordered packets land in order, a duplicate
// overwrites its own place, a lost packet leaves silence and one late
// packet shifts nothing. The offset follows a sender's clock drift a few
// milliseconds at a time; a new SSRC or a jump of the timestamps by
// seconds re-anchors the channel where the packet arrives.
//
// The file is driven by the wall clock, not by packet arrival: every tick
// the recorder writes exactly the frames that elapsed, trailing real time
// by the jitter window so that late packets still land in place, and
// padding with silence. Paused spans are silence too, so the file's
// duration equals the recorded wall time. The WAV header is rewritten
// every few seconds so the file stays valid if the process dies.
package recorder

import (
	"fmt"
	"sync"
	"time"

	"github.com/callrec/callrec/internal/media/wav"
)

// DefaultSampleRate is the recording's sample rate when Options leave it
// unset.
const DefaultSampleRate = 8000

const (
	// defaultJitterWindow is how long the writer trails real time unless
	// Options say otherwise.
	defaultJitterWindow = 200 * time.Millisecond
	// maxJitterWindow bounds the window (and so each channel's memory).
	maxJitterWindow = 5 * time.Second
	tick            = 100 * time.Millisecond
	syncEvery       = 2 * time.Second
)

// Options configure a recording.
type Options struct {
	// SampleRate is 8000 (the default when 0) or 16000 (wideband calls).
	SampleRate int
	// Clock tells the time; nil means time.Now.
	Clock func() time.Time
	// JitterWindow is how far behind real time the writer trails, the
	// longest a packet may be delayed and still land in place; 0 means
	// 200 ms, and it may be at most 5 s. Each channel holds about twice
	// the window of audio.
	JitterWindow time.Duration

	// manualFlush leaves writing to whoever calls tickOnce (tests drive
	// the writer deterministically with a fake clock).
	manualFlush bool
}

// Packet is one RTP packet's decoded audio.
type Packet struct {
	// SSRC identifies the packet's stream.
	SSRC uint32
	// Timestamp is the packet's RTP timestamp converted to the
	// recording's sample rate by the caller (for an 8 kHz RTP clock at a
	// 16 kHz recording: 2*ts, wrapping mod 2^32).
	Timestamp uint32
	// PCM is the audio at the recording's sample rate; it is copied
	// before WritePacket returns.
	PCM []int16
}

// Span is a paused interval.
type Span struct {
	Start time.Time
	End   time.Time // zero while still paused
}

// Result describes a finished recording.
type Result struct {
	Path       string
	SampleRate int
	Frames     int64
	Duration   time.Duration
	Pauses     []Span
	Stopped    bool // stopped early by the owner
	// Truncated: writing failed (a full disk) before the end; the file
	// holds the audio up to then, and Frames and Duration say how much.
	Truncated bool
	// Late counts packets dropped because their place was already
	// written (delayed beyond the jitter window).
	Late int
	// Duplicates counts packets that arrived again (same SSRC and
	// timestamp) and were not placed twice.
	Duplicates int
}

// Recorder records one call. It is safe for concurrent use: one mutex
// guards all its state, shared by the legs' receive goroutines and the
// recorder's own writing goroutine.
type Recorder struct {
	path   string
	clock  func() time.Time
	rate   int
	window time.Duration
	limits placementLimits

	mu         sync.Mutex
	w          *wav.Writer
	start      time.Time
	written    int64 // frames in the file (the writer's frontier)
	chans      [2]channel
	paused     bool
	pauses     []Span
	closed     bool
	stopped    bool
	truncated  bool
	late       int
	duplicates int
	lastSync   time.Time
	scratch    []int16 // interleaved frames on their way to the file
	err        error

	quit chan struct{}
	done chan struct{}
}

// Start creates the WAV at path and starts the clock.
func Start(path string, opts Options) (*Recorder, error) {
	rate := opts.SampleRate
	if rate == 0 {
		rate = DefaultSampleRate
	}
	if rate != 8000 && rate != 16000 {
		return nil, fmt.Errorf("start recording %s: sample rate %d, want 8000 or 16000", path, rate)
	}
	window := opts.JitterWindow
	if window == 0 {
		window = defaultJitterWindow
	}
	if window < 0 || window > maxJitterWindow {
		return nil, fmt.Errorf("start recording %s: jitter window %v, want up to %v", path, window, maxJitterWindow)
	}
	clock := opts.Clock
	if clock == nil {
		clock = time.Now
	}
	w, err := wav.Create(path, uint32(rate), 2)
	if err != nil {
		return nil, fmt.Errorf("start recording %s: %w", path, err)
	}
	now := clock()
	// The ring holds the window and the tick the writer trails by, and
	// room ahead of arrival for a packet placed early (by as much as a
	// window) and its length.
	ringFrames := int(framesIn(2*window+tick+maxPacket, rate))
	r := &Recorder{
		path:     path,
		clock:    clock,
		rate:     rate,
		window:   window,
		limits:   newPlacementLimits(rate, window),
		w:        w,
		start:    now,
		lastSync: now,
		scratch:  make([]int16, 2*ringFrames),
		quit:     make(chan struct{}),
		done:     make(chan struct{}),
	}
	for ch := range r.chans {
		r.chans[ch] = newChannel(ringFrames, framesIn(delayBucket, rate))
	}
	if opts.manualFlush {
		close(r.done)
	} else {
		go r.loop()
	}
	return r, nil
}

// Path is the file being written.
func (r *Recorder) Path() string { return r.path }

// Write adds samples one side sent without timestamps, right after the
// channel's last placed audio; ch is 0 (owner) or 1 (other party).
func (r *Recorder) Write(ch int, pcm []int16) {
	if ch < 0 || ch > 1 {
		return
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.closed || r.paused {
		return
	}
	r.chans[ch].append(pcm, r.written)
}

// WritePacket places one RTP packet's audio on channel ch (0 owner, 1
// other party) by its timestamp. A packet whose place is already written
// is dropped (Result.Late), one seen already is not placed again
// (Result.Duplicates).
func (r *Recorder) WritePacket(ch int, p Packet) {
	if ch < 0 || ch > 1 || len(p.PCM) == 0 {
		return
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.closed || r.paused {
		return
	}
	arrival := framesIn(r.clock().Sub(r.start), r.rate)
	switch r.chans[ch].place(p, max(arrival, r.written), r.written, r.limits) {
	case droppedLate:
		r.late++
	case droppedDuplicate:
		r.duplicates++
	}
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

// tickOnce writes what elapsed up to now less the jitter window and
// rewrites the header every syncEvery.
func (r *Recorder) tickOnce() {
	r.mu.Lock()
	defer r.mu.Unlock()
	now := r.clock()
	r.flushLocked(now.Add(-r.window))
	if now.Sub(r.lastSync) >= syncEvery && r.err == nil && !r.closed {
		r.lastSync = now
		if err := r.w.Flush(); err != nil {
			r.err = err
		}
	}
}

// flushLocked writes frames up to time t, each channel's placed audio or
// silence.
func (r *Recorder) flushLocked(t time.Time) {
	if r.closed || r.err != nil {
		return
	}
	target := framesIn(t.Sub(r.start), r.rate)
	for r.written < target {
		n := int(min(target-r.written, int64(len(r.scratch)/2)))
		out := r.scratch[:2*n]
		for ch := range r.chans {
			r.chans[ch].audio.drain(r.written, n, out, ch)
		}
		if err := r.w.Write(out); err != nil {
			r.err = fmt.Errorf("write recording %s: %w", r.path, err)
			return
		}
		r.written += int64(n)
	}
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
	for ch := range r.chans {
		r.chans[ch].silence()
	}
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
		Path:       r.path,
		SampleRate: r.rate,
		Frames:     r.written,
		Duration:   time.Duration(r.written) * time.Second / time.Duration(r.rate),
		Pauses:     append([]Span(nil), r.pauses...),
		Stopped:    r.stopped,
		Truncated:  r.truncated,
		Late:       r.late,
		Duplicates: r.duplicates,
	}
}
