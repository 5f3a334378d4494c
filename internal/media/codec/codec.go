// Package codec converts audio between 16-bit linear PCM and the codecs
// carried in RTP: G.711 (PCMU, mu-law; PCMA, A-law) at 8 kHz and G.722
// (wideband, 16 kHz).
//
// G.711 is stateless, so the methods Codec.Decode and Codec.Encode and the
// function Transcode convert any packet on its own. G.722 is adaptive: a
// stream needs the state that NewDecoder, NewEncoder and NewTranscoder keep,
// one per direction of a stream. Upsampler and Downsampler convert between
// the two sample rates.
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

// Codec identifies an audio codec. Its value is the codec's static RTP
// payload type (RFC 3551), so the zero value is PCMU.
type Codec uint8

const (
	// PCMU is G.711 mu-law, static RTP payload type 0.
	PCMU Codec = 0
	// PCMA is G.711 A-law, static RTP payload type 8.
	PCMA Codec = 8
	// G722 is ITU-T G.722 at 64 kbit/s, static RTP payload type 9: 16 kHz
	// audio, one byte per two samples (160 bytes per 20 ms).
	G722 Codec = 9
)

// Name returns the codec's RTP encoding name, "PCMU", "PCMA" or "G722", or
// "Codec(n)" for a value that is not a known codec.
func (c Codec) Name() string {
	switch c {
	case PCMU:
		return "PCMU"
	case PCMA:
		return "PCMA"
	case G722:
		return "G722"
	default:
		return "Codec(" + strconv.Itoa(int(c)) + ")"
	}
}

// String returns the codec's name; it makes Codec a fmt.Stringer.
func (c Codec) String() string { return c.Name() }

// Valid reports whether c is a known codec: PCMU, PCMA or G722.
func (c Codec) Valid() bool { return c.narrowband() || c == G722 }

// narrowband reports whether c is one of the stateless G.711 codecs.
func (c Codec) narrowband() bool { return c == PCMU || c == PCMA }

// Wideband reports whether c carries 16 kHz audio (G722).
func (c Codec) Wideband() bool { return c == G722 }

// PayloadType returns the codec's static RTP payload type: 0 for PCMU, 8 for
// PCMA, 9 for G722.
func (c Codec) PayloadType() uint8 { return uint8(c) }

// ClockRate returns the codec's RTP clock rate, 8000 Hz for all of them: G.722
// keeps the 8000 that RFC 1890 gave it by mistake (RFC 3551, section 4.5.2),
// so its RTP timestamps advance 160 per 20 ms like G.711's although its audio
// is sampled at 16 kHz.
func (c Codec) ClockRate() uint32 { return 8000 }

// SampleRate returns the rate of the linear PCM the codec carries: 8000 Hz
// for PCMU and PCMA, 16000 Hz for G722, 0 for a value that is not a known
// codec.
func (c Codec) SampleRate() int {
	switch {
	case c.narrowband():
		return 8000
	case c == G722:
		return 16000
	default:
		return 0
	}
}

// ByName returns the codec whose RTP encoding name is name, compared
// case-insensitively ("pcmu", "PCMA", "g722", ...).
func ByName(name string) (Codec, bool) {
	switch {
	case strings.EqualFold(name, "PCMU"):
		return PCMU, true
	case strings.EqualFold(name, "PCMA"):
		return PCMA, true
	case strings.EqualFold(name, "G722"):
		return G722, true
	default:
		return 0, false
	}
}

// Decode appends to dst the linear samples of the G.711 payload (one sample
// per byte) and returns the extended slice. G.722 needs a stream's state, so
// for G722 (use NewDecoder) and for a value of c that is not a known codec it
// returns dst unchanged.
func (c Codec) Decode(dst []int16, payload []byte) []int16 {
	if !c.narrowband() {
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
// byte per sample) and returns the extended slice. G.722 needs a stream's
// state, so for G722 (use NewEncoder) and for a value of c that is not a
// known codec it returns dst unchanged.
func (c Codec) Encode(dst []byte, pcm []int16) []byte {
	if !c.narrowband() {
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
// and returns the extended slice. When from equals to (a known codec, G722
// included), the payload is copied unchanged; otherwise each G.711 sample is
// decoded to linear and encoded again. Converting to or from G.722 needs a
// stream's state, so when only one of the two is G722 (use NewTranscoder),
// or either is not a known codec, dst is returned unchanged.
func Transcode(dst []byte, from, to Codec, payload []byte) []byte {
	if from == to && from.Valid() {
		return append(dst, payload...)
	}
	if !from.narrowband() || !to.narrowband() {
		return dst
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
