package stream

import (
	"context"
	"math/rand/v2"
	"sync"
	"time"
)

// Clock drives what every stream sends on a schedule rather than in
// answer to a packet: keep-alive silence and RTCP reports. One goroutine
// (Run) ticks for all streams, so a thousand calls cost one timer, not a
// thousand.
type Clock struct {
	mu      sync.Mutex
	streams map[*Stream]struct{}
}

// NewClock makes a clock with no streams; Run drives it.
func NewClock() *Clock { return &Clock{streams: map[*Stream]struct{}{}} }

// Add puts s on the schedule.
func (c *Clock) Add(s *Stream) {
	c.mu.Lock()
	c.streams[s] = struct{}{}
	c.mu.Unlock()
}

// Remove takes s off the schedule.
func (c *Clock) Remove(s *Stream) {
	c.mu.Lock()
	delete(c.streams, s)
	c.mu.Unlock()
}

// Run ticks every 20 ms until ctx ends.
func (c *Clock) Run(ctx context.Context) {
	t := time.NewTicker(frameDuration)
	defer t.Stop()
	var batch []*Stream
	for {
		select {
		case <-ctx.Done():
			return
		case now := <-t.C:
			c.mu.Lock()
			batch = batch[:0]
			for s := range c.streams {
				batch = append(batch, s)
			}
			c.mu.Unlock()
			for _, s := range batch {
				s.tick(now)
			}
			clear(batch)
		}
	}
}

// tick is the stream's share of a clock tick.
func (s *Stream) tick(now time.Time) {
	if s.ctx.Err() != nil {
		return
	}
	s.keepAlive(now)
	s.reportRTCP(now, rand.Float64)
}
