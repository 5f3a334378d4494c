package e2e

// Audio: G.711 μ-law and A-law, the test tones (μ-law files for SIPp's
// rtp_stream), WAV files (reading recordings, writing prompts and inputs),
// and a Goertzel tone detector for checking recordings.

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"math"
	"os"
	"testing"
)

// Tones that identify who sent a piece of audio.
const (
	ownerHz    = 440  // whatever the owner's phone sends
	otherHz    = 1300 // whatever the other party's phone sends
	intruderHz = 3000 // RTP sprayed from an address that is not a call's peer
)

// ulawEncode converts one 16-bit linear sample to G.711 μ-law.
func ulawEncode(s int16) byte {
	const bias, clip = 0x84, 32635
	x := int(s)
	sign := 0
	if x < 0 {
		x = -x
		sign = 0x80
	}
	x = min(x, clip) + bias
	exp := 7
	for mask := 0x4000; x&mask == 0 && exp > 0; mask >>= 1 {
		exp--
	}
	mant := (x >> (exp + 3)) & 0x0f
	return ^byte(sign | exp<<4 | mant)
}

// ulawDecode converts one G.711 μ-law byte to a 16-bit linear sample.
func ulawDecode(u byte) int16 {
	u = ^u
	t := (int(u&0x0f) << 3) + 0x84
	t <<= (u & 0x70) >> 4
	if u&0x80 != 0 {
		return int16(0x84 - t)
	}
	return int16(t - 0x84)
}

// alawEncode converts one 16-bit linear sample to G.711 A-law (ITU-T
// G.711, as in the classic Sun reference implementation).
func alawEncode(s int16) byte {
	v := int(s) >> 3
	mask := byte(0xd5)
	if v < 0 {
		mask = 0x55
		v = -v - 1
	}
	ends := [8]int{0x1f, 0x3f, 0x7f, 0xff, 0x1ff, 0x3ff, 0x7ff, 0xfff}
	seg := 0
	for seg < 8 && v > ends[seg] {
		seg++
	}
	if seg >= 8 {
		return 0x7f ^ mask
	}
	a := byte(seg << 4)
	if seg < 2 {
		a |= byte(v>>1) & 0x0f
	} else {
		a |= byte(v>>seg) & 0x0f
	}
	return a ^ mask
}

// alawDecode converts one G.711 A-law byte to a 16-bit linear sample.
func alawDecode(a byte) int16 {
	a ^= 0x55
	t := int(a&0x0f) << 4
	switch seg := int(a&0x70) >> 4; seg {
	case 0:
		t += 8
	case 1:
		t += 0x108
	default:
		t += 0x108
		t <<= seg - 1
	}
	if a&0x80 != 0 {
		return int16(t)
	}
	return int16(-t)
}

// sine returns n samples of a sine at hz and amplitude amp (0–1 of full scale).
func sine(hz float64, amp float64, n int) []int16 {
	out := make([]int16, n)
	for i := range out {
		out[i] = int16(amp * 32767 * math.Sin(2*math.Pi*hz*float64(i)/8000))
	}
	return out
}

// writeToneULaw writes one second of a sine at hz as headerless μ-law, the
// format SIPp's rtp_stream wants for payload type 0. One second holds a
// whole number of periods of any integer frequency, so looping it is seamless.
func writeToneULaw(t testing.TB, path string, hz int) string {
	t.Helper()
	pcm := sine(float64(hz), 0.5, 8000)
	b := make([]byte, len(pcm))
	for i, s := range pcm {
		b[i] = ulawEncode(s)
	}
	if err := os.WriteFile(path, b, 0o644); err != nil {
		t.Fatalf("write tone %s: %v", path, err)
	}
	return path
}

// wavFile is a decoded 16-bit PCM WAV file.
type wavFile struct {
	Channels   int
	SampleRate int
	Bits       int
	Samples    [][]int16 // per channel
}

// Duration is the playing time of the file.
func (w *wavFile) Duration() float64 {
	if len(w.Samples) == 0 || w.SampleRate == 0 {
		return 0
	}
	return float64(len(w.Samples[0])) / float64(w.SampleRate)
}

// readWAV reads a RIFF/WAVE file with 16-bit PCM samples, walking its
// chunks (so a LIST chunk or a header rewritten in place are fine). A data
// chunk whose size is 0 or runs past the end of the file (a writer killed
// before fixing the header) is taken to end at the end of the file.
func readWAV(path string) (*wavFile, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	if len(b) < 12 || string(b[0:4]) != "RIFF" || string(b[8:12]) != "WAVE" {
		return nil, fmt.Errorf("%s: not a RIFF WAVE file", path)
	}
	le := binary.LittleEndian
	w := &wavFile{}
	var data []byte
	for off := 12; off+8 <= len(b); {
		id, size := string(b[off:off+4]), int(le.Uint32(b[off+4:]))
		body := b[off+8:]
		switch id {
		case "fmt ":
			if size < 16 || len(body) < 16 {
				return nil, fmt.Errorf("%s: short fmt chunk", path)
			}
			if f := le.Uint16(body[0:]); f != 1 && f != 0xfffe {
				return nil, fmt.Errorf("%s: format tag %d, want 1 (PCM)", path, f)
			}
			w.Channels = int(le.Uint16(body[2:]))
			w.SampleRate = int(le.Uint32(body[4:]))
			w.Bits = int(le.Uint16(body[14:]))
		case "data":
			if size == 0 || size > len(body) {
				size = len(body)
			}
			data = body[:size]
		}
		if id == "data" {
			break
		}
		off += 8 + size + size%2
	}
	if w.Channels == 0 {
		return nil, fmt.Errorf("%s: no fmt chunk", path)
	}
	if data == nil {
		return nil, fmt.Errorf("%s: no data chunk", path)
	}
	if w.Bits != 16 {
		return nil, fmt.Errorf("%s: %d bits per sample, want 16", path, w.Bits)
	}
	frame := 2 * w.Channels
	n := len(data) / frame
	w.Samples = make([][]int16, w.Channels)
	for c := range w.Samples {
		w.Samples[c] = make([]int16, n)
	}
	r := bytes.NewReader(data[:n*frame])
	pair := make([]int16, w.Channels)
	for i := range n {
		if err := binary.Read(r, binary.LittleEndian, pair); err != nil {
			if errors.Is(err, io.EOF) {
				break
			}
			return nil, err
		}
		for c := range pair {
			w.Samples[c][i] = pair[c]
		}
	}
	return w, nil
}

// wavHeader is what a canonical 44-byte WAV header says, next to the
// file's real size.
type wavHeader struct {
	FileSize, RIFFSize, DataOffset, DataSize int64
}

// readWAVHeader walks a WAV file's chunks up to "data".
func readWAVHeader(path string) (wavHeader, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return wavHeader{}, err
	}
	h := wavHeader{FileSize: int64(len(b))}
	if len(b) < 12 || string(b[0:4]) != "RIFF" || string(b[8:12]) != "WAVE" {
		return h, fmt.Errorf("%s: not a RIFF WAVE file", path)
	}
	le32 := func(p []byte) int64 {
		return int64(uint32(p[0]) | uint32(p[1])<<8 | uint32(p[2])<<16 | uint32(p[3])<<24)
	}
	h.RIFFSize = le32(b[4:8])
	for off := 12; off+8 <= len(b); {
		id, size := string(b[off:off+4]), le32(b[off+4:off+8])
		if id == "data" {
			h.DataOffset, h.DataSize = int64(off+8), size
			return h, nil
		}
		off += 8 + int(size) + int(size%2)
	}
	return h, fmt.Errorf("%s: no data chunk", path)
}

// writeMonoWAV writes pcm as a 16-bit PCM mono WAV file at 8 kHz.
func writeMonoWAV(t *testing.T, path string, pcm []int16) {
	t.Helper()
	var b bytes.Buffer
	le := binary.LittleEndian
	data := 2 * len(pcm)
	b.WriteString("RIFF")
	_ = binary.Write(&b, le, uint32(36+data))
	b.WriteString("WAVEfmt ")
	_ = binary.Write(&b, le, []uint32{16})
	_ = binary.Write(&b, le, []uint16{1, 1})
	_ = binary.Write(&b, le, []uint32{8000, 16000})
	_ = binary.Write(&b, le, []uint16{2, 16})
	b.WriteString("data")
	_ = binary.Write(&b, le, uint32(data))
	_ = binary.Write(&b, le, pcm)
	if err := os.WriteFile(path, b.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}
}

// writeStereoWAV writes a 16-bit PCM WAV of frames frames with a quiet
// tone on every channel.
func writeStereoWAV(t *testing.T, path string, rate, channels, frames int) {
	t.Helper()
	var b bytes.Buffer
	data := frames * channels * 2
	le32 := func(v int) { b.Write([]byte{byte(v), byte(v >> 8), byte(v >> 16), byte(v >> 24)}) }
	le16 := func(v int) { b.Write([]byte{byte(v), byte(v >> 8)}) }
	b.WriteString("RIFF")
	le32(36 + data)
	b.WriteString("WAVEfmt ")
	le32(16)
	le16(1)
	le16(channels)
	le32(rate)
	le32(rate * channels * 2)
	le16(channels * 2)
	le16(16)
	b.WriteString("data")
	le32(data)
	tone := sine(440, 0.1, frames)
	for i := 0; i < frames; i++ {
		for c := 0; c < channels; c++ {
			le16(int(tone[i]))
		}
	}
	if err := os.WriteFile(path, b.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}
}

// goertzelPower is |X(f)|² of x at frequency hz (sample rate 8 kHz).
func goertzelPower(x []int16, hz float64) float64 {
	coeff := 2 * math.Cos(2*math.Pi*hz/8000)
	var s1, s2 float64
	for _, v := range x {
		s := float64(v) + coeff*s1 - s2
		s2, s1 = s1, s
	}
	return s1*s1 + s2*s2 - coeff*s1*s2
}

// frameMS is the analysis frame: 50 ms holds a whole number of periods of
// every test tone, so a pure tone scores close to 1 in toneShare.
const frameMS = 50

// toneShare is the share (0–1) of x's energy that is a sine at hz.
func toneShare(x []int16, hz float64) float64 {
	var e float64
	for _, v := range x {
		e += float64(v) * float64(v)
	}
	if e == 0 {
		return 0
	}
	return 2 * goertzelPower(x, hz) / (float64(len(x)) * e)
}

// rms is the root mean square of x, in sample units (full scale 32768).
func rms(x []int16) float64 {
	if len(x) == 0 {
		return 0
	}
	var e float64
	for _, v := range x {
		e += float64(v) * float64(v)
	}
	return math.Sqrt(e / float64(len(x)))
}

// silentRMS is the level below which a frame counts as silence (−50 dBFS).
const silentRMS = 100

// channelStats summarises one channel frame by frame.
type channelStats struct {
	Frames  int
	Silent  int
	ToneHit map[int]int // frames whose energy is mostly this tone
}

func (s channelStats) share(hz int) float64 {
	if s.Frames == 0 {
		return 0
	}
	return float64(s.ToneHit[hz]) / float64(s.Frames)
}

func (s channelStats) String() string {
	return fmt.Sprintf("%d frames of %d ms, %d silent, %d Hz in %d, %d Hz in %d, %d Hz in %d",
		s.Frames, frameMS, s.Silent, ownerHz, s.ToneHit[ownerHz], otherHz, s.ToneHit[otherHz],
		intruderHz, s.ToneHit[intruderHz])
}

func analyseChannel(x []int16) channelStats {
	n := 8 * frameMS
	st := channelStats{ToneHit: map[int]int{}}
	for off := 0; off+n <= len(x); off += n {
		f := x[off : off+n]
		st.Frames++
		if rms(f) < silentRMS {
			st.Silent++
			continue
		}
		for _, hz := range []int{ownerHz, otherHz, intruderHz} {
			if toneShare(f, float64(hz)) > 0.5 {
				st.ToneHit[hz]++
			}
		}
	}
	return st
}

// silentRuns returns the [start, end) times in seconds of runs of frames in
// which every channel is silent, longer than minSec.
func silentRuns(w *wavFile, minSec float64) [][2]float64 {
	n := w.SampleRate * frameMS / 1000
	var runs [][2]float64
	start := -1
	frames := len(w.Samples[0]) / n
	flush := func(i int) {
		if start >= 0 {
			s, e := float64(start*frameMS)/1000, float64(i*frameMS)/1000
			if e-s > minSec {
				runs = append(runs, [2]float64{s, e})
			}
			start = -1
		}
	}
	for i := range frames {
		silent := true
		for _, ch := range w.Samples {
			if rms(ch[i*n:(i+1)*n]) >= silentRMS {
				silent = false
				break
			}
		}
		if silent && start < 0 {
			start = i
		}
		if !silent {
			flush(i)
		}
	}
	flush(frames)
	return runs
}

// toneFrames returns how many frameMS frames of x are mostly a sine at hz,
// and how many frames x has.
func toneFrames(x []int16, hz float64) (hits, frames int) {
	n := 8 * frameMS
	for off := 0; off+n <= len(x); off += n {
		frames++
		if f := x[off : off+n]; rms(f) >= silentRMS && toneShare(f, hz) > 0.5 {
			hits++
		}
	}
	return hits, frames
}

// TestMediaHelpers checks the helpers above against known answers, so a
// failing call test is not a failing helper.
func TestMediaHelpers(t *testing.T) {
	t.Parallel()
	for _, s := range []int16{0, 1, -1, 100, -100, 1000, -1000, 8000, -8000, 32000, -32000} {
		got := ulawDecode(ulawEncode(s))
		if d := math.Abs(float64(got) - float64(s)); d > math.Max(8, math.Abs(float64(s))/16) {
			t.Errorf("μ-law round trip of %d gave %d", s, got)
		}
	}
	if ulawEncode(0) != 0xff {
		t.Errorf("μ-law of 0 = %#x, want 0xff", ulawEncode(0))
	}
	tone := sine(ownerHz, 0.5, 400)
	if s := toneShare(tone, ownerHz); s < 0.95 {
		t.Errorf("toneShare of a pure %d Hz tone = %.2f", ownerHz, s)
	}
	if s := toneShare(tone, otherHz); s > 0.05 {
		t.Errorf("toneShare of %d Hz in a %d Hz tone = %.2f", otherHz, ownerHz, s)
	}

	dir := t.TempDir()
	// A stereo WAV with a LIST chunk before data: owner tone left, other right,
	// then one second of silence.
	n := 16000
	left, right := sine(ownerHz, 0.3, n), sine(otherHz, 0.3, n)
	var data bytes.Buffer
	for i := range n + 8000 {
		var l, r int16
		if i < n {
			l, r = left[i], right[i]
		}
		binary.Write(&data, binary.LittleEndian, []int16{l, r})
	}
	var f bytes.Buffer
	le := binary.LittleEndian
	f.WriteString("RIFF")
	binary.Write(&f, le, uint32(4+8+16+8+4+8+data.Len()))
	f.WriteString("WAVEfmt ")
	binary.Write(&f, le, []uint32{16})
	binary.Write(&f, le, []uint16{1, 2})
	binary.Write(&f, le, []uint32{8000, 32000})
	binary.Write(&f, le, []uint16{4, 16})
	f.WriteString("LIST")
	binary.Write(&f, le, uint32(4))
	f.WriteString("INFO")
	f.WriteString("data")
	binary.Write(&f, le, uint32(0)) // as left by a writer that was killed
	f.Write(data.Bytes())
	p := dir + "/x.wav"
	if err := os.WriteFile(p, f.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}
	w, err := readWAV(p)
	if err != nil {
		t.Fatal(err)
	}
	if w.Channels != 2 || w.SampleRate != 8000 || math.Abs(w.Duration()-3) > 0.001 {
		t.Fatalf("readWAV: %d ch, %d Hz, %.3f s; want 2, 8000, 3", w.Channels, w.SampleRate, w.Duration())
	}
	l, r := analyseChannel(w.Samples[0]), analyseChannel(w.Samples[1])
	if l.ToneHit[ownerHz] != 40 || l.ToneHit[otherHz] != 0 || r.ToneHit[otherHz] != 40 || r.ToneHit[ownerHz] != 0 {
		t.Errorf("analyseChannel: left %v; right %v", l, r)
	}
	if runs := silentRuns(w, 0.5); len(runs) != 1 || runs[0] != [2]float64{2, 3} {
		t.Errorf("silentRuns = %v, want [[2 3]]", runs)
	}
}

// TestGapsHelpers checks the A-law codec and toneFrames against known
// answers.
func TestGapsHelpers(t *testing.T) {
	t.Parallel()
	if alawEncode(0) != 0xd5 {
		t.Errorf("A-law of 0 = %#x, want 0xd5", alawEncode(0))
	}
	for _, s := range []int16{0, 8, -8, 100, -100, 1000, -1000, 8000, -8000, 32000, -32000} {
		got := alawDecode(alawEncode(s))
		if d := float64(got) - float64(s); d*d > max(16*16, float64(s)*float64(s)/(16*16)) {
			t.Errorf("A-law round trip of %d gave %d", s, got)
		}
	}
	tone := sine(2000, 0.5, 8000)
	coded := make([]int16, len(tone))
	for i, v := range tone {
		coded[i] = alawDecode(alawEncode(v))
	}
	if hits, frames := toneFrames(coded, 2000); hits != frames || frames != 20 {
		t.Errorf("toneFrames of 1 s of 2 kHz through A-law: %d of %d frames", hits, frames)
	}
	if hits, _ := toneFrames(coded, 1300); hits != 0 {
		t.Errorf("toneFrames found 1300 Hz in a 2 kHz tone: %d frames", hits)
	}
}
