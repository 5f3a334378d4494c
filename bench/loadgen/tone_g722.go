package main

import (
	"time"

	"github.com/callrec/callrec/internal/media/g722"
)

// g722Tone returns d of the tone in G.722. The encoder runs over one loop
// of the tone first and that part is dropped, so the returned payload
// starts with the ADPCM state the tone settles into and loops with no
// audible seam.
func g722Tone(d time.Duration) []byte {
	warm := int(int64(8000) * int64(toneLoop) / int64(time.Second)) // one byte per two 16 kHz samples
	payload := g722.NewEncoder().Encode(nil, sine(16000, toneLoop+d))
	return payload[warm:]
}
