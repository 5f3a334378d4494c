// Package codec converts audio between 16-bit linear PCM and the G.711 codecs
// (PCMU, mu-law; PCMA, A-law) carried in RTP.
//
// All conversion functions append to a caller-provided slice so that a
// per-packet path can reuse one buffer and allocate nothing.
package codec

import (
	"slices"
	"strconv"
	"strings"

	"github.com/zaf/g711"
)

// Codec identifies a G.711 variant. Its value is the codec's static RTP
// payload type (RFC 3551), so the zero value is PCMU.
type Codec uint8

const (
	// PCMU is G.711 mu-law, static RTP payload type 0.
	PCMU Codec = 0
	// PCMA is G.711 A-law, static RTP payload type 8.
	PCMA Codec = 8
)

// Name returns the codec's RTP encoding name, "PCMU" or "PCMA", or
// "Codec(n)" for a value that is not a known codec.
func (c Codec) Name() string {
	switch c {
	case PCMU:
		return "PCMU"
	case PCMA:
		return "PCMA"
	default:
		return "Codec(" + strconv.Itoa(int(c)) + ")"
	}
}

// String returns the codec's name; it makes Codec a fmt.Stringer.
func (c Codec) String() string { return c.Name() }

// Valid reports whether c is PCMU or PCMA.
func (c Codec) Valid() bool { return c == PCMU || c == PCMA }

// PayloadType returns the codec's static RTP payload type: 0 for PCMU, 8 for PCMA.
func (c Codec) PayloadType() uint8 { return uint8(c) }

// ClockRate returns the codec's RTP clock rate, 8000 Hz.
func (c Codec) ClockRate() uint32 { return 8000 }

// ByName returns the codec whose RTP encoding name is name, compared
// case-insensitively ("pcmu", "PCMA", ...).
func ByName(name string) (Codec, bool) {
	switch {
	case strings.EqualFold(name, "PCMU"):
		return PCMU, true
	case strings.EqualFold(name, "PCMA"):
		return PCMA, true
	default:
		return 0, false
	}
}

// Decode appends to dst the linear samples of the G.711 payload (one sample
// per byte) and returns the extended slice. For a value of c that is not a
// known codec it returns dst unchanged.
func (c Codec) Decode(dst []int16, payload []byte) []int16 {
	if !c.Valid() {
		return dst
	}
	n := len(dst)
	dst = slices.Grow(dst, len(payload))[:n+len(payload)]
	out := dst[n:]
	if c == PCMU {
		for i, b := range payload {
			out[i] = g711.DecodeUlawFrame(b)
		}
	} else {
		for i, b := range payload {
			out[i] = g711.DecodeAlawFrame(b)
		}
	}
	return dst
}

// Encode appends to dst the G.711 encoding of the linear samples pcm (one
// byte per sample) and returns the extended slice. For a value of c that is
// not a known codec it returns dst unchanged.
func (c Codec) Encode(dst []byte, pcm []int16) []byte {
	if !c.Valid() {
		return dst
	}
	n := len(dst)
	dst = slices.Grow(dst, len(pcm))[:n+len(pcm)]
	out := dst[n:]
	if c == PCMU {
		for i, s := range pcm {
			out[i] = g711.EncodeUlawFrame(s)
		}
	} else {
		for i, s := range pcm {
			out[i] = g711.EncodeAlawFrame(s)
		}
	}
	return dst
}

// Transcode appends to dst the payload, encoded with from, re-encoded with to,
// and returns the extended slice. When from equals to, the payload is copied
// unchanged; otherwise each sample is decoded to linear and encoded again.
// If either codec is not a known codec, dst is returned unchanged.
func Transcode(dst []byte, from, to Codec, payload []byte) []byte {
	if !from.Valid() || !to.Valid() {
		return dst
	}
	if from == to {
		return append(dst, payload...)
	}
	n := len(dst)
	dst = slices.Grow(dst, len(payload))[:n+len(payload)]
	out := dst[n:]
	if from == PCMU {
		for i, b := range payload {
			out[i] = g711.EncodeAlawFrame(g711.DecodeUlawFrame(b))
		}
	} else {
		for i, b := range payload {
			out[i] = g711.EncodeUlawFrame(g711.DecodeAlawFrame(b))
		}
	}
	return dst
}
