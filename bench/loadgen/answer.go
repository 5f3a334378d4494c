package main

import (
	"errors"
	"fmt"
	"net/netip"
	"strings"

	"github.com/callrec/callrec/internal/media/sdp"
	"github.com/callrec/callrec/internal/media/srtp"
)

// answer is what a call needs from callrec's SDP answer.
type answer struct {
	// dest is where to send RTP.
	dest netip.AddrPort
	// key is callrec's SRTP key, for decrypting what it sends; zero for
	// plain RTP.
	key srtp.Crypto
}

// parseAnswer reads callrec's SDP answer to an offer of one codec,
// encrypted with offered when wantSRTP. It refuses an answer that does not
// take that codec, whose encryption differs from the offer's, or whose
// crypto line does not answer the offered one (same tag and suite).
func parseAnswer(body []byte, c sdp.Codec, wantSRTP bool, offered srtp.Crypto) (answer, error) {
	d, err := sdp.Parse(body)
	if err != nil {
		return answer{}, err
	}
	addr, err := netip.ParseAddr(d.Address)
	if err != nil || addr.IsUnspecified() {
		return answer{}, fmt.Errorf("answer: no address to send RTP to (c=%q)", d.Address)
	}
	if d.Port <= 0 || d.Port > 65535 {
		return answer{}, fmt.Errorf("answer: bad RTP port %d", d.Port)
	}
	if !takesCodec(d.Codecs, c) {
		return answer{}, fmt.Errorf("answer: %s (payload type %d) not accepted", c.Name, c.PayloadType)
	}
	a := answer{dest: netip.AddrPortFrom(addr.Unmap(), uint16(d.Port))}
	switch {
	case !wantSRTP && d.Encrypted():
		return answer{}, errors.New("answer: SRTP (" + d.Proto + ") to a plain RTP offer")
	case !wantSRTP:
		return a, nil
	case !d.Encrypted():
		return answer{}, errors.New("answer: plain " + d.Proto + " to an SRTP offer")
	case len(d.Crypto) != 1:
		return answer{}, fmt.Errorf("answer: %d crypto lines, want 1", len(d.Crypto))
	}
	if a.key, err = srtp.ParseCrypto(d.Crypto[0]); err != nil {
		return answer{}, fmt.Errorf("answer: %w", err)
	}
	if a.key.Tag != offered.Tag || a.key.Suite != offered.Suite {
		return answer{}, fmt.Errorf("answer: crypto %d %s does not answer the offered %d %s", a.key.Tag, a.key.Suite, offered.Tag, offered.Suite)
	}
	return a, nil
}

// takesCodec reports whether an answer's codecs include c, by payload type
// (an answer keeps the offer's) and name.
func takesCodec(answered []sdp.Codec, c sdp.Codec) bool {
	for _, a := range answered {
		if a.PayloadType == c.PayloadType && (a.Name == "" || strings.EqualFold(a.Name, c.Name)) {
			return true
		}
	}
	return false
}
