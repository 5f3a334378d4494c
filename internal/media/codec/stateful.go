package codec

import (
	"errors"
	"fmt"

	"github.com/callrec/callrec/internal/media/g722"
)

// ErrUnknownCodec is returned (wrapped) by the constructors given a value
// that is not a known codec.
var ErrUnknownCodec = errors.New("codec: unknown codec")

// Decoder turns one stream's payloads into linear PCM at the codec's
// SampleRate. A Decoder keeps the stream's state (none for G.711, the ADPCM
// and filter state for G.722), so a stream needs its own, used from one
// goroutine at a time. Decode appends to dst and allocates nothing when dst
// has room.
type Decoder interface {
	// Decode appends to dst the samples of payload and returns the extended
	// slice: one sample per byte for G.711, two for G.722.
	Decode(dst []int16, payload []byte) []int16
	// Codec returns the codec the Decoder decodes.
	Codec() Codec
}

// Encoder turns linear PCM at the codec's SampleRate into payloads. Like a
// Decoder it belongs to one stream and one goroutine at a time, and Encode
// allocates nothing when dst has room.
type Encoder interface {
	// Encode appends to dst the encoding of pcm and returns the extended
	// slice: one byte per sample for G.711, one per two samples for G.722
	// (an odd last sample is kept for the next call).
	Encode(dst []byte, pcm []int16) []byte
	// Codec returns the codec the Encoder encodes.
	Codec() Codec
}

// NewDecoder returns a Decoder for one stream in codec c, or an error
// wrapping ErrUnknownCodec if c is not a known codec.
func NewDecoder(c Codec) (Decoder, error) {
	switch {
	case c.narrowband():
		return g711Decoder{c}, nil
	case c == G722:
		return g722Decoder{g722.NewDecoder()}, nil
	default:
		return nil, fmt.Errorf("%w: %s", ErrUnknownCodec, c)
	}
}

// NewEncoder returns an Encoder for one stream in codec c, or an error
// wrapping ErrUnknownCodec if c is not a known codec.
func NewEncoder(c Codec) (Encoder, error) {
	switch {
	case c.narrowband():
		return g711Encoder{c}, nil
	case c == G722:
		return g722Encoder{g722.NewEncoder()}, nil
	default:
		return nil, fmt.Errorf("%w: %s", ErrUnknownCodec, c)
	}
}

// g711Decoder is the stateless G.711 Decoder.
type g711Decoder struct{ codec Codec }

func (d g711Decoder) Decode(dst []int16, payload []byte) []int16 {
	return d.codec.Decode(dst, payload)
}

func (d g711Decoder) Codec() Codec { return d.codec }

// g711Encoder is the stateless G.711 Encoder.
type g711Encoder struct{ codec Codec }

func (e g711Encoder) Encode(dst []byte, pcm []int16) []byte { return e.codec.Encode(dst, pcm) }

func (e g711Encoder) Codec() Codec { return e.codec }

// g722Decoder is a G.722 stream's Decoder.
type g722Decoder struct{ *g722.Decoder }

func (g722Decoder) Codec() Codec { return G722 }

// g722Encoder is a G.722 stream's Encoder.
type g722Encoder struct{ *g722.Encoder }

func (g722Encoder) Codec() Codec { return G722 }
