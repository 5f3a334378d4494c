package codec

import "fmt"

// packetSamples is the room the Transcoder's buffers start with: 20 ms at
// 16 kHz. They grow if a packet needs more and are then kept.
const packetSamples = 320

// Transcoder re-encodes one direction of a bridge from one codec to another,
// keeping state (G.722 ADPCM state, resampler history) from packet to
// packet. When the two codecs are the same, payloads are copied unchanged.
// G.722 to G.711 is decode at 16 kHz, Downsampler, encode; G.711 to G.722 is
// decode, Upsampler, encode at 16 kHz; between the two G.711 codecs each
// sample is converted on its own. Make one with NewTranscoder per direction;
// use it from one goroutine at a time.
type Transcoder struct {
	from, to  Codec
	decoder   Decoder
	encoder   Encoder
	up        *Upsampler   // G.711 to G.722 only
	down      *Downsampler // G.722 to G.711 only
	decoded   []int16      // scratch: the payload as linear PCM
	resampled []int16      // scratch: decoded at the other rate
}

// NewTranscoder returns a Transcoder from codec from to codec to, or an error
// wrapping ErrUnknownCodec if either is not a known codec.
func NewTranscoder(from, to Codec) (*Transcoder, error) {
	if !from.Valid() || !to.Valid() {
		return nil, fmt.Errorf("%w: transcoding %s to %s", ErrUnknownCodec, from, to)
	}
	t := &Transcoder{from: from, to: to}
	if from == to || from.narrowband() && to.narrowband() {
		return t, nil
	}
	t.decoder, _ = NewDecoder(from) // both known: no error
	t.encoder, _ = NewEncoder(to)
	if from.Wideband() {
		t.down = NewDownsampler()
	} else {
		t.up = NewUpsampler()
	}
	t.decoded = make([]int16, 0, packetSamples)
	t.resampled = make([]int16, 0, packetSamples)
	return t, nil
}

// Transcode appends to dst payload, encoded with the Transcoder's from codec,
// re-encoded with its to codec, and returns the extended slice. Each payload
// gives one of the same duration and length (160 bytes per 20 ms in all three
// codecs); between G.711 and G.722 the audio comes out delayed by the filters
// (the resampler's 15 samples at 16 kHz and G.722's sub-band filter's). It
// allocates only when dst lacks room, and the first time a payload is longer
// than any before.
func (t *Transcoder) Transcode(dst []byte, payload []byte) []byte {
	if t.decoder == nil { // the same codec, or G.711 to G.711
		return Transcode(dst, t.from, t.to, payload)
	}
	t.decoded = t.decoder.Decode(t.decoded[:0], payload)
	if t.down != nil {
		t.resampled = t.down.Down(t.resampled[:0], t.decoded)
	} else {
		t.resampled = t.up.Up(t.resampled[:0], t.decoded)
	}
	return t.encoder.Encode(dst, t.resampled)
}
