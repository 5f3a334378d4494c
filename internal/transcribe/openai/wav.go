package openai

import (
	"encoding/binary"
	"fmt"
	"io"
	"math"
)

// encodeWAV writes samples as a canonical mono 16-bit PCM WAV file.
func encodeWAV(w io.Writer, samples []int16, rate int) error {
	const headerSize = 44
	dataSize := uint64(len(samples)) * 2
	if dataSize > math.MaxUint32-headerSize+8 {
		return fmt.Errorf("%d samples do not fit in a WAV file", len(samples))
	}
	if rate <= 0 || rate > math.MaxInt32/2 {
		return fmt.Errorf("sample rate %d", rate)
	}
	h := make([]byte, 0, headerSize)
	h = append(h, "RIFF"...)
	h = binary.LittleEndian.AppendUint32(h, uint32(dataSize)+headerSize-8)
	h = append(h, "WAVEfmt "...)
	h = binary.LittleEndian.AppendUint32(h, 16)             // fmt chunk size
	h = binary.LittleEndian.AppendUint16(h, 1)              // PCM
	h = binary.LittleEndian.AppendUint16(h, 1)              // channels
	h = binary.LittleEndian.AppendUint32(h, uint32(rate))   // sample rate
	h = binary.LittleEndian.AppendUint32(h, uint32(rate)*2) // byte rate
	h = binary.LittleEndian.AppendUint16(h, 2)              // block align
	h = binary.LittleEndian.AppendUint16(h, 16)             // bits per sample
	h = append(h, "data"...)
	h = binary.LittleEndian.AppendUint32(h, uint32(dataSize))
	if _, err := w.Write(h); err != nil {
		return err
	}
	buf := make([]byte, 0, 32<<10)
	for _, s := range samples {
		buf = binary.LittleEndian.AppendUint16(buf, uint16(s))
		if len(buf) == cap(buf) {
			if _, err := w.Write(buf); err != nil {
				return err
			}
			buf = buf[:0]
		}
	}
	if len(buf) > 0 {
		if _, err := w.Write(buf); err != nil {
			return err
		}
	}
	return nil
}

// resample converts samples from rate from to rate to by linear
// interpolation. It is meant for upsampling telephone audio (8 kHz) to what
// whisper.cpp's server reads (16 kHz), where it adds nothing that was not
// there; downsampling this way does not filter aliases.
func resample(samples []int16, from, to int) []int16 {
	if from <= 0 || to <= 0 || from == to || len(samples) == 0 {
		return samples
	}
	n := int(int64(len(samples)) * int64(to) / int64(from))
	out := make([]int16, n)
	last := len(samples) - 1
	for i := range out {
		// Position of output sample i in input samples, in exact
		// rational arithmetic: i*from/to.
		num := int64(i) * int64(from)
		j := int(num / int64(to))
		frac := float64(num%int64(to)) / float64(to)
		if j >= last {
			out[i] = samples[last]
			continue
		}
		a, b := float64(samples[j]), float64(samples[j+1])
		out[i] = int16(math.Round(a + (b-a)*frac))
	}
	return out
}
