package runtime

import (
	"github.com/callrec/callrec/internal/media/sdp"
	"github.com/callrec/callrec/internal/media/stream"
)

// setupInbound negotiates LEG-A's offer and starts its stream. A bad or
// incompatible offer is a *codecError (488).
func (c *call) setupInbound(a *leg) error {
	n, err := negotiate(a.sig.RemoteSDP(), false)
	if err != nil {
		return err
	}
	conn, err := c.e.cfg.Ports.Listen()
	if err != nil {
		return err
	}
	a.st = stream.New(conn, c.log.With("leg", a.tag))
	a.st.SetParams(n.params)
	a.local = newLocal(c.e.cfg.MediaAddress, a.st.LocalPort(), &n.sel)
	a.local.Direction = n.direction
	c.startStream(a)
	return nil
}

// startStream taps l's stream, runs it, and answers l's in-dialog offers
// through the call.
func (c *call) startStream(l *leg) {
	c.tap(l)
	go l.st.Run(c.ctx)
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
}

// reoffer answers a re-INVITE/UPDATE (on the call's goroutine): follow the
// peer's new address, codec and direction (a hold), and answer with our
// description.
func (c *call) reoffer(l *leg, offer []byte) ([]byte, error) {
	if len(offer) > 0 {
		n, err := negotiate(offer, l.weOffered)
		if err != nil {
			return nil, err
		}
		l.local.Codecs = []sdp.Codec{n.sel.Codec}
		l.local.TelephoneEvent = n.sel.TelephoneEvent
		l.local.Direction = n.direction
		l.st.SetParams(n.params)
	}
	l.local.SessionVersion++
	return sdp.Build(l.local)
}

// streamHandlers are the handlers of l's stream: digits to the call,
// audio to onAudio (nil: none).
func streamHandlers(c *call, l *leg, onAudio func([]int16)) stream.Handlers {
	return stream.Handlers{
		OnAudio: onAudio,
		OnDigit: func(d byte) {
			if !c.tryPost(digitIn{l, d}) {
				c.log.Warn("digit dropped: the call is busy", "leg", l.tag, "digit", string(d))
			}
		},
	}
}
