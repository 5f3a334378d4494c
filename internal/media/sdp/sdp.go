// Package sdp reads SDP offers and answers (RFC 4566, RFC 3264) for one
// audio stream, negotiates a codec, and builds callrec's own offers and
// answers. It wraps github.com/pion/sdp/v3 and keeps to what a G.711
// endpoint needs: plain RTP/AVP, or SRTP keyed in the SDP itself (SDES,
// RFC 4568: RTP/SAVP with a=crypto lines, which this package carries as
// text; internal/media/srtp reads them).
package sdp

import (
	"errors"
	"fmt"
	"net/netip"
	"strconv"
	"strings"

	pion "github.com/pion/sdp/v3"
)

// Directions of a media stream (RFC 3264 section 5.1).
const (
	SendRecv = "sendrecv"
	SendOnly = "sendonly"
	RecvOnly = "recvonly"
	Inactive = "inactive"
)

// ErrNoCommonCodec is returned (wrapped) by Negotiate when the offer holds
// no codec the caller supports. A SIP stack answers it with 488 Not
// Acceptable Here.
var ErrNoCommonCodec = errors.New("no common audio codec")

// Codec is one RTP payload format of an audio stream.
type Codec struct {
	// PayloadType is the RTP payload type, 0-127.
	PayloadType uint8
	// Name is the encoding name as the peer wrote it ("PCMU", "opus"...),
	// or empty for a dynamic payload type without an rtpmap attribute.
	Name string
	// ClockRate is the RTP clock rate in Hz.
	ClockRate uint32
}

// Description is what callrec needs from a peer's SDP: where to send its
// audio, how it may be encoded, and whether the peer sends and receives.
type Description struct {
	// Address is the IP address from the c= line, the media-level one if
	// present, else the session-level one. 0.0.0.0 (an old-style hold) is
	// kept; the caller decides what it means.
	Address string
	// Port is the RTP port of the audio stream.
	Port int
	// Codecs are the audio formats of the m= line, in the peer's order of
	// preference; telephone-event is not among them. Static payload types
	// are known without an rtpmap attribute.
	Codecs []Codec
	// TelephoneEvent is the payload type of telephone-event/8000 (RFC 4733
	// DTMF), or -1 if the peer did not offer it.
	TelephoneEvent int
	// Direction is sendrecv (the default), sendonly, recvonly or inactive.
	Direction string
	// Ptime is the a=ptime packet duration in milliseconds, 0 if absent.
	Ptime int
	// Proto is the transport of the m= line: RTP/AVP, RTP/AVPF, RTP/SAVP
	// or RTP/SAVPF.
	Proto string
	// Crypto are the values of the audio stream's a=crypto attributes
	// (the text after "a=crypto:"), in the peer's order of preference.
	// An RTP/SAVP stream has at least one; an RTP/AVP stream may carry
	// some too (opportunistic SRTP, RFC 8643), which a plain RTP answer
	// ignores.
	Crypto []string
	// RTCPMux is true when the peer offers RTCP on the RTP port
	// (a=rtcp-mux, RFC 5761).
	RTCPMux bool
	// RTCPPort is the port of the a=rtcp attribute (RFC 3605), or 0 when
	// absent or unreadable: then RTCP is on the RTP port + 1 (or on the
	// RTP port itself with RTCPMux).
	RTCPPort int
}

// Encrypted reports whether the audio stream is SRTP (RTP/SAVP or
// RTP/SAVPF): its packets are protected with the keys in Crypto.
func (d *Description) Encrypted() bool {
	return strings.Contains(d.Proto, "SAVP")
}

// Parse reads an SDP body and describes its first audio stream. It reports
// a clear error for a body that is not SDP, one without an audio stream,
// a rejected stream (port 0), a missing or unparsable connection address,
// a transport other than RTP/AVP, RTP/AVPF, RTP/SAVP or RTP/SAVPF (DTLS-SRTP,
// UDP/TLS/RTP/SAVPF, among them), and an RTP/SAVP stream without an
// a=crypto line.
func Parse(body []byte) (*Description, error) {
	text, err := normalize(body)
	if err != nil {
		return nil, err
	}
	var sd pion.SessionDescription
	if err := sd.UnmarshalString(text); err != nil {
		return nil, fmt.Errorf("malformed SDP: %w", err)
	}
	var md *pion.MediaDescription
	for _, m := range sd.MediaDescriptions {
		if m.MediaName.Media == "audio" {
			md = m
			break
		}
	}
	if md == nil {
		return nil, errors.New("no audio stream in SDP")
	}
	if md.MediaName.Port.Value == 0 {
		return nil, errors.New("audio stream rejected (port 0)")
	}
	proto := strings.Join(md.MediaName.Protos, "/")
	if err := checkProto(proto); err != nil {
		return nil, err
	}

	addr, err := connectionAddress(sd.ConnectionInformation, md.ConnectionInformation)
	if err != nil {
		return nil, err
	}
	d := &Description{
		Address:        addr,
		Port:           md.MediaName.Port.Value,
		TelephoneEvent: -1,
		Direction:      direction(sd.Attributes, md.Attributes),
		Ptime:          ptime(sd.Attributes, md.Attributes),
		Proto:          proto,
	}
	for _, a := range md.Attributes {
		switch a.Key {
		case "crypto":
			d.Crypto = append(d.Crypto, strings.TrimSpace(a.Value))
		case "rtcp-mux":
			d.RTCPMux = true
		case "rtcp":
			if d.RTCPPort == 0 {
				d.RTCPPort = rtcpPort(a.Value)
			}
		}
	}
	if d.Encrypted() && len(d.Crypto) == 0 {
		return nil, fmt.Errorf("%s audio stream has no a=crypto line: SRTP keys must be offered in the SDP (SDES, RFC 4568)", proto)
	}

	rtpmaps := make(map[uint8]Codec, len(md.Attributes))
	for _, a := range md.Attributes {
		if a.Key != "rtpmap" {
			continue
		}
		if c, ok := parseRtpmap(a.Value); ok {
			if _, dup := rtpmaps[c.PayloadType]; !dup {
				rtpmaps[c.PayloadType] = c
			}
		}
	}
	seen := make(map[uint8]bool, len(md.MediaName.Formats))
	for _, f := range md.MediaName.Formats {
		pt, err := strconv.ParseUint(f, 10, 8)
		if err != nil || pt > 127 {
			return nil, fmt.Errorf("invalid payload type %q in the audio m= line", f)
		}
		if seen[uint8(pt)] {
			continue
		}
		seen[uint8(pt)] = true
		c, ok := rtpmaps[uint8(pt)]
		if !ok {
			c = staticCodec(uint8(pt))
		}
		if strings.EqualFold(c.Name, "telephone-event") {
			if c.ClockRate == 8000 && d.TelephoneEvent < 0 {
				d.TelephoneEvent = int(pt)
			}
			continue
		}
		d.Codecs = append(d.Codecs, c)
	}
	return d, nil
}

// checkProto accepts the RTP transports callrec speaks and explains the
// others.
func checkProto(proto string) error {
	switch proto {
	case "RTP/AVP", "RTP/AVPF", "RTP/SAVP", "RTP/SAVPF":
		return nil
	}
	if strings.Contains(proto, "TLS/") && strings.Contains(proto, "SAVP") {
		return fmt.Errorf("DTLS-SRTP (%s) is not supported; offer SRTP with SDES keys (RTP/SAVP with a=crypto) or plain RTP/AVP", proto)
	}
	return fmt.Errorf("unsupported audio transport %s; RTP/AVP and SDES-keyed RTP/SAVP are supported", proto)
}

// rtcpPort reads the port of an a=rtcp value ("<port> [<nettype>
// <addrtype> <address>]"), or returns 0 when it is not a port.
func rtcpPort(v string) int {
	fields := strings.Fields(v)
	if len(fields) == 0 {
		return 0
	}
	port, err := strconv.Atoi(fields[0])
	if err != nil || port < 1 || port > 65535 {
		return 0
	}
	return port
}

// normalize checks that body looks like SDP and tidies it for the strict
// pion parser: line endings become CRLF, trailing white space and blank
// lines go, and media sections other than audio are dropped (the parser
// rejects some, such as T.38's "m=image ... udptl t38", and only audio
// matters here).
func normalize(body []byte) (string, error) {
	s := strings.TrimLeft(string(body), " \t\r\n\ufeff")
	if !strings.HasPrefix(s, "v=") {
		return "", errors.New("not SDP: body does not start with \"v=\"")
	}
	var b strings.Builder
	b.Grow(len(s) + 64)
	skip := false
	for line := range strings.SplitSeq(s, "\n") {
		line = strings.TrimRight(line, " \t\r")
		if line == "" {
			continue
		}
		if strings.HasPrefix(line, "m=") {
			media, _, _ := strings.Cut(line[2:], " ")
			skip = media != "audio"
		}
		if skip {
			continue
		}
		b.WriteString(line)
		b.WriteString("\r\n")
	}
	return b.String(), nil
}

// connectionAddress returns the media-level c= address, else the
// session-level one.
func connectionAddress(session, media *pion.ConnectionInformation) (string, error) {
	c := media
	if c == nil || c.Address == nil {
		c = session
	}
	if c == nil || c.Address == nil || c.Address.Address == "" {
		return "", errors.New("missing connection address: no c= line for the audio stream")
	}
	// Multicast addresses may carry /ttl and /count suffixes.
	host, _, _ := strings.Cut(c.Address.Address, "/")
	ip, err := netip.ParseAddr(host)
	if err != nil {
		return "", fmt.Errorf("unparsable connection address %q in c= line: want an IPv4 or IPv6 address", c.Address.Address)
	}
	return ip.String(), nil
}

// direction returns the media-level direction attribute, else the
// session-level one, else sendrecv.
func direction(session, media []pion.Attribute) string {
	for _, attrs := range [][]pion.Attribute{media, session} {
		for _, a := range attrs {
			switch a.Key {
			case SendRecv, SendOnly, RecvOnly, Inactive:
				return a.Key
			}
		}
	}
	return SendRecv
}

// ptime returns the media-level a=ptime, else the session-level one, else 0.
func ptime(session, media []pion.Attribute) int {
	for _, attrs := range [][]pion.Attribute{media, session} {
		for _, a := range attrs {
			if a.Key != "ptime" {
				continue
			}
			v, err := strconv.ParseFloat(strings.TrimSpace(a.Value), 64)
			if err == nil && v > 0 && v < 10000 {
				return int(v)
			}
		}
	}
	return 0
}

// parseRtpmap parses the value of an rtpmap attribute:
// "<payload type> <encoding name>/<clock rate>[/<channels>]".
func parseRtpmap(v string) (Codec, bool) {
	fields := strings.Fields(v)
	if len(fields) != 2 {
		return Codec{}, false
	}
	pt, err := strconv.ParseUint(fields[0], 10, 8)
	if err != nil || pt > 127 {
		return Codec{}, false
	}
	parts := strings.Split(fields[1], "/")
	if len(parts) < 2 || parts[0] == "" {
		return Codec{}, false
	}
	rate, err := strconv.ParseUint(parts[1], 10, 32)
	if err != nil {
		return Codec{}, false
	}
	return Codec{PayloadType: uint8(pt), Name: parts[0], ClockRate: uint32(rate)}, true
}

// staticCodec returns the audio codec RFC 3551 assigns to a static payload
// type, or a Codec with an empty name for a payload type it does not assign.
func staticCodec(pt uint8) Codec {
	c := Codec{PayloadType: pt, ClockRate: 8000}
	switch pt {
	case 0:
		c.Name = "PCMU"
	case 3:
		c.Name = "GSM"
	case 4:
		c.Name = "G723"
	case 5:
		c.Name = "DVI4"
	case 6:
		c.Name, c.ClockRate = "DVI4", 16000
	case 7:
		c.Name = "LPC"
	case 8:
		c.Name = "PCMA"
	case 9:
		c.Name = "G722" // 8000 by an old mistake in RFC 1890, kept since
	case 10, 11:
		c.Name, c.ClockRate = "L16", 44100
	case 12:
		c.Name = "QCELP"
	case 13:
		c.Name = "CN"
	case 14:
		c.Name, c.ClockRate = "MPA", 90000
	case 15:
		c.Name = "G728"
	case 16:
		c.Name, c.ClockRate = "DVI4", 11025
	case 17:
		c.Name, c.ClockRate = "DVI4", 22050
	case 18:
		c.Name = "G729"
	default:
		c.ClockRate = 0
	}
	return c
}

// Selection is the outcome of a negotiation: the codec to send and receive,
// and the telephone-event payload type.
type Selection struct {
	// Codec is the chosen codec, with the offerer's payload type.
	Codec Codec
	// TelephoneEvent is the offerer's telephone-event/8000 payload type, or
	// -1 if it offered none.
	TelephoneEvent int
}

// Negotiate picks, in the offerer's order of preference, the first offered
// codec whose name is in supported (compared case-insensitively, "PCMU",
// "PCMA"...) and whose clock rate is 8000 Hz. The selection keeps the
// offerer's payload types. It returns an error wrapping ErrNoCommonCodec
// when nothing matches.
func Negotiate(offer *Description, supported []string) (Selection, error) {
	if offer == nil {
		return Selection{}, errors.New("negotiate: no offer")
	}
	for _, c := range offer.Codecs {
		if c.ClockRate != 8000 {
			continue
		}
		for _, name := range supported {
			if strings.EqualFold(c.Name, name) {
				return Selection{Codec: c, TelephoneEvent: offer.TelephoneEvent}, nil
			}
		}
	}
	offered := make([]string, 0, len(offer.Codecs))
	for _, c := range offer.Codecs {
		name := c.Name
		if name == "" {
			name = "unknown"
		}
		offered = append(offered, fmt.Sprintf("%s/%d (%d)", name, c.ClockRate, c.PayloadType))
	}
	return Selection{}, fmt.Errorf("%w: offered %s; supported %s",
		ErrNoCommonCodec, listOrNone(offered), listOrNone(supported))
}

func listOrNone(l []string) string {
	if len(l) == 0 {
		return "none"
	}
	return strings.Join(l, ", ")
}

// Local describes callrec's side of a session, for Build.
type Local struct {
	// SessionID and SessionVersion go in the o= line; increment
	// SessionVersion whenever a new SDP of the same session differs.
	SessionID      uint64
	SessionVersion uint64
	// Address is the IPv4 or IPv6 address to receive RTP on.
	Address string
	// Port is the RTP port; 0 rejects the stream.
	Port int
	// Codecs are the audio codecs, in order of preference. An offer lists
	// every supported codec; an answer lists the selected one.
	Codecs []Codec
	// TelephoneEvent is the payload type to advertise for
	// telephone-event/8000, or -1 for none. An answer uses the offerer's.
	TelephoneEvent int
	// Direction is sendrecv (the default when empty), sendonly, recvonly
	// or inactive.
	Direction string
	// Proto is the transport: RTP/AVP (the default when empty),
	// RTP/AVPF, RTP/SAVP or RTP/SAVPF. An answer uses the offer's.
	Proto string
	// Crypto are a=crypto values (the text after "a=crypto:"), written in
	// order. RTP/SAVP needs at least one: an offer lists one per suite,
	// an answer the one it accepts with callrec's key.
	Crypto []string
	// RTCPMux writes a=rtcp-mux: RTCP on the RTP port (RFC 5761).
	RTCPMux bool
}

// Build returns the SDP for l: one audio stream with an rtpmap for every
// codec, telephone-event with "a=fmtp:<pt> 0-16" when requested,
// a=ptime:20, the direction, a=rtcp-mux when asked for and the a=crypto
// lines.
func Build(l Local) ([]byte, error) {
	ip, err := netip.ParseAddr(l.Address)
	if err != nil {
		return nil, fmt.Errorf("build SDP: address %q is not an IP address", l.Address)
	}
	if ip.Zone() != "" {
		return nil, fmt.Errorf("build SDP: address %q has a zone; use a global address", l.Address)
	}
	ip = ip.Unmap()
	addrType := "IP4"
	if ip.Is6() {
		addrType = "IP6"
	}
	if l.Port < 0 || l.Port > 65535 {
		return nil, fmt.Errorf("build SDP: port %d out of range 0-65535", l.Port)
	}
	if len(l.Codecs) == 0 {
		return nil, errors.New("build SDP: no codecs")
	}
	dir := l.Direction
	switch dir {
	case "":
		dir = SendRecv
	case SendRecv, SendOnly, RecvOnly, Inactive:
	default:
		return nil, fmt.Errorf("build SDP: direction %q: want sendrecv, sendonly, recvonly or inactive", l.Direction)
	}
	if l.TelephoneEvent < -1 || l.TelephoneEvent > 127 {
		return nil, fmt.Errorf("build SDP: telephone-event payload type %d: want 0-127, or -1 for none", l.TelephoneEvent)
	}
	proto := l.Proto
	if proto == "" {
		proto = "RTP/AVP"
	}
	switch proto {
	case "RTP/AVP", "RTP/AVPF", "RTP/SAVP", "RTP/SAVPF":
	default:
		return nil, fmt.Errorf("build SDP: transport %q: want RTP/AVP, RTP/AVPF, RTP/SAVP or RTP/SAVPF", l.Proto)
	}
	if strings.Contains(proto, "SAVP") && len(l.Crypto) == 0 {
		return nil, fmt.Errorf("build SDP: %s needs an a=crypto line with the key", proto)
	}
	for _, c := range l.Crypto {
		if !validAttributeValue(c) {
			return nil, fmt.Errorf("build SDP: crypto value %q is empty or holds a character that is not printable ASCII", c)
		}
	}

	var used [128]bool
	formats := make([]string, 0, len(l.Codecs)+1)
	attrs := make([]pion.Attribute, 0, len(l.Codecs)+4)
	for _, c := range l.Codecs {
		if c.PayloadType > 127 {
			return nil, fmt.Errorf("build SDP: codec %s payload type %d: want 0-127", c.Name, c.PayloadType)
		}
		if !validName(c.Name) {
			return nil, fmt.Errorf("build SDP: codec name %q for payload type %d is not a valid encoding name", c.Name, c.PayloadType)
		}
		if c.ClockRate == 0 {
			return nil, fmt.Errorf("build SDP: codec %s has no clock rate", c.Name)
		}
		if used[c.PayloadType] {
			return nil, fmt.Errorf("build SDP: payload type %d used twice", c.PayloadType)
		}
		used[c.PayloadType] = true
		pt := strconv.Itoa(int(c.PayloadType))
		formats = append(formats, pt)
		attrs = append(attrs, pion.NewAttribute("rtpmap", pt+" "+c.Name+"/"+strconv.FormatUint(uint64(c.ClockRate), 10)))
	}
	if l.TelephoneEvent >= 0 {
		if used[l.TelephoneEvent] {
			return nil, fmt.Errorf("build SDP: telephone-event payload type %d is also a codec's", l.TelephoneEvent)
		}
		pt := strconv.Itoa(l.TelephoneEvent)
		formats = append(formats, pt)
		attrs = append(attrs,
			pion.NewAttribute("rtpmap", pt+" telephone-event/8000"),
			pion.NewAttribute("fmtp", pt+" 0-16"))
	}
	attrs = append(attrs, pion.NewAttribute("ptime", "20"), pion.NewPropertyAttribute(dir))
	if l.RTCPMux {
		attrs = append(attrs, pion.NewPropertyAttribute("rtcp-mux"))
	}
	for _, c := range l.Crypto {
		attrs = append(attrs, pion.NewAttribute("crypto", c))
	}

	addr := ip.String()
	sd := pion.SessionDescription{
		Origin: pion.Origin{
			Username:       "callrec",
			SessionID:      l.SessionID,
			SessionVersion: l.SessionVersion,
			NetworkType:    "IN",
			AddressType:    addrType,
			UnicastAddress: addr,
		},
		SessionName: "callrec",
		ConnectionInformation: &pion.ConnectionInformation{
			NetworkType: "IN",
			AddressType: addrType,
			Address:     &pion.Address{Address: addr},
		},
		TimeDescriptions: []pion.TimeDescription{{}},
		MediaDescriptions: []*pion.MediaDescription{{
			MediaName: pion.MediaName{
				Media:   "audio",
				Port:    pion.RangedPort{Value: l.Port},
				Protos:  strings.Split(proto, "/"),
				Formats: formats,
			},
			Attributes: attrs,
		}},
	}
	out, err := sd.Marshal()
	if err != nil {
		return nil, fmt.Errorf("build SDP: %w", err)
	}
	return out, nil
}

// validName reports whether s can be an encoding name in an rtpmap
// attribute: a non-empty token without spaces, slashes or control
// characters.
func validName(s string) bool {
	if s == "" {
		return false
	}
	for i := 0; i < len(s); i++ {
		if c := s[i]; c <= ' ' || c == '/' || c == 0x7F {
			return false
		}
	}
	return true
}

// validAttributeValue reports whether s can be an attribute value: not
// empty, printable ASCII and spaces only, so that it cannot end the line
// and start another.
func validAttributeValue(s string) bool {
	if strings.TrimSpace(s) == "" {
		return false
	}
	for i := 0; i < len(s); i++ {
		if c := s[i]; c < ' ' || c > '~' {
			return false
		}
	}
	return true
}
