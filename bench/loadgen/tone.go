package main

import (
	"flag"
	"fmt"
	"io"
	"math"
	"os"
	"strings"
	"time"

	"github.com/callrec/callrec/internal/media/codec"
	"github.com/callrec/callrec/internal/media/sdp"
)

// The tone every call sends: 440 Hz at half of full scale, as the
// benchmark's SIPp caller sends (sox synth sine 440 vol 0.5).
const (
	toneHz    = 440
	toneLevel = 0.5
	// toneLoop is the length of the tone a call loops. 440 Hz fits a
	// whole number of cycles in it, so the loop has no seam.
	toneLoop = time.Second
)

// RTP framing shared by PCMU and G.722: both have an 8000 Hz RTP clock and
// 160 bytes of payload per 20 ms (G.722 codes two 16 kHz samples a byte).
const (
	packetInterval   = 20 * time.Millisecond
	samplesPerPacket = 160
	payloadBytes     = 160
)

// audioCodec is a codec the generator can offer and send.
type audioCodec struct {
	// name is the codec's name on the command line.
	name string
	// sdp is what the offer lists for it.
	sdp sdp.Codec
	// tone returns d of the tone, encoded (payloadBytes per packetInterval).
	tone func(d time.Duration) []byte
}

// codecNames lists the codecs' command-line names, for usage messages.
const codecNames = "pcmu|g722"

// codecByName returns the codec called name on the command line.
func codecByName(name string) (audioCodec, error) {
	switch strings.ToLower(name) {
	case "pcmu":
		return audioCodec{name: "pcmu", sdp: sdp.Codec{PayloadType: 0, Name: "PCMU", ClockRate: 8000}, tone: pcmuTone}, nil
	case "g722":
		return audioCodec{name: "g722", sdp: sdp.Codec{PayloadType: 9, Name: "G722", ClockRate: 8000}, tone: g722Tone}, nil
	default:
		return audioCodec{}, fmt.Errorf("unknown codec %q (want %s)", name, codecNames)
	}
}

// sine returns d of the tone as linear samples at rate Hz.
func sine(rate int, d time.Duration) []int16 {
	n := int(int64(rate) * int64(d) / int64(time.Second))
	pcm := make([]int16, n)
	for i := range pcm {
		pcm[i] = int16(math.Round(toneLevel * math.MaxInt16 * math.Sin(2*math.Pi*toneHz*float64(i)/float64(rate))))
	}
	return pcm
}

// pcmuTone returns d of the tone in G.711 µ-law.
func pcmuTone(d time.Duration) []byte {
	return codec.PCMU.Encode(nil, sine(8000, d))
}

// runTone is the tone command: it writes the tone in one codec, raw, to a
// file or standard output.
func runTone(args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("loadgen tone", flag.ContinueOnError)
	fs.SetOutput(stderr)
	codecName := fs.String("codec", "pcmu", "codec of the tone: "+codecNames)
	seconds := fs.Int("seconds", 10, "length of the tone in seconds")
	out := fs.String("o", "-", "file to write the raw payload to (- for standard output)")
	if err := fs.Parse(args); err != nil {
		return 2
	}
	c, err := codecByName(*codecName)
	if err != nil || *seconds <= 0 {
		fmt.Fprintln(stderr, "loadgen tone: want -codec "+codecNames+" and -seconds > 0")
		return 2
	}
	payload := c.tone(time.Duration(*seconds) * time.Second)
	if *out == "-" {
		_, err = stdout.Write(payload)
	} else {
		err = os.WriteFile(*out, payload, 0o644)
	}
	if err != nil {
		fmt.Fprintln(stderr, "loadgen tone:", err)
		return 1
	}
	return 0
}
