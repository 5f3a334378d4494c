package runtime

import (
	"time"

	"github.com/callrec/callrec/internal/callflow"
	"github.com/callrec/callrec/internal/display"
	"github.com/callrec/callrec/internal/store"
)

// DefaultMediaTimeout is media.timeout's default: a leg whose peer sends
// no RTP for this long (and is not on hold) is dead, and the call ends.
const DefaultMediaTimeout = 60 * time.Second

// mediaTimeout is the configured media timeout; 0 turns it off.
func (e *Engine) mediaTimeout() time.Duration {
	if e.cfg.MediaTimeout < 0 {
		return 0
	}
	if e.cfg.MediaTimeout == 0 {
		return DefaultMediaTimeout
	}
	return e.cfg.MediaTimeout
}

// armMediaCheck schedules the next look for dead legs.
func (c *call) armMediaCheck() {
	t := c.e.mediaTimeout()
	if t == 0 || c.stopping {
		return
	}
	every := min(t/4, 5*time.Second)
	every = max(every, 100*time.Millisecond)
	c.mediaTimer = time.AfterFunc(every, func() { c.tryPost(mediaCheck{}) })
}

// checkMedia ends the call when an answered leg whose peer should be
// sending (not on hold) has sent no RTP for media.timeout: a phone that
// lost its network, a NAT that dropped the binding, a far end that
// crashed. Both legs are hung up and the record says why.
func (c *call) checkMedia(now time.Time) {
	timeout := c.e.mediaTimeout()
	if timeout == 0 || c.stopping {
		return
	}
	for _, tag := range []string{callflow.LegA, callflow.LegB} {
		l, found := c.legs[tag]
		if !found || l.gone || l.st == nil || !l.running || !l.peerSends || !l.sig.Answered() {
			continue
		}
		if l.answeredSeen.IsZero() {
			l.answeredSeen = now
		}
		last := l.st.LastReceived()
		for _, t := range []time.Time{l.mediaSince, l.answeredSeen} {
			if t.After(last) {
				last = t
			}
		}
		if now.Sub(last) < timeout {
			continue
		}
		who := "the other party"
		if l.tag == c.attrs[callflow.AttrOwnerTag] {
			who = "the owner"
		}
		cause := "no media from " + who + " for " + display.Duration(timeout) + " (media.timeout)"
		c.log.Warn("media timeout: hanging up", "leg", l.tag, "silent_for", now.Sub(last).Round(time.Second), "media_timeout", timeout)
		c.setCause(cause, true)
		c.stop()
		return
	}
	c.armMediaCheck()
}

// forwardInfoDigit sends a digit that came in a SIP INFO to the bridged
// leg, in the form that leg negotiated (RFC 4733, else a tone).
func (c *call) forwardInfoDigit(from *leg, d byte) {
	if !c.bridged {
		return
	}
	for _, l := range c.legs {
		if l != from && !l.gone && l.st != nil {
			l.st.ForwardDigit(d)
		}
	}
}

// legQuality is l's quality summary for the call record.
func (c *call) legQuality(l *leg) (store.LegQuality, bool) {
	sum, ok := l.st.Quality()
	if !ok || sum.PacketsReceived == 0 {
		return store.LegQuality{}, false
	}
	who := "other"
	if l.tag == c.ownerTag() {
		who = "owner"
	}
	p := l.st.Params()
	q := store.LegQuality{
		Leg:             who,
		Codec:           p.Codec.Name(),
		Encrypted:       p.Cipher != nil,
		PacketsReceived: sum.PacketsReceived,
		PacketsLost:     sum.PacketsLost,
		LossPercent:     round2(sum.LossPercent),
		JitterMS:        round2(sum.JitterMS),
		MaxJitterMS:     round2(sum.MaxJitterMS),
		RFactor:         round2(sum.RFactor),
		MOS:             round2(sum.MOS),
	}
	if sum.HaveRTT {
		q.RTTMS = round2(sum.RTTMS)
	}
	if sum.HaveRemote {
		q.RemoteLossPercent = round2(sum.RemoteLossPercent)
		q.RemoteJitterMS = round2(sum.RemoteJitterMS)
	}
	return q, true
}

// ownerTag is the owner's leg: the flow says which, else LEG-A.
func (c *call) ownerTag() string {
	if t := c.attrs[callflow.AttrOwnerTag]; t != "" {
		return t
	}
	return callflow.LegA
}

// round2 rounds to two decimals (what the record and the report show).
func round2(f float64) float64 { return float64(int64(f*100+0.5)) / 100 }
