package dtmf

import (
	"bytes"
	"errors"
	"strings"
	"testing"
)

func TestParseEvent(t *testing.T) {
	tests := []struct {
		name    string
		payload []byte
		want    Event
		wantErr bool
	}{
		{"digit 5 start", []byte{0x05, 0x0A, 0x00, 0xA0}, Event{Code: 5, Volume: 10, Duration: 160}, false},
		{"hash end", []byte{0x0B, 0x8A, 0x03, 0x20}, Event{Code: 11, End: true, Volume: 10, Duration: 800}, false},
		{"reserved bit ignored", []byte{0x01, 0x4A, 0x00, 0x00}, Event{Code: 1, Volume: 10}, false},
		{"max volume and duration", []byte{0x0F, 0xFF, 0xFF, 0xFF}, Event{Code: 15, End: true, Volume: 63, Duration: 0xFFFF}, false},
		{"flash is an event", []byte{16, 0x00, 0x00, 0x50}, Event{Code: 16, Duration: 80}, false},
		{"trailing bytes ignored", []byte{0x02, 0x80, 0x01, 0x40, 0xDE, 0xAD, 0xBE, 0xEF}, Event{Code: 2, End: true, Duration: 320}, false},
		{"empty", nil, Event{}, true},
		{"three bytes", []byte{1, 2, 3}, Event{}, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := ParseEvent(tt.payload)
			if tt.wantErr {
				if !errors.Is(err, ErrShortPayload) {
					t.Fatalf("err = %v, want ErrShortPayload", err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if got != tt.want {
				t.Errorf("got %+v, want %+v", got, tt.want)
			}
		})
	}
}

func TestMarshal(t *testing.T) {
	tests := []struct {
		ev   Event
		want []byte
	}{
		{Event{Code: 5, Volume: 10, Duration: 160}, []byte{0x05, 0x0A, 0x00, 0xA0}},
		{Event{Code: 11, End: true, Volume: 10, Duration: 800}, []byte{0x0B, 0x8A, 0x03, 0x20}},
		{Event{Code: 0, Volume: 200, Duration: 1}, []byte{0x00, 200 & 0x3F, 0x00, 0x01}},
		{Event{Code: 15, End: true, Volume: 63, Duration: 0xFFFF}, []byte{0x0F, 0xBF, 0xFF, 0xFF}},
	}
	for _, tt := range tests {
		got := tt.ev.Marshal([]byte{0xAA})
		if !bytes.Equal(got[1:], tt.want) || got[0] != 0xAA {
			t.Errorf("%+v.Marshal = % X, want AA % X", tt.ev, got, tt.want)
		}
		if tt.ev.Volume <= MaxVolume {
			back, err := ParseEvent(got[1:])
			if err != nil || back != tt.ev {
				t.Errorf("round trip %+v -> %+v, %v", tt.ev, back, err)
			}
		}
	}
	buf := make([]byte, 0, 4)
	if n := testing.AllocsPerRun(100, func() { buf = Event{Code: 1}.Marshal(buf[:0]) }); n != 0 {
		t.Errorf("Marshal allocates %v times", n)
	}
}

func TestDigitCode(t *testing.T) {
	tests := []struct {
		code  uint8
		digit byte
	}{
		{0, '0'}, {1, '1'}, {5, '5'}, {9, '9'},
		{10, '*'}, {11, '#'},
		{12, 'A'}, {13, 'B'}, {14, 'C'}, {15, 'D'},
	}
	for _, tt := range tests {
		if d, ok := Digit(tt.code); !ok || d != tt.digit {
			t.Errorf("Digit(%d) = %q, %v; want %q", tt.code, d, ok, tt.digit)
		}
		if c, ok := Code(tt.digit); !ok || c != tt.code {
			t.Errorf("Code(%q) = %d, %v; want %d", tt.digit, c, ok, tt.code)
		}
	}
	for _, code := range []uint8{16, 17, 100, 255} {
		if d, ok := Digit(code); ok {
			t.Errorf("Digit(%d) = %q, want not a digit", code, d)
		}
	}
	lower := []struct {
		digit byte
		code  uint8
	}{{'a', 12}, {'b', 13}, {'c', 14}, {'d', 15}}
	for _, tt := range lower {
		if c, ok := Code(tt.digit); !ok || c != tt.code {
			t.Errorf("Code(%q) = %d, %v; want %d", tt.digit, c, ok, tt.code)
		}
	}
	for _, d := range []byte{'E', 'e', ' ', 0, '+', 'w', ','} {
		if c, ok := Code(d); ok {
			t.Errorf("Code(%q) = %d, want not a digit", d, c)
		}
	}
	// Every code round-trips.
	for code := range uint8(16) {
		d, _ := Digit(code)
		if c, ok := Code(d); !ok || c != code {
			t.Errorf("Code(Digit(%d)) = %d", code, c)
		}
	}
}

func TestEvents(t *testing.T) {
	tests := []struct {
		name      string
		digit     byte
		volume    uint8
		duration  uint16
		step      uint16
		durations []uint16 // durations of the progress packets
		wantErr   string
	}{
		{"100ms at 20ms", '5', 10, 800, 160, []uint16{160, 320, 480, 640}, ""},
		{"not a multiple", '#', 10, 900, 160, []uint16{160, 320, 480, 640, 800}, ""},
		{"one step", '*', 0, 160, 160, nil, ""},
		{"shorter than a step", 'D', 63, 80, 160, nil, ""},
		{"lowercase letter", 'a', 10, 320, 160, []uint16{160}, ""},
		{"longest", '0', 10, 0xFFFF, 0x8000, []uint16{0x8000}, ""},
		{"bad digit", 'x', 10, 800, 160, nil, "not a DTMF digit"},
		{"bad volume", '1', 64, 800, 160, nil, "volume"},
		{"zero duration", '1', 10, 0, 160, nil, "duration"},
		{"zero step", '1', 10, 800, 0, nil, "step"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			evs, err := Events(tt.digit, tt.volume, tt.duration, tt.step)
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("err = %v, want containing %q", err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			code, _ := Code(tt.digit)
			if len(evs) != len(tt.durations)+3 {
				t.Fatalf("%d events, want %d: %+v", len(evs), len(tt.durations)+3, evs)
			}
			for i, d := range tt.durations {
				want := Event{Code: code, Volume: tt.volume, Duration: d}
				if evs[i] != want {
					t.Errorf("event %d = %+v, want %+v", i, evs[i], want)
				}
			}
			end := Event{Code: code, End: true, Volume: tt.volume, Duration: tt.duration}
			for _, e := range evs[len(tt.durations):] {
				if e != end {
					t.Errorf("end event %+v, want %+v", e, end)
				}
			}
			// A receiver hearing the whole sequence reports the digit once.
			var r Receiver
			var got []byte
			for _, e := range evs {
				d, ok, err := r.Push(1234, e.Marshal(nil))
				if err != nil {
					t.Fatal(err)
				}
				if ok {
					got = append(got, d)
				}
			}
			want, _ := Digit(code)
			if string(got) != string(want) {
				t.Errorf("receiver got %q, want %q", got, want)
			}
		})
	}
}

type packet struct {
	ts      uint32
	payload []byte
}

func ev(code uint8, end bool, dur uint16) []byte {
	return Event{Code: code, End: end, Volume: 10, Duration: dur}.Marshal(nil)
}

// digitPackets is a textbook digit: three progress packets, three end packets.
func digitPackets(ts uint32, code uint8) []packet {
	return []packet{
		{ts, ev(code, false, 160)},
		{ts, ev(code, false, 320)},
		{ts, ev(code, false, 480)},
		{ts, ev(code, true, 640)},
		{ts, ev(code, true, 640)},
		{ts, ev(code, true, 640)},
	}
}

func endOnly(ts uint32, code uint8) []packet {
	return []packet{{ts, ev(code, true, 800)}, {ts, ev(code, true, 800)}, {ts, ev(code, true, 800)}}
}

func concat(ps ...[]packet) []packet {
	var out []packet
	for _, p := range ps {
		out = append(out, p...)
	}
	return out
}

func TestReceiver(t *testing.T) {
	tests := []struct {
		name    string
		packets []packet
		want    string
		errs    int
	}{
		{"textbook digit", digitPackets(1000, 1), "1", 0},
		{"digits 1 2 3", concat(digitPackets(1000, 1), digitPackets(3000, 2), digitPackets(5000, 3)), "123", 0},
		{"same digit twice", concat(digitPackets(1000, 7), digitPackets(3000, 7)), "77", 0},
		{"only end packets", concat(endOnly(1000, 11), endOnly(4000, 10)), "#*", 0},
		{"single end packet", []packet{{160, ev(4, true, 400)}}, "4", 0},
		{"single progress packet", []packet{{160, ev(4, false, 160)}}, "4", 0},
		{"timestamp zero on a fresh receiver", digitPackets(0, 9), "9", 0},
		{"letters", concat(digitPackets(1, 12), digitPackets(2, 13), digitPackets(3, 14), digitPackets(4, 15)), "ABCD", 0},
		{"late end packets of the previous digit", concat(
			digitPackets(1000, 1)[:3],
			digitPackets(3000, 2)[:2],
			[]packet{{1000, ev(1, true, 640)}, {1000, ev(1, true, 640)}},
			digitPackets(3000, 2)[2:],
		), "12", 0},
		{"late duplicate within memory", concat(
			digitPackets(100, 1), digitPackets(200, 2), digitPackets(300, 3), digitPackets(400, 4),
			digitPackets(500, 5), digitPackets(600, 6), digitPackets(700, 7),
			endOnly(100, 1),
		), "1234567", 0},
		{"timestamp wraps", concat(digitPackets(0xFFFFFF00, 5), digitPackets(0x00000100, 6)), "56", 0},
		{"garbage in between", concat(
			digitPackets(1000, 1)[:2],
			[]packet{{1000, nil}, {1000, []byte{1}}, {2000, []byte{2, 0x80}}},
			digitPackets(1000, 1)[2:],
			digitPackets(2000, 2),
		), "12", 3},
		{"hook flash is not a digit", concat([]packet{{500, ev(16, false, 160)}, {500, ev(16, true, 800)}}, digitPackets(900, 0)), "0", 0},
		{"redundant trailing bytes", []packet{{10, append(ev(3, false, 160), 0xFF, 0xFF, 0xFF, 0xFF)}, {10, ev(3, true, 320)}}, "3", 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var r Receiver
			var got []byte
			errs := 0
			for _, p := range tt.packets {
				d, ok, err := r.Push(p.ts, p.payload)
				if err != nil {
					errs++
					if ok {
						t.Errorf("ok with error %v", err)
					}
					continue
				}
				if ok {
					got = append(got, d)
				}
			}
			if string(got) != tt.want {
				t.Errorf("digits %q, want %q", got, tt.want)
			}
			if errs != tt.errs {
				t.Errorf("%d errors, want %d", errs, tt.errs)
			}
		})
	}
}

func TestReceiverForgetsOldEvents(t *testing.T) {
	var r Receiver
	for i := range uint32(recentEvents) {
		if _, ok, _ := r.Push(i*1000, ev(1, true, 800)); !ok {
			t.Fatalf("digit %d not reported", i)
		}
	}
	// The oldest event has been forgotten; a duplicate of it now counts
	// again. Eight events of memory is plenty for real reordering.
	if _, ok, _ := r.Push(8000, ev(1, true, 800)); !ok {
		t.Fatal("new digit not reported")
	}
	if _, ok, _ := r.Push(0, ev(1, true, 800)); !ok {
		t.Error("expected a duplicate older than the memory to be reported again")
	}
	r.Reset()
	if _, ok, _ := r.Push(8000, ev(1, true, 800)); !ok {
		t.Error("Reset did not forget")
	}
}

func TestReceiverNoAllocations(t *testing.T) {
	var r Receiver
	payload := ev(5, false, 160)
	ts := uint32(0)
	n := testing.AllocsPerRun(1000, func() {
		ts += 160
		if _, _, err := r.Push(ts, payload); err != nil {
			t.Fatal(err)
		}
	})
	if n != 0 {
		t.Errorf("Push allocates %v times per packet", n)
	}
}

func FuzzParseEvent(f *testing.F) {
	f.Add([]byte{0x05, 0x0A, 0x00, 0xA0})
	f.Add([]byte{0x0B, 0x8A, 0x03, 0x20})
	f.Add([]byte{0xFF, 0xFF, 0xFF, 0xFF, 0x00})
	f.Add([]byte{1, 2})
	f.Fuzz(func(t *testing.T, payload []byte) {
		e, err := ParseEvent(payload)
		if len(payload) < EventSize {
			if err == nil {
				t.Fatal("short payload accepted")
			}
			return
		}
		if err != nil {
			t.Fatal(err)
		}
		out := e.Marshal(nil)
		want := []byte{payload[0], payload[1] &^ 0x40, payload[2], payload[3]}
		if !bytes.Equal(out, want) {
			t.Fatalf("Marshal(ParseEvent(% X)) = % X", payload[:4], out)
		}
	})
}

func FuzzReceiverPush(f *testing.F) {
	f.Add(uint32(1000), []byte{0x05, 0x0A, 0x00, 0xA0}, uint32(1000), []byte{0x05, 0x8A, 0x03, 0x20})
	f.Add(uint32(0), []byte{}, uint32(0), []byte{0x10, 0, 0, 0})
	f.Add(uint32(7), []byte{1, 2, 3}, uint32(8), []byte{0x0B, 0x80, 0, 0, 9, 9})
	f.Fuzz(func(t *testing.T, ts1 uint32, p1 []byte, ts2 uint32, p2 []byte) {
		var r Receiver
		d1, ok1, err1 := r.Push(ts1, p1)
		if err1 != nil && ok1 {
			t.Fatal("ok with error")
		}
		if ok1 {
			if _, valid := Code(d1); !valid {
				t.Fatalf("reported non-digit %q", d1)
			}
			// The same packet again is never a new digit.
			if _, ok, _ := r.Push(ts1, p1); ok {
				t.Fatal("duplicate reported")
			}
		}
		d2, ok2, err2 := r.Push(ts2, p2)
		if err2 != nil && ok2 {
			t.Fatal("ok with error")
		}
		if ok1 && ok2 && ts1 == ts2 && p1[0] == p2[0] {
			t.Fatalf("digit %q reported twice for timestamp %d", d2, ts1)
		}
	})
}

// TestReceiverRepeatedKeySameTimestamp covers senders that reuse one RTP
// timestamp for every press of the same key (SIPp replaying
// dtmf_2833_5.pcap twice for "55"): each press is a digit, but the repeated
// end packets of one press are not.
func TestReceiverRepeatedKeySameTimestamp(t *testing.T) {
	var r Receiver
	press := func() int {
		n := 0
		for _, p := range digitPackets(43200, 5) {
			d, ok, err := r.Push(p.ts, p.payload)
			if err != nil {
				t.Fatal(err)
			}
			if ok {
				if d != '5' {
					t.Fatalf("digit %q", d)
				}
				n++
			}
		}
		return n
	}
	for i := 0; i < 3; i++ {
		if n := press(); n != 1 {
			t.Fatalf("press %d reported %d digits, want 1", i+1, n)
		}
	}
	// A late end packet of the last press is not a new digit.
	if _, ok, _ := r.Push(43200, ev(5, true, 800)); ok {
		t.Fatal("late end packet counted")
	}
	// A reordered progress packet with a long duration is not either.
	if _, ok, _ := r.Push(43200, ev(5, false, 640)); ok {
		t.Fatal("reordered progress packet counted")
	}
}
