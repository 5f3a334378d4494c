package runtime

import (
	"fmt"
	"math/rand/v2"
	"net/netip"

	"github.com/callrec/callrec/internal/media/codec"
	"github.com/callrec/callrec/internal/media/sdp"
	"github.com/callrec/callrec/internal/media/stream"
)

// supported are the audio codecs callrec speaks, in our preference: what
// we accept in offers and what we offer ourselves.
var supported = [...]codec.Codec{codec.PCMU, codec.PCMA}

// offeredEventPT is the telephone-event payload type of our offers.
const offeredEventPT = 101

// supportedNames lists the supported codecs by SDP name.
func supportedNames() []string {
	names := make([]string, len(supported))
	for i, c := range supported {
		names[i] = c.Name()
	}
	return names
}

// codecError marks a session description without a codec in common, or
// one we cannot read (488 Not Acceptable Here). reason names which, as
// the rejection metric counts it.
type codecError struct {
	reason string
	err    error
}

// Reasons of a codecError.
const (
	reasonBadSDP        = "bad_sdp"
	reasonNoCommonCodec = "no_common_codec"
)

func (e *codecError) Error() string { return e.err.Error() }
func (e *codecError) Unwrap() error { return e.err }

// negotiation is what a peer's session description leads to.
type negotiation struct {
	// params are the stream's parameters.
	params stream.Params
	// sel is the codec and telephone-event our description names.
	sel sdp.Selection
	// direction is the direction our answer to it takes (RFC 3264 §6.1):
	// recvonly to a sendonly offer (the peer holds the call), inactive to
	// inactive, sendonly to recvonly, else sendrecv.
	direction string
}

// answerDirection is the direction of an answer to an offer in dir.
func answerDirection(dir string) string {
	switch dir {
	case "sendonly":
		return "recvonly"
	case "recvonly":
		return "sendonly"
	case "inactive":
		return "inactive"
	}
	return "sendrecv"
}

// negotiate reads a peer's session description (an offer, or the answer
// to our offer) and picks what we speak with it. weOffered says the
// description answers our offer, so that our offer's telephone-event
// payload type is accepted too. Errors are *codecError.
func negotiate(body []byte, weOffered bool) (negotiation, error) {
	d, err := sdp.Parse(body)
	if err != nil {
		return negotiation{}, &codecError{reasonBadSDP, fmt.Errorf("SDP: %w", err)}
	}
	sel, err := sdp.Negotiate(d, supportedNames())
	if err != nil {
		return negotiation{}, &codecError{reasonNoCommonCodec, fmt.Errorf("SDP: %w", err)}
	}
	cd, ok := codec.ByName(sel.Codec.Name)
	if !ok {
		return negotiation{}, &codecError{reasonNoCommonCodec, fmt.Errorf("SDP: codec %s not supported", sel.Codec.Name)}
	}
	addr, err := netip.ParseAddr(d.Address)
	if err != nil {
		return negotiation{}, &codecError{reasonBadSDP, fmt.Errorf("SDP connection address %q: %w", d.Address, err)}
	}
	if d.Direction == "inactive" || d.Direction == "sendonly" {
		// The peer does not want to receive: do not send to it.
		addr = netip.IPv4Unspecified()
	}
	p := stream.Params{
		Remote:         netip.AddrPortFrom(addr, uint16(d.Port)),
		Codec:          cd,
		PayloadType:    sel.Codec.PayloadType,
		TelephoneEvent: sel.TelephoneEvent,
	}
	if weOffered {
		p.OfferedTelephoneEvent = offeredEventPT
	}
	return negotiation{params: p, sel: sel, direction: answerDirection(d.Direction)}, nil
}

// newLocal is our session description for a stream on port: every
// supported codec with telephone-event for an offer, else the selection.
func newLocal(addr netip.Addr, port int, sel *sdp.Selection) sdp.Local {
	l := sdp.Local{
		SessionID:      rand.Uint64() >> 1,
		SessionVersion: 1,
		Address:        addr.String(),
		Port:           port,
		Direction:      "sendrecv",
	}
	if sel == nil {
		for _, c := range supported {
			l.Codecs = append(l.Codecs, sdp.Codec{PayloadType: c.PayloadType(), Name: c.Name(), ClockRate: c.ClockRate()})
		}
		l.TelephoneEvent = offeredEventPT
		return l
	}
	l.Codecs = []sdp.Codec{sel.Codec}
	l.TelephoneEvent = sel.TelephoneEvent
	return l
}
