package recorder

// channel is one side of the recording: audio not yet written, the
// current stream's mapping and the one before it (for stragglers after a
// change of stream).
type channel struct {
	audio ring
	cur   stream
	prev  stream
	// prevUntil is the arrival after which prev's stragglers would be
	// late anyway and a packet of its SSRC starts it again.
	prevUntil int64
	delay     delayWindow
	// settleFrom and settleEnd bound the audio the current stream placed
	// while none of it has been written: until the writer reaches
	// settleFrom the whole stream can still be moved as its offset
	// settles.
	settleFrom, settleEnd int64
	// highWater is the end of the furthest audio placed on the channel.
	highWater int64
	recent    recentPackets
}

func newChannel(ringFrames int, bucketFrames int64) channel {
	return channel{audio: newRing(ringFrames), delay: newDelayWindow(bucketFrames)}
}

// placement is where a packet goes, or why it does not.
type placement int

const (
	placed placement = iota
	droppedLate
	droppedDuplicate
)

// place puts one packet's audio at the position its timestamp maps to.
// written is the writer's frontier (positions before it are in the file)
// and arrival the packet's arrival position.
func (c *channel) place(p Packet, arrival, written int64, lim placementLimits) placement {
	id := packetID{ssrc: p.SSRC, timestamp: p.Timestamp}
	if c.recent.seen(id) {
		return droppedDuplicate
	}
	s := &c.cur
	fits := s.active && p.SSRC == s.ssrc
	var ext int64
	if fits {
		ext = s.extend(p.Timestamp)
		dev := arrival - (ext + s.offset)
		fits = dev >= -lim.early && dev <= lim.jump
	}
	if !fits && c.prev.active && p.SSRC == c.prev.ssrc && arrival < c.prevUntil {
		// A straggler from the stream before the change: placed by its
		// own mapping if it fits, never re-anchoring.
		pos := c.prev.extend(p.Timestamp) + c.prev.offset
		if dev := arrival - pos; dev >= -lim.early && dev <= lim.jump {
			if pos < written {
				return droppedLate
			}
			c.put(pos, p.PCM, written)
			c.recent.add(id)
			return placed
		}
	}
	if fits && ext+s.offset < written {
		if s.lateSince < 0 {
			s.lateSince = arrival
		}
		if arrival-s.lateSince < lim.lateStreak {
			return droppedLate
		}
		fits = false // late for good: the delay grew past the window
	}
	if !fits {
		c.prev, c.prevUntil = *s, arrival+lim.stragglers
		s.anchor(p.SSRC, p.Timestamp, arrival)
		ext = 0
		c.delay.reset()
		c.settleFrom, c.settleEnd = arrival, arrival
	}
	s.lateSince = -1
	c.delay.observe(arrival, arrival-ext)
	c.follow(written, lim)
	pos := ext + s.offset
	if pos < written {
		return droppedLate
	}
	end := c.put(pos, p.PCM, written)
	if c.settleFrom >= written && end > pos {
		c.settleFrom = min(c.settleFrom, pos)
		c.settleEnd = max(c.settleEnd, end)
	}
	if ext > s.lastExt {
		s.lastTS, s.lastExt = p.Timestamp, ext
	}
	c.recent.add(id)
	return placed
}

// follow moves the current stream's offset towards the least delay seen
// lately. While none of the stream is written the stream moves whole;
// afterwards the offset moves by at most lim.maxStep at a time, and only
// once it is more than lim.deadband away.
func (c *channel) follow(written int64, lim placementLimits) {
	s := &c.cur
	least, ok := c.delay.minimum()
	if !ok {
		return
	}
	diff := least - s.offset
	if diff == 0 {
		return
	}
	if c.settleFrom >= written {
		hi := written + c.audio.size()
		c.audio.move(c.settleFrom, c.settleEnd, diff, written, hi)
		c.settleFrom = min(max(c.settleFrom+diff, written), hi)
		c.settleEnd = min(max(c.settleEnd+diff, c.settleFrom), hi)
		s.offset = least
		return
	}
	if diff > -lim.deadband && diff < lim.deadband {
		return
	}
	s.offset += min(max(diff, -lim.maxStep), lim.maxStep)
}

// put stores pcm from pos, cut at the end of the ring's span, and returns
// the end of what it stored.
func (c *channel) put(pos int64, pcm []int16, written int64) int64 {
	n := min(int64(len(pcm)), written+c.audio.size()-pos)
	if n <= 0 {
		return pos
	}
	c.audio.put(pos, pcm[:n])
	c.highWater = max(c.highWater, pos+n)
	return pos + n
}

// append stores pcm right after the channel's furthest audio (or at the
// writer's frontier if that is already written), for audio without
// timestamps.
func (c *channel) append(pcm []int16, written int64) {
	c.put(max(c.highWater, written), pcm, written)
}

// silence drops everything not yet written (a pause).
func (c *channel) silence() {
	c.audio.clear()
	c.cur.lateSince, c.prev.lateSince = -1, -1
	c.settleFrom, c.settleEnd = -1, -1
}
