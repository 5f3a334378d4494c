package codec

import (
	"bytes"
	"errors"
	"slices"
	"testing"

	"github.com/callrec/callrec/internal/media/g722"
)

func TestWidebandMetadata(t *testing.T) {
	tests := []struct {
		c        Codec
		rate     int
		wideband bool
	}{
		{PCMU, 8000, false},
		{PCMA, 8000, false},
		{G722, 16000, true},
		{Codec(3), 0, false},
	}
	for _, tt := range tests {
		if got := tt.c.SampleRate(); got != tt.rate {
			t.Errorf("%s.SampleRate() = %d, want %d", tt.c, got, tt.rate)
		}
		if got := tt.c.Wideband(); got != tt.wideband {
			t.Errorf("%s.Wideband() = %v, want %v", tt.c, got, tt.wideband)
		}
	}
	if got := G722.ClockRate(); got != 8000 {
		t.Errorf("G722.ClockRate() = %d, want 8000 (RFC 3551)", got)
	}
}

func TestStatelessCallsLeaveG722Alone(t *testing.T) {
	if got := G722.Decode([]int16{5}, []byte{1, 2, 3}); !slices.Equal(got, []int16{5}) {
		t.Errorf("G722.Decode = %v, want dst unchanged", got)
	}
	if got := G722.Encode([]byte{5}, []int16{1, 2, 3, 4}); !bytes.Equal(got, []byte{5}) {
		t.Errorf("G722.Encode = %v, want dst unchanged", got)
	}
	for _, pair := range [][2]Codec{{G722, PCMU}, {PCMA, G722}} {
		if got := Transcode([]byte{5}, pair[0], pair[1], []byte{1, 2}); !bytes.Equal(got, []byte{5}) {
			t.Errorf("Transcode %s to %s = %v, want dst unchanged", pair[0], pair[1], got)
		}
	}
	if got := Transcode([]byte{5}, G722, G722, []byte{1, 2}); !bytes.Equal(got, []byte{5, 1, 2}) {
		t.Errorf("Transcode G722 to G722 = %v, want the payload copied", got)
	}
}

func TestConstructorsRefuseUnknownCodecs(t *testing.T) {
	bad := Codec(42)
	if _, err := NewDecoder(bad); !errors.Is(err, ErrUnknownCodec) {
		t.Errorf("NewDecoder(%s) error = %v, want ErrUnknownCodec", bad, err)
	}
	if _, err := NewEncoder(bad); !errors.Is(err, ErrUnknownCodec) {
		t.Errorf("NewEncoder(%s) error = %v, want ErrUnknownCodec", bad, err)
	}
	for _, pair := range [][2]Codec{{bad, PCMU}, {G722, bad}} {
		if _, err := NewTranscoder(pair[0], pair[1]); !errors.Is(err, ErrUnknownCodec) {
			t.Errorf("NewTranscoder(%s, %s) error = %v, want ErrUnknownCodec", pair[0], pair[1], err)
		}
	}
}

func TestStatefulG711MatchesStateless(t *testing.T) {
	pcm := sine(160, 8000, 1000, 12000)
	for _, c := range []Codec{PCMU, PCMA} {
		enc, err := NewEncoder(c)
		if err != nil {
			t.Fatal(err)
		}
		dec, err := NewDecoder(c)
		if err != nil {
			t.Fatal(err)
		}
		if enc.Codec() != c || dec.Codec() != c {
			t.Errorf("%s: Codec() = %s / %s", c, enc.Codec(), dec.Codec())
		}
		payload := enc.Encode(nil, pcm)
		if want := c.Encode(nil, pcm); !bytes.Equal(payload, want) {
			t.Errorf("%s: Encoder differs from Codec.Encode", c)
		}
		if got, want := dec.Decode(nil, payload), c.Decode(nil, payload); !slices.Equal(got, want) {
			t.Errorf("%s: Decoder differs from Codec.Decode", c)
		}
	}
}

func TestStatefulG722(t *testing.T) {
	pcm := sine(640, 16000, 1000, 12000)
	enc, err := NewEncoder(G722)
	if err != nil {
		t.Fatal(err)
	}
	dec, err := NewDecoder(G722)
	if err != nil {
		t.Fatal(err)
	}
	if enc.Codec() != G722 || dec.Codec() != G722 {
		t.Errorf("Codec() = %s / %s, want G722", enc.Codec(), dec.Codec())
	}
	// Two 20 ms packets through the interface equal the g722 package's
	// encoding and decoding of the 40 ms at once.
	var payload []byte
	payload = enc.Encode(payload, pcm[:320])
	payload = enc.Encode(payload, pcm[320:])
	if want := g722.NewEncoder().Encode(nil, pcm); !bytes.Equal(payload, want) {
		t.Errorf("G.722 Encoder differs from the g722 package")
	}
	if len(payload) != 320 {
		t.Errorf("40 ms encoded to %d bytes, want 320", len(payload))
	}
	var got []int16
	got = dec.Decode(got, payload[:160])
	got = dec.Decode(got, payload[160:])
	if want := g722.NewDecoder().Decode(nil, payload); !slices.Equal(got, want) {
		t.Errorf("G.722 Decoder differs from the g722 package")
	}
}

func TestStatefulAllocateNothing(t *testing.T) {
	for _, c := range []Codec{PCMU, PCMA, G722} {
		enc, _ := NewEncoder(c)
		dec, _ := NewDecoder(c)
		pcm := sine(c.SampleRate()/50, c.SampleRate(), 1000, 10000)
		payload := make([]byte, 0, 160)
		samples := make([]int16, 0, 320)
		n := testing.AllocsPerRun(100, func() {
			payload = enc.Encode(payload[:0], pcm)
			samples = dec.Decode(samples[:0], payload)
		})
		if n != 0 {
			t.Errorf("%s: %v allocations per packet", c, n)
		}
	}
}
