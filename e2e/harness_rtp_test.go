package e2e

// RTP: parsing packets; rtpSink, a Go socket that stands in for a phone's
// media (it collects what callrec or SIPp sends it, and sends tones and
// keys itself); decoding what it got; and RFC 4733 DTMF pcaps for SIPp's
// play_pcap_audio.

import (
	"bytes"
	"encoding/binary"
	"math/rand/v2"
	"net"
	"os"
	"strings"
	"sync"
	"testing"
	"time"
)

// rtpPacket is a parsed RTP packet.
type rtpPacket struct {
	From    *net.UDPAddr
	PT      uint8
	Marker  bool
	Seq     uint16
	TS      uint32
	SSRC    uint32
	Payload []byte
}

func parseRTP(b []byte) (rtpPacket, bool) {
	if len(b) < 12 || b[0]>>6 != 2 {
		return rtpPacket{}, false
	}
	cc := int(b[0] & 0x0f)
	hl := 12 + 4*cc
	if b[0]&0x10 != 0 { // extension
		if len(b) < hl+4 {
			return rtpPacket{}, false
		}
		hl += 4 + 4*int(binary.BigEndian.Uint16(b[hl+2:]))
	}
	if len(b) < hl {
		return rtpPacket{}, false
	}
	return rtpPacket{
		PT: b[1] & 0x7f, Marker: b[1]&0x80 != 0,
		Seq: binary.BigEndian.Uint16(b[2:]), TS: binary.BigEndian.Uint32(b[4:]),
		SSRC: binary.BigEndian.Uint32(b[8:]), Payload: append([]byte(nil), b[hl:]...),
	}, true
}

// rtpSink collects the RTP packets sent to a loopback UDP port.
type rtpSink struct {
	conn *net.UDPConn
	mu   sync.Mutex
	pkts []rtpPacket
}

func newRTPSink(t *testing.T) *rtpSink {
	t.Helper()
	port := freePorts(t, 2, false)
	c, err := net.ListenUDP("udp4", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1), Port: port})
	if err != nil {
		t.Fatal(err)
	}
	s := &rtpSink{conn: c}
	done := make(chan struct{})
	go func() {
		defer close(done)
		buf := make([]byte, 2048)
		for {
			n, from, err := c.ReadFromUDP(buf)
			if err != nil {
				return
			}
			if p, ok := parseRTP(buf[:n]); ok {
				p.From = from
				s.mu.Lock()
				s.pkts = append(s.pkts, p)
				s.mu.Unlock()
			}
		}
	}()
	t.Cleanup(func() { c.Close(); <-done })
	return s
}

func (s *rtpSink) Port() int { return s.conn.LocalAddr().(*net.UDPAddr).Port }

func (s *rtpSink) packets() []rtpPacket {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]rtpPacket(nil), s.pkts...)
}

// sendTone sends a PCMU tone at hz (sendToneAs with payload type 0).
func (s *rtpSink) sendTone(hz int, to *net.UDPAddr, stop <-chan struct{}) {
	s.sendToneAs(hz, 0, to, stop)
}

// sendToneAs sends a tone at hz as RTP with payload type pt (0 PCMU, 8
// PCMA) from the sink's socket to to, one 20 ms packet per 20 ms of wall
// clock (catching up after a late wake-up, so the stream keeps real
// time), until stop is closed.
func (s *rtpSink) sendToneAs(hz int, pt uint8, to *net.UDPAddr, stop <-chan struct{}) {
	enc := ulawEncode
	if pt == 8 {
		enc = alawEncode
	}
	pcm := sine(float64(hz), 0.5, 8000)
	ssrc, seq, ts := rand.Uint32(), uint16(rand.Uint32()), rand.Uint32()
	tick := time.NewTicker(10 * time.Millisecond)
	defer tick.Stop()
	start := time.Now()
	for i := 0; ; {
		for due := int(time.Since(start) / (20 * time.Millisecond)); i <= due; i++ {
			pkt := rtpHeader(pt, i == 0, seq, ts, ssrc)
			off := i % 50 * 160
			for _, v := range pcm[off : off+160] {
				pkt = append(pkt, enc(v))
			}
			if _, err := s.conn.WriteToUDP(pkt, to); err != nil {
				return
			}
			seq++
			ts += 160
		}
		select {
		case <-stop:
			return
		case <-tick.C:
		}
	}
}

// sendTimed sends pkts (as dtmfPackets makes them) from the sink's socket
// to to, each atMS after the first.
func (s *rtpSink) sendTimed(pkts []timedRTP, to *net.UDPAddr) error {
	start := time.Now()
	for _, p := range pkts {
		time.Sleep(time.Until(start.Add(time.Duration(p.atMS) * time.Millisecond)))
		if _, err := s.conn.WriteToUDP(p.pkt, to); err != nil {
			return err
		}
	}
	return nil
}

// pcmu decodes the PCMU payloads received, in arrival order.
func pcmuSamples(pkts []rtpPacket) []int16 {
	var out []int16
	for _, p := range pkts {
		if p.PT == 0 {
			for _, u := range p.Payload {
				out = append(out, ulawDecode(u))
			}
		}
	}
	return out
}

// g711Samples decodes, in arrival order, the payloads of packets with
// payload type 0 (PCMU) or 8 (PCMA); other payload types are left out.
func g711Samples(pkts []rtpPacket) []int16 {
	var out []int16
	for _, p := range pkts {
		for _, b := range p.Payload {
			switch p.PT {
			case 0:
				out = append(out, ulawDecode(b))
			case 8:
				out = append(out, alawDecode(b))
			}
		}
	}
	return out
}

// countPT counts packets by payload type.
func countPT(pkts []rtpPacket) map[uint8]int {
	n := map[uint8]int{}
	for _, p := range pkts {
		n[p.PT]++
	}
	return n
}

// dtmfKeys decodes RFC 4733 events of payload type pt, one key per
// (SSRC, timestamp), and checks each key has its marker and end bits.
func dtmfKeys(t *testing.T, pkts []rtpPacket, pt uint8) string {
	t.Helper()
	const keyChars = "0123456789*#ABCD"
	type id struct{ ssrc, ts uint32 }
	var order []id
	seen := map[id]struct{ marker, end bool }{}
	var keys strings.Builder
	for _, p := range pkts {
		if p.PT != pt || len(p.Payload) < 4 || p.Payload[0] >= 16 {
			continue
		}
		k := id{p.SSRC, p.TS}
		st, ok := seen[k]
		if !ok {
			order = append(order, k)
			if int(p.Payload[0]) < len(keyChars) {
				keys.WriteByte(keyChars[p.Payload[0]])
			} else {
				keys.WriteByte('?')
			}
		}
		st.marker = st.marker || p.Marker
		st.end = st.end || p.Payload[1]&0x80 != 0
		seen[k] = st
	}
	for i, k := range order {
		if st := seen[k]; !st.marker || !st.end {
			t.Errorf("key %d (ts %d): marker %v, end %v; want both", i, k.ts, st.marker, st.end)
		}
	}
	return keys.String()
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
