package runtime

import (
	"time"

	"github.com/callrec/callrec/internal/media/sdp"
	"github.com/callrec/callrec/internal/media/stream"
)

// setupInbound negotiates LEG-A's offer and starts its stream. A bad or
// incompatible offer is a *codecError (488).
func (c *call) setupInbound(a *leg) error {
	n, err := c.e.negotiate(a.sig.RemoteSDP(), false, nil, nil)
	if err != nil {
		return err
	}
	socks, err := c.e.cfg.Ports.Listen()
	if err != nil {
		return err
	}
	a.st = stream.New(socks, c.log.With("leg", a.tag))
	a.applyNegotiation(n)
	a.local = c.e.newLocal(a.st.LocalPort(), &n, nil)
	c.startStream(a)
	return nil
}

// applyNegotiation gives l's stream what n says.
func (l *leg) applyNegotiation(n negotiation) {
	l.st.SetParams(n.params)
	l.crypto = n.crypto
	if n.peerSends && !l.peerSends {
		l.mediaSince = time.Now() // the media timeout counts from here
	}
	l.peerSends = n.peerSends
}

// startStream taps l's stream, runs it (unless it runs already: a
// carrier's early media), puts it on the engine's clock, and answers l's
// in-dialog offers through the call.
func (c *call) startStream(l *leg) {
	c.tap(l)
	if !l.running {
		l.running = true
		go l.st.Run(c.ctx)
	}
	if l.mediaSince.IsZero() {
		l.mediaSince = time.Now()
	}
	if c.e.cfg.Clock != nil {
		c.e.cfg.Clock.Add(l.st)
	}
	l.sig.SetReoffer(func(offer []byte) ([]byte, error) {
		reply := make(chan reofferOut, 1)
		c.post(reofferIn{l: l, offer: offer, reply: reply})
		select {
		case r := <-reply:
			return r.answer, r.err
		case <-c.over:
			return nil, errCallOver
		}
	})
	l.sig.SetInfoDigits(func(d byte) {
		if !c.tryPost(digitIn{l: l, d: d, info: true}) {
			c.log.Warn("digit dropped: the call is busy", "leg", l.tag, "digit", string(d))
		}
	})
}

// reoffer answers a re-INVITE/UPDATE (on the call's goroutine): follow the
// peer's new address, codec, keys and direction (a hold), and answer with
// our description.
func (c *call) reoffer(l *leg, offer []byte) ([]byte, error) {
	if len(offer) > 0 {
		n, err := c.e.negotiate(offer, false, nil, l.crypto)
		if err != nil {
			return nil, err
		}
		l.local.Codecs = []sdp.Codec{n.sel.Codec}
		l.local.TelephoneEvent = n.sel.TelephoneEvent
		l.local.Direction = n.direction
		l.local.RTCPMux = n.rtcpMux
		setCrypto(&l.local, nil)
		if n.crypto != nil {
			setCrypto(&l.local, cryptoList(n.crypto))
		}
		l.applyNegotiation(n)
	}
	l.local.SessionVersion++
	return sdp.Build(l.local)
}

// streamHandlers are the handlers of l's stream: digits to the call,
// audio to onAudio (nil: none).
func streamHandlers(c *call, l *leg, onAudio func(stream.Audio)) stream.Handlers {
	return stream.Handlers{
		OnAudio: onAudio,
		OnDigit: func(d byte) {
			if !c.tryPost(digitIn{l: l, d: d}) {
				c.log.Warn("digit dropped: the call is busy", "leg", l.tag, "digit", string(d))
			}
		},
	}
}
