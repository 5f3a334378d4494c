package e2e

// Audio and packet helpers: G.711 μ-law tones for SIPp's rtp_stream, RFC 4733
// DTMF pcaps for SIPp's play_pcap_audio, a small WAV reader and a Goertzel
// tone detector for checking recordings.

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"math"
	"math/rand/v2"
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

// dtmfEvent maps a key to its RFC 4733 event code.
func dtmfEvent(key rune) (byte, bool) {
	switch {
	case key >= '0' && key <= '9':
		return byte(key - '0'), true
	case key == '*':
		return 10, true
	case key == '#':
		return 11, true
	case key >= 'A' && key <= 'D':
		return byte(key-'A') + 12, true
	}
	return 0, false
}

// dtmfSpacingMS is the time from one key's first packet to the next key's.
const dtmfSpacingMS = 300

// timedRTP is one RTP packet to replay atMS after the first.
type timedRTP struct {
	atMS int
	pkt  []byte
}

// writeRTPPcap writes a libpcap file (Ethernet/IPv4/UDP) of RTP packets for
// SIPp's play_pcap_audio, which sends them as they are: only addresses and
// UDP ports are replaced, and packets keep their relative timing.
func writeRTPPcap(t testing.TB, path string, pkts []timedRTP) {
	t.Helper()
	var buf bytes.Buffer
	le := binary.LittleEndian
	hdr := make([]byte, 24)
	le.PutUint32(hdr[0:], 0xa1b2c3d4) // microsecond timestamps
	le.PutUint16(hdr[4:], 2)
	le.PutUint16(hdr[6:], 4)
	le.PutUint32(hdr[16:], 65535)
	le.PutUint32(hdr[20:], 1) // LINKTYPE_ETHERNET
	buf.Write(hdr)
	const epoch = 1_700_000_000_000 // ms; only differences matter to SIPp
	for _, p := range pkts {
		writePcapUDP(&buf, epoch+int64(p.atMS), p.pkt)
	}
	if err := os.WriteFile(path, buf.Bytes(), 0o644); err != nil {
		t.Fatalf("write pcap %s: %v", path, err)
	}
}

// rtpHeader builds a 12-byte RTP header.
func rtpHeader(pt uint8, marker bool, seq uint16, ts, ssrc uint32) []byte {
	h := make([]byte, 12, 12+160)
	h[0] = 0x80
	h[1] = pt & 0x7f
	if marker {
		h[1] |= 0x80
	}
	binary.BigEndian.PutUint16(h[2:], seq)
	binary.BigEndian.PutUint32(h[4:], ts)
	binary.BigEndian.PutUint32(h[8:], ssrc)
	return h
}

// telephoneEvent is an RFC 4733 payload.
func telephoneEvent(ev byte, end bool, dur uint16) []byte {
	p := []byte{ev, 10, byte(dur >> 8), byte(dur)} // volume -10 dBm0
	if end {
		p[1] |= 0x80
	}
	return p
}

// dtmfPackets returns the packets of an RFC 4733 key sequence: one SSRC
// for the whole sequence, a fresh RTP timestamp per key, sequence numbers
// that only go up, the marker bit on each key's first packet and the end
// bit on its last packet, sent three times with the same sequence number.
// Each key lasts 140 ms and keys start dtmfSpacingMS apart.
func dtmfPackets(t testing.TB, keys string, pt uint8) []timedRTP {
	t.Helper()
	ssrc := rand.Uint32()
	seq := uint16(rand.Uint32())
	ts0 := rand.Uint32()
	var out []timedRTP
	for n, key := range []rune(keys) {
		ev, ok := dtmfEvent(key)
		if !ok {
			t.Fatalf("%q is not a DTMF key", key)
		}
		start := n * dtmfSpacingMS
		ts := ts0 + uint32(start*8)
		for k := range 7 { // 0–120 ms, key still down
			pkt := append(rtpHeader(pt, k == 0, seq, ts, ssrc), telephoneEvent(ev, false, uint16((k+1)*160))...)
			out = append(out, timedRTP{start + k*20, pkt})
			seq++
		}
		for k := range 3 { // 140 ms, end, sent three times
			pkt := append(rtpHeader(pt, false, seq, ts, ssrc), telephoneEvent(ev, true, 1120)...)
			out = append(out, timedRTP{start + 140 + k*5, pkt})
		}
		seq++
	}
	return out
}

// writeDTMFPcap writes a pcap that makes SIPp type keys as RFC 4733 events
// with payload type pt (see dtmfPackets), and returns its playing time.
// SIPp's stock dtmf_2833_*.pcap files are no substitute: each reuses one
// timestamp and one set of sequence numbers per digit, so "55" looks like
// one key sent twice (see SIPP_NOTES.md).
func writeDTMFPcap(t testing.TB, path, keys string, pt uint8) (playMS int) {
	t.Helper()
	pkts := dtmfPackets(t, keys, pt)
	writeRTPPcap(t, path, pkts)
	return pkts[len(pkts)-1].atMS + 20
}

// writeJunkDTMFPcap writes a pcap of telephone-events that must not count
// as keys: truncated payloads, event codes that are no digit, a flash, a
// digit on a payload type that was not negotiated (otherPT), and packets
// that are no RTP version 2. It returns its playing time.
func writeJunkDTMFPcap(t testing.TB, path string, pt, otherPT uint8) (playMS int) {
	t.Helper()
	ssrc, seq, ts := rand.Uint32(), uint16(rand.Uint32()), rand.Uint32()
	var out []timedRTP
	at := 0
	add := func(p []byte) {
		out = append(out, timedRTP{at, p})
		at += 20
		seq++
	}
	add(append(rtpHeader(pt, true, seq, ts, ssrc), 5, 10)) // 2-byte payload
	add(rtpHeader(pt, false, seq, ts, ssrc))               // no payload
	for _, ev := range []byte{16, 17, 99, 255} {           // flash, then codes that are no digit
		ts += 1600
		add(append(rtpHeader(pt, true, seq, ts, ssrc), telephoneEvent(ev, false, 160)...))
		add(append(rtpHeader(pt, false, seq, ts, ssrc), telephoneEvent(ev, true, 800)...))
	}
	ts += 1600
	for k := range 4 { // '9' on a payload type nobody offered
		add(append(rtpHeader(otherPT, k == 0, seq, ts, ssrc), telephoneEvent(9, k == 3, uint16((k+1)*160))...))
	}
	ts += 1600
	v1 := append(rtpHeader(pt, true, seq, ts, ssrc), telephoneEvent(8, true, 800)...)
	v1[0] = 0x40 // RTP version 1
	add(v1)
	add([]byte{0x80}) // one byte
	writeRTPPcap(t, path, out)
	return at + 20
}

// writePcapUDP appends one Ethernet/IPv4/UDP frame carrying payload from
// 127.0.0.1:6000 to 127.0.0.1:6000 (SIPp replaces the ports and addresses).
func writePcapUDP(w *bytes.Buffer, atMS int64, payload []byte) {
	udpLen := 8 + len(payload)
	ipLen := 20 + udpLen
	frame := make([]byte, 14+ipLen)
	binary.BigEndian.PutUint16(frame[12:], 0x0800)
	ip := frame[14:]
	ip[0] = 0x45
	binary.BigEndian.PutUint16(ip[2:], uint16(ipLen))
	ip[8] = 64
	ip[9] = 17
	copy(ip[12:], []byte{127, 0, 0, 1})
	copy(ip[16:], []byte{127, 0, 0, 1})
	var sum uint32
	for i := 0; i < 20; i += 2 {
		sum += uint32(binary.BigEndian.Uint16(ip[i:]))
	}
	for sum > 0xffff {
		sum = sum&0xffff + sum>>16
	}
	binary.BigEndian.PutUint16(ip[10:], ^uint16(sum))
	udp := ip[20:]
	binary.BigEndian.PutUint16(udp[0:], 6000)
	binary.BigEndian.PutUint16(udp[2:], 6000)
	binary.BigEndian.PutUint16(udp[4:], uint16(udpLen))
	copy(udp[8:], payload)

	rec := make([]byte, 16)
	le := binary.LittleEndian
	le.PutUint32(rec[0:], uint32(atMS/1000))
	le.PutUint32(rec[4:], uint32(atMS%1000*1000))
	le.PutUint32(rec[8:], uint32(len(frame)))
	le.PutUint32(rec[12:], uint32(len(frame)))
	w.Write(rec)
	w.Write(frame)
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
