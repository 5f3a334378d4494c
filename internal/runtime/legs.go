package runtime

import (
	"context"
	"errors"

	"github.com/callrec/callrec/internal/sip"
)

// Leg is the signalling side of one call leg, as the runtime drives it:
// a call that arrived from the trunk (*sip.InboundLeg) or one callrec
// placed (*sip.OutboundLeg). Both kinds answer every method, so the
// runtime treats them alike; tests give fakes.
type Leg interface {
	// CallID is the leg's SIP Call-ID.
	CallID() string
	// RemoteSDP is the peer's session description: the offer of an inbound
	// leg, the answer of an outbound one.
	RemoteSDP() []byte
	// Source is the peer's signalling address (ip:port).
	Source() string
	// Ringing tells an unanswered inbound caller that the far end rings
	// (180); nothing for an outbound leg.
	Ringing() error
	// Progress sends early media (183 with sdp) to an unanswered inbound
	// caller; nothing for an outbound leg.
	Progress(sdp []byte) error
	// Answer answers an inbound leg (200 with sdp); nothing for an
	// outbound leg, answered when Dial returns it.
	Answer(sdp []byte) error
	// Answered reports whether the leg is answered.
	Answered() bool
	// Cancelled reports whether the caller cancelled before an answer.
	Cancelled() bool
	// Hangup ends the leg: BYE (with a Reason carrying code when it is
	// 300 or more) once answered, else a final response with code (480
	// when code is below 300).
	Hangup(ctx context.Context, code int) error
	// Done is closed when the leg has ended, whoever ended it.
	Done() <-chan struct{}
	// SetReoffer installs the function that answers the peer's in-dialog
	// offers (re-INVITE, UPDATE).
	SetReoffer(func(offer []byte) ([]byte, error))
	// SetInfoDigits installs the function that gets the digits the peer
	// sends in SIP INFO requests (application/dtmf-relay, application/dtmf).
	SetInfoDigits(func(digit byte))
}

// Inbound is a leg that arrived: a Leg with the caller's and the dialled
// numbers (SIP user parts) and the caller's display name, all as sent.
type Inbound interface {
	Leg
	From() string
	To() string
	DisplayName() string
}

// Dialer places outbound legs; the leg it returns is answered.
type Dialer interface {
	Dial(ctx context.Context, r sip.DialRequest) (Leg, error)
}

// SIPDialer places outbound legs through the SIP server.
func SIPDialer(s *sip.Server) Dialer { return sipDialer{s} }

type sipDialer struct{ s *sip.Server }

// Dial implements Dialer.
func (d sipDialer) Dial(ctx context.Context, r sip.DialRequest) (Leg, error) {
	l, err := d.s.Dial(ctx, r)
	if err != nil {
		return nil, err // not a nil *OutboundLeg in a non-nil Leg
	}
	return l, nil
}

// errCallOver answers what reaches a call after it ended.
var errCallOver = errors.New("the call is over")
