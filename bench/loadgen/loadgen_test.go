package main

import (
	"bytes"
	"math"
	"net"
	"strings"
	"testing"
	"time"

	"github.com/pion/rtp"

	"github.com/callrec/callrec/internal/media/codec"
	"github.com/callrec/callrec/internal/media/g722"
)

func TestCallsAgainstFakeCallrec(t *testing.T) {
	for _, tc := range []struct {
		codec string
		srtp  bool
		pt    uint8
	}{
		{"pcmu", false, 0},
		{"pcmu", true, 0},
		{"g722", false, 9},
		{"g722", true, 9},
	} {
		name := tc.codec
		if tc.srtp {
			name += "+srtp"
		}
		t.Run(name, func(t *testing.T) {
			f := startFakeCallrec(t, answerAndEcho)
			const calls = 3
			sum := runAgainst(t, f, tc.codec, tc.srtp, calls, 300*time.Millisecond)
			if sum.successful != calls || sum.failed != 0 {
				t.Fatalf("successful=%d failed=%d (%v), want %d and 0", sum.successful, sum.failed, sum.reasons, calls)
			}
			seen, byes, faults := f.snapshot()
			if len(faults) > 0 {
				t.Fatalf("the server saw faults: %q", faults)
			}
			if byes != calls || len(seen) != calls {
				t.Fatalf("server saw %d calls and %d BYEs, want %d of each", len(seen), byes, calls)
			}
			received := 0
			for i, c := range seen {
				if c.offer.Encrypted() != tc.srtp {
					t.Errorf("call %d: offer encrypted=%v, want %v", i, c.offer.Encrypted(), tc.srtp)
				}
				if len(c.offer.Codecs) != 1 || c.offer.Codecs[0].PayloadType != tc.pt {
					t.Errorf("call %d: offered %+v, want payload type %d alone", i, c.offer.Codecs, tc.pt)
				}
				if c.packets == 0 || c.payloadType[tc.pt] != c.packets {
					t.Errorf("call %d: %d packets with payload types %v, want all %d", i, c.packets, c.payloadType, tc.pt)
				}
				// Sequence numbers and timestamps advance together, one
				// packet's worth each (nothing was lost on loopback).
				seqSpan := int(c.lastSeq - c.firstSeq)
				if tsSpan := int(c.lastTS - c.firstTS); tsSpan != seqSpan*samplesPerPacket {
					t.Errorf("call %d: timestamps advanced %d over %d packets, want %d", i, tsSpan, seqSpan, seqSpan*samplesPerPacket)
				}
				received += c.packets
			}
			if sum.sent+sum.skipped < received || sum.sendErrors != 0 {
				t.Errorf("sent=%d skipped=%d send_errors=%d, server received %d", sum.sent, sum.skipped, sum.sendErrors, received)
			}
			if sum.received == 0 || sum.rejected != 0 {
				t.Errorf("generator received %d echoed packets, rejected %d; want some and none", sum.received, sum.rejected)
			}
		})
	}
}

func TestBusyCallsFail(t *testing.T) {
	f := startFakeCallrec(t, rejectBusy)
	sum := runAgainst(t, f, "pcmu", true, 2, time.Second)
	if sum.successful != 0 || sum.failed != 2 {
		t.Fatalf("successful=%d failed=%d, want 0 and 2", sum.successful, sum.failed)
	}
	if sum.reasons["answer: 486 Busy Here"] != 2 {
		t.Errorf("reasons %v, want 2 × answer: 486 Busy Here", sum.reasons)
	}
}

func TestCallsHungUpEarlyFail(t *testing.T) {
	f := startFakeCallrec(t, answerThenHangUp)
	// The hold is far longer than the test may run: the server's BYE ends
	// the calls.
	sum := runAgainst(t, f, "pcmu", false, 2, time.Hour)
	if sum.successful != 0 || sum.failed != 2 {
		t.Fatalf("successful=%d failed=%d, want 0 and 2", sum.successful, sum.failed)
	}
	want := (&callError{step: "hang-up", err: errHungUp}).Error()
	if sum.reasons[want] != 2 {
		t.Errorf("reasons %v, want 2 × %q", sum.reasons, want)
	}
	if _, byes, _ := f.snapshot(); byes != 0 {
		t.Errorf("the generator sent %d BYEs for calls the server ended", byes)
	}
}

func TestPacketsDue(t *testing.T) {
	start := time.Date(2026, 12, 1, 12, 0, 0, 0, time.UTC)
	for _, tc := range []struct {
		after time.Duration
		want  int
	}{
		{-time.Millisecond, 0},
		{0, 1},
		{19 * time.Millisecond, 1},
		{20 * time.Millisecond, 2},
		{time.Second, 51},
		{time.Minute + 19*time.Millisecond, 3001},
	} {
		if got := packetsDue(start, start.Add(tc.after)); got != tc.want {
			t.Errorf("packetsDue(start, start+%v) = %d, want %d", tc.after, got, tc.want)
		}
	}
}

// loopbackPair returns a socket to send from and one to read what it sent.
func loopbackPair(t *testing.T) (send, recv *net.UDPConn) {
	t.Helper()
	var err error
	if recv, err = net.ListenUDP("udp", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)}); err != nil {
		t.Fatal(err)
	}
	if send, err = net.ListenUDP("udp", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)}); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { send.Close(); recv.Close() })
	return send, recv
}

// readPackets reads n RTP packets from conn.
func readPackets(t *testing.T, conn *net.UDPConn, n int) []rtp.Packet {
	t.Helper()
	var out []rtp.Packet
	buf := make([]byte, 1500)
	for range n {
		_ = conn.SetReadDeadline(time.Now().Add(waitFor))
		m, err := conn.Read(buf)
		if err != nil {
			t.Fatalf("after %d packets: %v", len(out), err)
		}
		var p rtp.Packet
		if err := p.Unmarshal(append([]byte(nil), buf[:m]...)); err != nil {
			t.Fatal(err)
		}
		out = append(out, p)
	}
	return out
}

func TestSendDueCatchesUpThenSkips(t *testing.T) {
	send, recv := loopbackPair(t)
	tone := pcmuTone(toneLoop)
	s := newOutStream(send, recv.LocalAddr().(*net.UDPAddr).AddrPort(), nil, 0, tone)
	start := time.Date(2026, 12, 1, 12, 0, 0, 0, time.UTC)
	s.start = start
	seq0, ts0 := s.header.SequenceNumber, s.header.Timestamp

	s.sendDue(start)                            // the first packet
	s.sendDue(start.Add(60 * time.Millisecond)) // three more, caught up
	if s.sent != 4 || s.skipped != 0 {
		t.Fatalf("sent %d skipped %d, want 4 and 0", s.sent, s.skipped)
	}
	// A stall of a second: 50 packets due, the last maxBurst sent.
	s.sendDue(start.Add(60*time.Millisecond + time.Second))
	if s.sent != 4+maxBurst || s.skipped != 50-maxBurst {
		t.Fatalf("after a stall sent %d skipped %d, want %d and %d", s.sent, s.skipped, 4+maxBurst, 50-maxBurst)
	}
	got := readPackets(t, recv, 4+maxBurst)
	for i, p := range got {
		n := i // packet number in the stream
		if i >= 4 {
			n = i + 50 - maxBurst
		}
		if p.SequenceNumber != seq0+uint16(n) || p.Timestamp != ts0+uint32(n*samplesPerPacket) {
			t.Errorf("packet %d: seq %d ts %d, want %d and %d", i, p.SequenceNumber, p.Timestamp, seq0+uint16(n), ts0+uint32(n*samplesPerPacket))
		}
		if p.Marker != (n == 0) {
			t.Errorf("packet %d: marker %v", i, p.Marker)
		}
		at := (n * payloadBytes) % len(tone)
		if !bytes.Equal(p.Payload, tone[at:at+payloadBytes]) {
			t.Errorf("packet %d: payload is not the tone at byte %d", i, at)
		}
	}
}

// toneLevelAndFrequency measures a decoded tone: its RMS as a fraction
// of full scale and, by counting rising zero crossings, its frequency.
func toneLevelAndFrequency(pcm []int16, rate int) (rms, hz float64) {
	var sum float64
	crossings := 0
	for i, v := range pcm {
		sum += float64(v) * float64(v)
		if i > 0 && pcm[i-1] < 0 && v >= 0 {
			crossings++
		}
	}
	return math.Sqrt(sum/float64(len(pcm))) / math.MaxInt16, float64(crossings) * float64(rate) / float64(len(pcm))
}

func TestTonesDecodeTo440Hz(t *testing.T) {
	for _, tc := range []struct {
		name   string
		rate   int
		decode func([]byte) []int16
	}{
		{"pcmu", 8000, func(b []byte) []int16 { return codec.PCMU.Decode(nil, b) }},
		{"g722", 16000, func(b []byte) []int16 { return g722.NewDecoder().Decode(nil, b) }},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c, err := codecByName(tc.name)
			if err != nil {
				t.Fatal(err)
			}
			payload := c.tone(2 * time.Second)
			if len(payload) != 2*50*payloadBytes {
				t.Fatalf("2 s of tone is %d bytes, want %d", len(payload), 2*50*payloadBytes)
			}
			pcm := tc.decode(payload)
			// Skip the decoder's first 100 ms, while its ADPCM adapts.
			rms, hz := toneLevelAndFrequency(pcm[tc.rate/10:], tc.rate)
			if want := toneLevel / math.Sqrt2; math.Abs(rms-want) > 0.03 {
				t.Errorf("RMS %.3f of full scale, want %.3f", rms, want)
			}
			if math.Abs(hz-toneHz) > 2 {
				t.Errorf("frequency %.1f Hz, want %d", hz, toneHz)
			}
		})
	}
}

func TestCodecByName(t *testing.T) {
	for name, pt := range map[string]uint8{"pcmu": 0, "PCMU": 0, "g722": 9, "G722": 9} {
		c, err := codecByName(name)
		if err != nil || c.sdp.PayloadType != pt || c.sdp.ClockRate != 8000 {
			t.Errorf("codecByName(%q) = %+v, %v; want payload type %d at 8000 Hz", name, c.sdp, err, pt)
		}
	}
	if _, err := codecByName("opus"); err == nil {
		t.Error("codecByName(opus) succeeded")
	}
}

func TestToneCommand(t *testing.T) {
	var out, errs bytes.Buffer
	if rc := run([]string{"tone", "-codec", "g722", "-seconds", "1"}, &out, &errs); rc != 0 {
		t.Fatalf("rc %d: %s", rc, errs.String())
	}
	if out.Len() != 8000 {
		t.Errorf("1 s of G.722 is %d bytes, want 8000", out.Len())
	}
	if rc := run([]string{"tone", "-codec", "gsm"}, &out, &errs); rc != 2 {
		t.Errorf("an unknown codec gave rc %d, want 2", rc)
	}
	if rc := run([]string{"dance"}, &out, &errs); rc != 2 {
		t.Errorf("an unknown command gave rc %d, want 2", rc)
	}
}

func TestSummaryWrite(t *testing.T) {
	s := summarize([]callResult{
		{sent: 10, in: receiveCounts{packets: 9}},
		{err: &callError{step: "answer", err: errHungUp}, sent: 1},
		{err: &callError{step: "answer", err: errHungUp}},
		{err: &callError{step: "SDP", err: errHungUp}, skipped: 2, in: receiveCounts{rejected: 1}},
	})
	var out, errs bytes.Buffer
	s.write(&out, &errs)
	if want := "successful=1 failed=3 rtp_sent=11 rtp_skipped=2 rtp_send_errors=0 rtp_received=9 rtp_rejected=1 loadgen_cpu_seconds=0.00\n"; out.String() != want {
		t.Errorf("summary line %q, want %q", out.String(), want)
	}
	lines := strings.Split(strings.TrimSpace(errs.String()), "\n")
	if len(lines) != 2 || !strings.HasPrefix(lines[0], "loadgen: 2 call(s) failed at answer: ") || !strings.HasPrefix(lines[1], "loadgen: 1 call(s) failed at SDP: ") {
		t.Errorf("failure lines %q, want the two reasons, most common first", lines)
	}
}
