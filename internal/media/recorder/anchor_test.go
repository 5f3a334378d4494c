package recorder

import (
	"testing"
	"time"
)

// TestNewStreamReanchors: a new SSRC, or a timestamp jump of seconds
// either way, continues the channel where the packets arrive, leaving
// what was placed before alone.
func TestNewStreamReanchors(t *testing.T) {
	const n, change = 100, 50
	for _, tc := range []struct {
		name string
		// after turns packet i (i >= change) of the first stream into
		// what the sender sends after the change.
		after func(p Packet) Packet
		// stragglerLast delivers the first stream's last packet after the
		// second stream's first.
		stragglerLast bool
	}{
		{"new SSRC", func(p Packet) Packet {
			p.SSRC = 99
			p.Timestamp += 0x7fff0000
			return p
		}, false},
		{"new SSRC with a straggler from the old one", func(p Packet) Packet {
			p.SSRC = 99
			p.Timestamp += 0x7fff0000
			return p
		}, true},
		{"timestamps 10 s ahead", func(p Packet) Packet {
			p.Timestamp += 10 * DefaultSampleRate
			return p
		}, false},
		{"timestamps 10 s ahead with a straggler from before", func(p Packet) Packet {
			p.Timestamp += 10 * DefaultSampleRate
			return p
		}, true},
		{"timestamps 10 s back", func(p Packet) Packet {
			p.Timestamp -= 10 * DefaultSampleRate
			return p
		}, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ds := onTime(n)
			for i := change; i < n; i++ {
				ds[i].p = tc.after(ds[i].p)
			}
			if tc.stragglerLast {
				ds[change-1].at = ds[change].at + time.Millisecond
			}
			res, got := recordDeliveries(t, ds, sentAt(n)+time.Second)
			if res.Late != 0 {
				t.Errorf("late %d", res.Late)
			}
			for i := range n {
				at := placeOnTime(i)
				want := numbered(7, 1234, i).PCM
				for j := range want {
					if got[at+j] != want[j] {
						t.Fatalf("packet %d sample %d = %d, want %d", i, j, got[at+j], want[j])
					}
				}
			}
		})
	}
}

func TestWideband(t *testing.T) {
	const n = 100 // 2 s
	s := newSim(t, Options{SampleRate: 16000})
	var ds []delivery
	for i := range n {
		for ch := range 2 {
			pcm := make([]int16, 2*packetSamples)
			for j := range pcm {
				pcm[j] = int16(1 + ch + j)
			}
			ds = append(ds, delivery{
				at: sentAt(i) + netDelay,
				ch: ch,
				p:  Packet{SSRC: uint32(ch), Timestamp: uint32(2 * packetSamples * i), PCM: pcm},
			})
		}
	}
	s.deliver(ds)
	res, pcm := s.finish(3 * time.Second)
	if res.SampleRate != 16000 || res.Frames != 3*16000 || res.Duration != 3*time.Second {
		t.Fatalf("result %+v; want 3 s at 16000", res)
	}
	format, _ := readStereo(t, res.Path)
	if format.SampleRate != 16000 || format.Channels != 2 {
		t.Fatalf("format %+v", format)
	}
	for i := range n {
		at := int(framesIn(sentAt(i)+netDelay, 16000))
		for ch := range 2 {
			for j := range 2 * packetSamples {
				if got, want := pcm[2*(at+j)+ch], int16(1+ch+j); got != want {
					t.Fatalf("packet %d channel %d sample %d = %d, want %d", i, ch, j, got, want)
				}
			}
		}
	}
}

func TestStartRefusesBadOptions(t *testing.T) {
	for _, opts := range []Options{
		{SampleRate: 44100},
		{SampleRate: -8000},
		{JitterWindow: -time.Millisecond},
		{JitterWindow: time.Hour},
	} {
		if r, err := Start(t.TempDir()+"/r.wav", opts); err == nil {
			r.Stop(false)
			t.Errorf("Start(%+v) succeeded", opts)
		}
	}
}

func TestWritePacketDoesNotAllocate(t *testing.T) {
	s := newSim(t, Options{})
	p := numbered(1, 0, 0)
	allocs := testing.AllocsPerRun(500, func() {
		s.advance(s.now + packetTime)
		s.r.WritePacket(0, p)
		s.r.WritePacket(1, p)
		p.Timestamp += packetSamples
	})
	if allocs != 0 {
		t.Errorf("%v allocations per packet, want none", allocs)
	}
	s.finish(s.now)
}

func BenchmarkWritePacket(b *testing.B) {
	clk := &fakeClock{t: time.Unix(1000, 0)}
	r, err := Start(b.TempDir()+"/r.wav", Options{Clock: clk.now, manualFlush: true})
	if err != nil {
		b.Fatal(err)
	}
	defer r.Stop(false)
	owner, other := numbered(1, 0, 0), numbered(2, 777, 0)
	b.ReportAllocs()
	for i := 0; b.Loop(); i++ {
		clk.add(packetTime)
		r.WritePacket(0, owner)
		r.WritePacket(1, other)
		owner.Timestamp += packetSamples
		other.Timestamp += packetSamples
		if i%5 == 4 {
			r.tickOnce()
		}
	}
}
