package recorder

import (
	"encoding/binary"
	"testing"
	"time"

	"github.com/callrec/callrec/internal/media/wav"
)

// fuzzOpSize is the bytes one fuzzed operation takes: a kind and channel,
// a timestamp step, a length and a clock step.
const fuzzOpSize = 5

// fuzzMaxOps bounds a fuzzed run.
const fuzzMaxOps = 400

// FuzzWritePacket feeds random sequences of packets (channel, SSRC,
// timestamp steps and jumps, lengths), timestamp-less writes, pauses and
// ticks: the recorder never panics, the file stays valid, lasts exactly
// the wall time, and holds only audio it was given, never sums of it.
func FuzzWritePacket(f *testing.F) {
	steady := []byte{0}
	for range 50 {
		steady = append(steady, 0, 160, 0, 10, 20, 1, 160, 0, 10, 0)
	}
	f.Add(steady)
	f.Add([]byte{1, 0x38, 0xff, 0x7f, 255, 255, 0x28, 0, 0x80, 1, 0, 0x30, 0, 0, 3, 200})
	f.Add([]byte{0, 0x02, 0, 0, 10, 20, 0x04, 0, 0, 10, 20, 0x06, 0x40, 0x01, 10, 20})
	f.Add([]byte{0, 0x28, 0x10, 0, 5, 30, 0x20, 0, 0, 40, 1, 0x28, 0x10, 0, 5, 30})
	f.Fuzz(fuzzRecording)
}

// fuzzRecording runs one fuzzed sequence of operations.
func fuzzRecording(t *testing.T, data []byte) {
	if len(data) == 0 {
		return
	}
	rate := DefaultSampleRate
	if data[0]&1 == 1 {
		rate = 16000
	}
	// At most fuzzMaxOps operations, so a run records at most
	// fuzzMaxOps·255 ms.
	data = data[1:min(len(data), 1+fuzzMaxOps*fuzzOpSize)]
	s := newSim(t, Options{SampleRate: rate})
	var ts [2][4]uint32
	pcm := make([]int16, 255*16)
	for op := 0; len(data) >= fuzzOpSize; op++ {
		b := data[:fuzzOpSize]
		data = data[fuzzOpSize:]
		ch, ssrc, kind := int(b[0]&1), int(b[0]>>1&3), b[0]>>3&7
		step := int16(binary.LittleEndian.Uint16(b[1:3]))
		n := int(b[3]) * 16
		for i := range pcm[:n] {
			pcm[i] = int16(1000 + op%300)
		}
		switch kind {
		case 0, 1, 2, 3, 7:
			if kind == 7 {
				ts[ch][ssrc] += uint32(step) << 16
			} else {
				ts[ch][ssrc] += uint32(step)
			}
			s.r.WritePacket(ch, Packet{SSRC: uint32(ssrc), Timestamp: ts[ch][ssrc], PCM: pcm[:n]})
		case 4:
			s.r.Write(ch, pcm[:n])
		case 5:
			if s.r.Paused() {
				s.r.Resume()
			} else {
				s.r.Pause()
			}
		case 6:
			s.r.tickOnce()
		}
		s.advance(s.now + time.Duration(b[4])*time.Millisecond)
	}
	res, out := s.finish(s.now)
	if want := framesIn(s.now, rate); res.Frames != want {
		t.Fatalf("%d frames for %v, want %d", res.Frames, s.now, want)
	}
	info, err := wav.Stat(res.Path)
	if err != nil || info.Frames != res.Frames || int(info.Format.SampleRate) != rate {
		t.Fatalf("file %+v, %v; result %+v", info, err, res)
	}
	for i, v := range out {
		if v != 0 && (v < 1000 || v >= 1300) {
			t.Fatalf("sample %d = %d: not audio the recorder was given", i, v)
		}
	}
}
