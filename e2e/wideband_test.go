package e2e

// G.722: a stranger calling in with G.722 to an owner whose trunk answers
// G.722 is recorded at 16 kHz, one bridged to a PCMU trunk at 8 kHz with
// audio transcoded both ways; and the call quality each leg's record
// carries. Both phones' media are Go sockets (mediaPeer, below, which the
// other media tests use too), since SIPp streams PCMU only in the shared
// scenarios.

import (
	"context"
	"encoding/json"
	"fmt"
	"math"
	"math/rand/v2"
	"net"
	"os/exec"
	"sync"
	"testing"
	"time"

	"github.com/callrec/callrec/internal/media/g722"
)

// g722Codec is G.722 as SDP names it: payload type 9 with an 8000 Hz RTP
// clock (RFC 3551 §4.5.2), though it carries 16 kHz audio.
var g722Codec = codec{9, "G722/8000"}

// arrival is an RTP packet a mediaPeer received, and when.
type arrival struct {
	At  time.Time
	Pkt rtpPacket
}

// mediaPeer is a Go media endpoint on loopback that notes when each RTP
// packet arrived, and sends audio from the same socket (so symmetric RTP
// sees one address). Its goroutine owns the socket's reads; got is under
// mu.
type mediaPeer struct {
	conn *net.UDPConn
	mu   sync.Mutex
	got  []arrival
}

func newMediaPeer(t *testing.T) *mediaPeer {
	t.Helper()
	port := freePorts(t, 2, false)
	c, err := net.ListenUDP("udp4", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1), Port: port})
	if err != nil {
		t.Fatal(err)
	}
	p := &mediaPeer{conn: c}
	done := make(chan struct{})
	go func() {
		defer close(done)
		buf := make([]byte, 2048)
		for {
			n, from, err := c.ReadFromUDP(buf)
			if err != nil {
				return
			}
			if pkt, ok := parseRTP(buf[:n]); ok {
				pkt.From = from
				p.mu.Lock()
				p.got = append(p.got, arrival{time.Now(), pkt})
				p.mu.Unlock()
			}
		}
	}()
	t.Cleanup(func() { c.Close(); <-done })
	return p
}

// Port is the peer's RTP port, for SDP.
func (p *mediaPeer) Port() int { return p.conn.LocalAddr().(*net.UDPAddr).Port }

// arrivals is what the peer has received so far.
func (p *mediaPeer) arrivals() []arrival {
	p.mu.Lock()
	defer p.mu.Unlock()
	return append([]arrival(nil), p.got...)
}

// packets is what the peer has received so far, without the times.
func (p *mediaPeer) packets() []rtpPacket {
	var out []rtpPacket
	for _, a := range p.arrivals() {
		out = append(out, a.Pkt)
	}
	return out
}

// send sends RTP of payload type pt to to, one 20 ms packet per 20 ms of
// wall clock (catching up after a late wake-up), the payload of packet i
// being frame(i), until stop is closed. The timestamp advances 160 per
// packet, as for G.711 and G.722 alike.
func (p *mediaPeer) send(to *net.UDPAddr, pt uint8, frame func(i int) []byte, stop <-chan struct{}) {
	ssrc, seq, ts := rand.Uint32(), uint16(rand.Uint32()), rand.Uint32()
	tick := time.NewTicker(10 * time.Millisecond)
	defer tick.Stop()
	start := time.Now()
	for i := 0; ; {
		for due := int(time.Since(start) / (20 * time.Millisecond)); i <= due; i++ {
			pkt := append(rtpHeader(pt, i == 0, seq, ts, ssrc), frame(i)...)
			if _, err := p.conn.WriteToUDP(pkt, to); err != nil {
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

// ulawFrames returns the 20 ms PCMU frames of a tone at hz (an integer
// number of periods per second, so frame i%50 repeats seamlessly).
func ulawFrames(hz int) func(i int) []byte {
	pcm := sine(float64(hz), 0.5, 8000)
	return func(i int) []byte {
		out := make([]byte, 160)
		for k, v := range pcm[i%50*160 : i%50*160+160] {
			out[k] = ulawEncode(v)
		}
		return out
	}
}

// g722Frames returns the 20 ms G.722 frames of a 16 kHz tone at hz, from
// one encoder (frames must be taken in order, each once).
func g722Frames(hz int) func(i int) []byte {
	pcm := make([]int16, 16000)
	for k := range pcm {
		pcm[k] = int16(0.5 * 32767 * math.Sin(2*math.Pi*float64(hz)*float64(k)/16000))
	}
	enc := g722.NewEncoder()
	return func(i int) []byte {
		return enc.Encode(nil, pcm[i%50*320:i%50*320+320])
	}
}

// g722Samples decodes the G.722 packets (payload type 9) of pkts, in
// arrival order, and returns them at 8 kHz (every other 16 kHz sample:
// the test tones are far below 4 kHz) for the 8 kHz tone helpers.
func g722Samples(pkts []rtpPacket) []int16 {
	dec := g722.NewDecoder()
	var wide []int16
	for _, p := range pkts {
		if p.PT == 9 {
			wide = dec.Decode(wide, p.Payload)
		}
	}
	return halve(wide)
}

// halve keeps every other sample: 16 kHz to 8 kHz for tone analysis.
func halve(x []int16) []int16 {
	out := make([]int16, 0, len(x)/2)
	for i := 0; i < len(x); i += 2 {
		out = append(out, x[i])
	}
	return out
}

// legQuality is one element of a call record's quality.
type legQuality struct {
	Leg             string  `json:"leg"`
	Codec           string  `json:"codec"`
	Encrypted       bool    `json:"encrypted"`
	PacketsReceived int     `json:"packets_received"`
	PacketsLost     int     `json:"packets_lost"`
	LossPercent     float64 `json:"loss_percent"`
	JitterMS        float64 `json:"jitter_ms"`
	MaxJitterMS     float64 `json:"max_jitter_ms"`
	RTTMS           float64 `json:"rtt_ms"`
	RFactor         float64 `json:"r_factor"`
	MOS             float64 `json:"mos"`
}

// quality reads the call's quality entries from `callrec calls show --json`.
func (c *callrec) quality(t *testing.T, rec callRecord) []legQuality {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, env.callrec, "calls", "show", "--json", "--config", c.cfgPath, fmt.Sprint(rec.ID))
	cmd.Env = cleanEnv()
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("callrec calls show --json: %v", err)
	}
	var show struct {
		Quality []legQuality `json:"quality"`
	}
	if err := json.Unmarshal(out, &show); err != nil {
		t.Fatalf("callrec calls show --json: %v\n%s", err, out)
	}
	t.Logf("quality: %+v", show.Quality)
	return show.Quality
}

// checkQuality checks that the record has one quality entry per leg
// ("owner", "other") with the codec each spoke, packets received, and,
// on a clean loopback call, a MOS above 4.
func checkQuality(t *testing.T, qs []legQuality, codecs map[string]string) {
	t.Helper()
	seen := map[string]bool{}
	for _, q := range qs {
		want, ok := codecs[q.Leg]
		if !ok {
			t.Errorf("quality entry for leg %q; want only %v", q.Leg, codecs)
			continue
		}
		seen[q.Leg] = true
		if q.Codec != want {
			t.Errorf("quality of leg %s: codec %q, want %q", q.Leg, q.Codec, want)
		}
		if q.PacketsReceived <= 0 {
			t.Errorf("quality of leg %s: %d packets received", q.Leg, q.PacketsReceived)
		}
		if q.MOS <= 4 {
			t.Errorf("quality of leg %s: MOS %.2f on a clean loopback call, want above 4 (%+v)", q.Leg, q.MOS, q)
		}
	}
	for leg := range codecs {
		if !seen[leg] {
			t.Errorf("no quality entry for leg %s in %+v", leg, qs)
		}
	}
}

// widebandCall places a stranger's call offering the stranger codecs to
// an owner whose trunk answers with trunk alone; both phones are Go
// mediaPeers sending their tone in their codec for about 8 s of bridged
// call. It returns the peers (the stranger's, the owner's), the trunk and
// the call's record.
func widebandCall(t *testing.T, stranger []codec, trunkCodec codec) (strangerEar, ownerEar *mediaPeer, trunk *sipp, rec callRecord, cr *callrec) {
	t.Helper()
	cr = startCallrec(t, config{})
	strangerEar, ownerEar = newMediaPeer(t), newMediaPeer(t)
	trunk = startTrunkSDP(t, cr, trunkScenario{}, sdp([]codec{trunkCodec}, 0, ownerEar.Port()))
	phone := call(t, cr, "stranger", callerScenario{
		From: strangerNum, To: serviceNumber, Early: true, EventPT: 101,
		Codecs: stranger, SDPPort: strangerEar.Port(),
		Steps: []step{pause(8000), hangup()},
	}, sippOpts{})
	early := phone.waitMessage(20*time.Second, "183 with SDP", func(m sipMsg) bool {
		return !m.Sent && m.Status == 183 && m.CSeq == "INVITE"
	})
	go strangerEar.send(sdpTarget(t, early.Body), uint8(stranger[0].PT), framesFor(stranger[0], otherHz), phone.done)
	inv := trunk.waitMessage(30*time.Second, "INVITE from callrec", func(m sipMsg) bool {
		return !m.Sent && m.Method == "INVITE"
	})
	go ownerEar.send(sdpTarget(t, inv.Body), uint8(trunkCodec.PT), framesFor(trunkCodec, ownerHz), trunk.done)
	phone.mustPass(callTimeout)
	trunk.mustPass(10 * time.Second)
	if t.Failed() {
		t.FailNow()
	}
	return strangerEar, ownerEar, trunk, cr.oneCall(), cr
}

// framesFor is the frames of a tone at hz in c (G.722 or PCMU).
func framesFor(c codec, hz int) func(int) []byte {
	if c.PT == g722Codec.PT {
		return g722Frames(hz)
	}
	return ulawFrames(hz)
}

// checkHeard checks that a peer got only payload type pt and heard hz in
// it for at least minSec.
func checkHeard(t *testing.T, who string, ear *mediaPeer, pt uint8, hz int, minSec float64) {
	t.Helper()
	pkts := ear.packets()
	var pcm []int16
	if pt == 9 {
		pcm = g722Samples(pkts)
	} else {
		pcm = g711Samples(pkts)
	}
	hits, frames := toneFrames(pcm, float64(hz))
	t.Logf("%s got %d packets, by payload type %v; %d Hz in %.2f s of %.2f s", who, len(pkts), countPT(pkts), hz,
		float64(hits*frameMS)/1000, float64(frames*frameMS)/1000)
	for p, n := range countPT(pkts) {
		if p != pt {
			t.Errorf("%s got %d packets of payload type %d, want only %d", who, n, p, pt)
		}
	}
	if got := float64(hits*frameMS) / 1000; got < minSec {
		t.Errorf("%s heard %d Hz for %.2f s, want at least %.2f s", who, hz, got, minSec)
	}
}

// TestWidebandBothLegs: a stranger offering G.722 first, bridged to an
// owner whose trunk answers G.722: each phone gets G.722 carrying the
// other's tone, the recording is 16 kHz stereo with the owner's tone on
// channel 0 and the stranger's on channel 1, and the record's quality
// names G722 for both legs.
func TestWidebandBothLegs(t *testing.T) {
	t.Parallel()
	strangerEar, ownerEar, trunk, rec, cr := widebandCall(t, []codec{g722Codec, pcmu}, g722Codec)
	b := bridged(t, trunk)
	checkHeard(t, "stranger", strangerEar, 9, ownerHz, b.Seconds()-2.5)
	checkHeard(t, "owner", ownerEar, 9, otherHz, b.Seconds()-2.5)
	if rec.Status != "completed" || rec.RecordingState != "complete" {
		t.Errorf("call record %v: want status completed, recording_state complete", rec)
	}
	w, err := readWAV(cr.recordingPath(rec))
	if err != nil {
		t.Fatalf("recording: %v", err)
	}
	if w.Channels != 2 || w.SampleRate != 16000 || w.Bits != 16 {
		t.Fatalf("recording: %d channels, %d Hz, %d bits; want 2, 16000, 16 (both legs G.722)", w.Channels, w.SampleRate, w.Bits)
	}
	if d := w.Duration(); d < 0.9*b.Seconds()-2.2 || d > 1.1*b.Seconds()+0.2 {
		t.Errorf("recording lasts %.2f s; the trunk leg was bridged %.2f s", d, b.Seconds())
	}
	for ch, want := range [2]struct{ own, other int }{{ownerHz, otherHz}, {otherHz, ownerHz}} {
		st := analyseChannel(halve(w.Samples[ch]))
		t.Logf("channel %d: %v", ch, st)
		if secs := float64(st.ToneHit[want.own]*frameMS) / 1000; secs < b.Seconds()-3 {
			t.Errorf("channel %d carries its party's %d Hz for %.2f s, want at least %.2f s", ch, want.own, secs, b.Seconds()-3)
		}
		if leak := st.ToneHit[want.other]; leak > st.Frames/50 {
			t.Errorf("channel %d carries the other side's %d Hz in %d frames: mixed or swapped", ch, want.other, leak)
		}
	}
	checkQuality(t, cr.quality(t, rec), map[string]string{"owner": "G722", "other": "G722"})
}

// TestWidebandToPCMU: a stranger speaking only G.722 bridged to a PCMU
// trunk: the stranger gets G.722 with the owner's tone, the owner PCMU
// with the stranger's, the recording is 8 kHz, and the quality entries
// name each leg's codec.
func TestWidebandToPCMU(t *testing.T) {
	t.Parallel()
	strangerEar, ownerEar, trunk, rec, cr := widebandCall(t, []codec{g722Codec}, pcmu)
	b := bridged(t, trunk)
	checkHeard(t, "stranger", strangerEar, 9, ownerHz, b.Seconds()-2.5)
	checkHeard(t, "owner", ownerEar, 0, otherHz, b.Seconds()-2.5)
	if rec.Status != "completed" || rec.RecordingState != "complete" {
		t.Errorf("call record %v: want status completed, recording_state complete", rec)
	}
	checkRecording(t, cr, rec, b, math.Max(2, b.Seconds()-3))
	checkQuality(t, cr.quality(t, rec), map[string]string{"owner": "PCMU", "other": "G722"})
}
