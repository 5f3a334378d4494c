package recorder

// recentSize is how many placed packets recentPackets remembers per
// channel: enough to cover reordering within the jitter window.
const recentSize = 32

type packetID struct {
	ssrc      uint32
	timestamp uint32
}

// recentPackets remembers the SSRC and timestamp of the last packets
// placed on a channel, to recognise duplicates cheaply.
type recentPackets struct {
	ids  [recentSize]packetID
	used int
	next int
}

// seen reports whether the packet was placed recently.
func (p *recentPackets) seen(id packetID) bool {
	for i := 0; i < p.used; i++ {
		if p.ids[i] == id {
			return true
		}
	}
	return false
}

// add remembers a placed packet, forgetting the oldest.
func (p *recentPackets) add(id packetID) {
	p.ids[p.next] = id
	p.next = (p.next + 1) % recentSize
	if p.used < recentSize {
		p.used++
	}
}
