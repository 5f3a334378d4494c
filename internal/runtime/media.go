package runtime

import (
	"errors"
	"fmt"
	"math/rand/v2"
	"net/netip"

	"github.com/callrec/callrec/internal/media/codec"
	"github.com/callrec/callrec/internal/media/sdp"
	"github.com/callrec/callrec/internal/media/srtp"
	"github.com/callrec/callrec/internal/media/stream"
)

// DefaultCodecs are the audio codecs callrec speaks, in its preference:
// G.722 first, so phones and PBXs that have it get wideband audio (and a
// 16 kHz recording when both sides have it).
var DefaultCodecs = []codec.Codec{codec.G722, codec.PCMU, codec.PCMA}

// SRTP modes (media.srtp): what each leg's media may or must be.
const (
	// SRTPOff: plain RTP only; an encrypted offer gets 488.
	SRTPOff = "off"
	// SRTPOptional: an encrypted offer (RTP/SAVP with SDES keys) is
	// answered encrypted and a plain one plain; our own offers are plain.
	SRTPOptional = "optional"
	// SRTPRequired: encrypted only; a plain offer gets 488 and our own
	// offers are RTP/SAVP.
	SRTPRequired = "required"
)

// offeredEventPT is the telephone-event payload type of our offers.
const offeredEventPT = 101

// codecNames lists codecs by SDP name.
func codecNames(cs []codec.Codec) []string {
	names := make([]string, len(cs))
	for i, c := range cs {
		names[i] = c.Name()
	}
	return names
}

// codecError marks a session description without a codec in common, or
// one we cannot read or accept (488 Not Acceptable Here). reason names
// which, as the rejection metric counts it.
type codecError struct {
	reason string
	err    error
}

// Reasons of a codecError.
const (
	reasonBadSDP        = "bad_sdp"
	reasonNoCommonCodec = "no_common_codec"
	reasonSRTPRequired  = "srtp_required"
	reasonSRTPRefused   = "srtp_refused"
	reasonNoCryptoSuite = "no_common_crypto_suite"
)

func (e *codecError) Error() string { return e.err.Error() }
func (e *codecError) Unwrap() error { return e.err }

// legCrypto is a leg's SRTP state: our key, the peer's crypto line, and
// the session they make.
type legCrypto struct {
	local  srtp.Crypto
	remote string
	cipher *srtp.Session
}

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
	// peerSends: the peer said it sends media and is not holding the
	// call (sendrecv, or no direction); the media timeout watches only
	// such a leg. A sendonly peer holds the call (RFC 3264 §8.4) and may
	// send music or nothing at all.
	peerSends bool
	// crypto is the leg's SRTP state, nil for plain RTP.
	crypto *legCrypto
	// rtcpMux: the peer multiplexes RTCP on the RTP port (we answer so).
	rtcpMux bool
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
// description answers our offer (offered holds the crypto lines we
// offered), so that our offer's telephone-event payload type is accepted
// too. prev is the leg's SRTP state before a re-offer, kept when the peer
// keeps its key. Errors are *codecError.
func (e *Engine) negotiate(body []byte, weOffered bool, offered []srtp.Crypto, prev *legCrypto) (negotiation, error) {
	d, err := sdp.Parse(body)
	if err != nil {
		return negotiation{}, &codecError{reasonBadSDP, fmt.Errorf("SDP: %w", err)}
	}
	sel, err := sdp.Negotiate(d, codecNames(e.codecs()))
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
	var lc *legCrypto
	if weOffered {
		lc, err = e.answerCrypto(d, offered)
	} else {
		lc, err = e.offerCrypto(d, prev)
	}
	if err != nil {
		return negotiation{}, err
	}
	if d.Direction == "inactive" || d.Direction == "sendonly" {
		// The peer does not want to receive: do not send to it.
		addr = netip.IPv4Unspecified()
	}
	p := stream.Params{
		Remote:         netip.AddrPortFrom(addr, uint16(d.Port)),
		RTCPMux:        d.RTCPMux,
		Codec:          cd,
		PayloadType:    sel.Codec.PayloadType,
		TelephoneEvent: sel.TelephoneEvent,
	}
	if d.RTCPPort > 0 && !addr.IsUnspecified() {
		p.RemoteRTCP = netip.AddrPortFrom(addr, uint16(d.RTCPPort))
	}
	if lc != nil {
		p.Cipher = lc.cipher
	}
	if weOffered {
		p.OfferedTelephoneEvent = offeredEventPT
	}
	return negotiation{
		params:    p,
		sel:       sel,
		direction: answerDirection(d.Direction),
		peerSends: d.Direction == "sendrecv" || d.Direction == "",
		crypto:    lc,
		rtcpMux:   d.RTCPMux,
	}, nil
}

// codecs are the codecs this engine speaks, in its preference.
func (e *Engine) codecs() []codec.Codec {
	if len(e.cfg.Codecs) > 0 {
		return e.cfg.Codecs
	}
	return DefaultCodecs
}

// srtpMode is media.srtp, optional when unset.
func (e *Engine) srtpMode() string {
	if e.cfg.SRTP == "" {
		return SRTPOptional
	}
	return e.cfg.SRTP
}

// offerCrypto answers the SRTP part of a peer's offer: plain for a plain
// offer (unless SRTP is required), else the first offered suite we
// support with a key of ours. A re-offer that keeps the peer's key keeps
// the session (its rollover counter and replay list).
func (e *Engine) offerCrypto(d *sdp.Description, prev *legCrypto) (*legCrypto, error) {
	mode := e.srtpMode()
	if !d.Encrypted() {
		if mode == SRTPRequired {
			return nil, &codecError{reasonSRTPRequired, errors.New("SDP: plain RTP offered, but media.srtp is required: offer RTP/SAVP with SDES keys (a=crypto)")}
		}
		return nil, nil
	}
	if mode == SRTPOff {
		return nil, &codecError{reasonSRTPRefused, fmt.Errorf("SDP: encrypted media (%s) offered, but media.srtp is off", d.Proto)}
	}
	if prev != nil {
		for _, line := range d.Crypto {
			if line == prev.remote {
				return prev, nil
			}
		}
	}
	var offered []srtp.Crypto
	var firstErr error
	for _, line := range d.Crypto {
		c, err := srtp.ParseCrypto(line)
		if err != nil {
			if firstErr == nil {
				firstErr = err
			}
			continue
		}
		offered = append(offered, c)
	}
	remote, local, err := srtp.Choose(offered)
	if err != nil {
		if firstErr != nil {
			err = fmt.Errorf("%w (%v)", err, firstErr)
		}
		return nil, &codecError{reasonNoCryptoSuite, fmt.Errorf("SDP: %w", err)}
	}
	sess, err := srtp.NewSession(local, remote)
	if err != nil {
		return nil, &codecError{reasonNoCryptoSuite, fmt.Errorf("SDP: %w", err)}
	}
	return &legCrypto{local: local, remote: remote.String(), cipher: sess}, nil
}

// answerCrypto reads the SRTP part of the answer to our offer: the line
// whose tag names one of ours.
func (e *Engine) answerCrypto(d *sdp.Description, offered []srtp.Crypto) (*legCrypto, error) {
	if !d.Encrypted() {
		if len(offered) > 0 {
			return nil, &codecError{reasonSRTPRequired, errors.New("SDP: we offered SRTP (media.srtp is required) and the answer is plain RTP")}
		}
		return nil, nil
	}
	if len(offered) == 0 {
		return nil, &codecError{reasonSRTPRefused, errors.New("SDP: the answer is encrypted but we offered plain RTP")}
	}
	for _, line := range d.Crypto {
		remote, err := srtp.ParseCrypto(line)
		if err != nil {
			continue
		}
		for _, local := range offered {
			if local.Tag != remote.Tag || local.Suite != remote.Suite {
				continue
			}
			sess, err := srtp.NewSession(local, remote)
			if err != nil {
				return nil, &codecError{reasonNoCryptoSuite, fmt.Errorf("SDP: %w", err)}
			}
			return &legCrypto{local: local, remote: line, cipher: sess}, nil
		}
	}
	return nil, &codecError{reasonNoCryptoSuite, errors.New("SDP: the answer names none of the crypto suites we offered")}
}

// offerKeys are the crypto lines of our own offer: one fresh key per
// supported suite when SRTP is required, none otherwise.
func (e *Engine) offerKeys() ([]srtp.Crypto, error) {
	if e.srtpMode() != SRTPRequired {
		return nil, nil
	}
	var out []srtp.Crypto
	for i, s := range srtp.Supported() {
		c, err := srtp.NewCrypto(i+1, s)
		if err != nil {
			return nil, err
		}
		out = append(out, c)
	}
	return out, nil
}

// newLocal is our session description for a stream on port: every
// codec we speak with telephone-event and keys (when SRTP is required)
// for an offer, else the answer to n.
func (e *Engine) newLocal(port int, n *negotiation, keys []srtp.Crypto) sdp.Local {
	l := sdp.Local{
		SessionID:      rand.Uint64() >> 1,
		SessionVersion: 1,
		Address:        e.cfg.MediaAddress.String(),
		Port:           port,
		Direction:      "sendrecv",
	}
	if n == nil {
		for _, c := range e.codecs() {
			l.Codecs = append(l.Codecs, sdp.Codec{PayloadType: c.PayloadType(), Name: c.Name(), ClockRate: c.ClockRate()})
		}
		l.TelephoneEvent = offeredEventPT
		setCrypto(&l, keys)
		return l
	}
	l.Codecs = []sdp.Codec{n.sel.Codec}
	l.TelephoneEvent = n.sel.TelephoneEvent
	l.Direction = n.direction
	l.RTCPMux = n.rtcpMux
	if n.crypto != nil {
		setCrypto(&l, []srtp.Crypto{n.crypto.local})
	}
	return l
}

// cryptoList is lc's key as a list for setCrypto.
func cryptoList(lc *legCrypto) []srtp.Crypto { return []srtp.Crypto{lc.local} }

// setCrypto makes l an RTP/SAVP description with keys (plain RTP/AVP
// without).
func setCrypto(l *sdp.Local, keys []srtp.Crypto) {
	l.Proto, l.Crypto = "", nil
	if len(keys) == 0 {
		return
	}
	l.Proto = "RTP/SAVP"
	for _, k := range keys {
		l.Crypto = append(l.Crypto, k.String())
	}
}
