package e2e

// A call over a bad network: the impairment relay (harness_impair_test.go)
// between each phone's media and callrec adds delay, jitter, reordering,
// loss and duplication toward callrec; the recording must stay aligned
// between its channels and as long as the call.

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"math"
	"net"
	"os/exec"
	"sort"
	"strings"
	"testing"
	"time"
)

// badNetwork is what TestImpairedCall does toward callrec on both legs.
var badNetwork = impairment{
	Delay: 30 * time.Millisecond, Jitter: 20 * time.Millisecond,
	ReorderPc: 2, LossPc: 3, DupPc: 1,
}

// TestImpairedCall: a stranger calls in and is bridged to the owner; both
// phones' media go through a relay with 30 ms ± 20 ms jitter, 2 %
// reordering, 3 % loss and 1 % duplication toward callrec. Both sides send
// 200 ms tone pulses every second from one shared start. In the recording
// the pulses of the two channels line up within 20 ms, the recording lasts
// the bridged time within 1 %, and each phone heard the other's pulses.
// Once call records carry quality figures, their loss must be the relay's
// measured loss within 2 points.
func TestImpairedCall(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name string
		im   impairment
	}{{"clean", impairment{}}, {"bad", badNetwork}} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			impairedCall(t, tc.im)
		})
	}
}

// impairedCall is TestImpairedCall with im toward callrec on both legs.
func impairedCall(t *testing.T, im impairment) {
	cr := startCallrec(t, config{})
	strangerEar, ownerEar := newRTPSink(t), newRTPSink(t)
	strangerNet := newImpairRelay(t, im, impairment{}, 11)
	ownerNet := newImpairRelay(t, im, impairment{}, 12)
	strangerNet.toPeerAt(strangerEar.conn.LocalAddr().(*net.UDPAddr))
	ownerNet.toPeerAt(ownerEar.conn.LocalAddr().(*net.UDPAddr))

	trunk := startTrunkSDP(t, cr, trunkScenario{}, sdp([]codec{pcmu}, 0, ownerNet.NearPort()))
	stranger := call(t, cr, "stranger", callerScenario{
		From: strangerNum, To: serviceNumber, Early: true, EventPT: 101, Codecs: []codec{pcmu},
		SDPPort: strangerNet.NearPort(), Steps: []step{pause(12000), hangup()},
	}, sippOpts{})
	early := stranger.waitMessage(20*time.Second, "183 with SDP", func(m sipMsg) bool {
		return !m.Sent && m.Status == 183 && m.CSeq == "INVITE"
	})
	strangerNet.toCallrecAt(sdpTarget(t, early.Body))
	inv := trunk.waitMessage(30*time.Second, "INVITE from callrec", func(m sipMsg) bool {
		return !m.Sent && m.Method == "INVITE"
	})
	ownerNet.toCallrecAt(sdpTarget(t, inv.Body))
	trunk.waitMessage(10*time.Second, "ACK from callrec", func(m sipMsg) bool {
		return !m.Sent && m.Method == "ACK"
	})
	start := time.Now().Add(200 * time.Millisecond)
	go strangerEar.sendPulses(otherHz, strangerNet.FarAddr(), start, stranger.done)
	go ownerEar.sendPulses(ownerHz, ownerNet.FarAddr(), start, trunk.done)
	stranger.mustPass(callTimeout)
	trunk.mustPass(10 * time.Second)
	if t.Failed() {
		return
	}
	for _, r := range []struct {
		name  string
		relay *impairRelay
	}{{"stranger", strangerNet}, {"owner", ownerNet}} {
		t.Logf("%s's network toward callrec (%v): %v; back: %v", r.name, im, r.relay.toCallrec.Stats(), r.relay.toPeer.Stats())
	}

	b := bridged(t, trunk)
	rec := cr.oneCall()
	if rec.Status != "completed" || rec.RecordingState != "complete" {
		t.Errorf("call record %v: want status completed, recording_state complete", rec)
	}
	w, err := readWAV(cr.recordingPath(rec))
	if err != nil {
		t.Fatalf("recording: %v", err)
	}
	if w.Channels != 2 || w.SampleRate != 8000 {
		t.Fatalf("recording: %d channels at %d Hz, want 2 at 8000", w.Channels, w.SampleRate)
	}
	d := w.Duration()
	t.Logf("recording %.3f s; trunk leg bridged %.3f s", d, b.Seconds())
	if math.Abs(d-b.Seconds()) > 0.01*b.Seconds() {
		t.Errorf("recording lasts %.3f s, the call was bridged %.3f s: want within 1 %% (%.0f ms)", d, b.Seconds(), 10*b.Seconds())
	}
	checkPulseAlignment(t, w, b)
	for _, ear := range []struct {
		name string
		sink *rtpSink
		hz   int
	}{{"stranger", strangerEar, ownerHz}, {"owner", ownerEar, otherHz}} {
		n := len(pulseOnsets(g711Samples(ear.sink.packets()), float64(ear.hz)))
		if want := int(b.Seconds()) - 3; n < want {
			t.Errorf("the %s heard %d pulses of the other side's %d Hz in %.1f s bridged, want at least %d", ear.name, n, ear.hz, b.Seconds(), want)
		}
	}
	checkQualityLoss(t, cr, rec, map[string]float64{
		"other": strangerNet.toCallrec.Stats().LossPc(),
		"owner": ownerNet.toCallrec.Stats().LossPc(),
	})
}

// checkPulseAlignment finds the pulses of each side in its channel
// (owner's tone on 0, the other party's on 1) and checks that each pulse
// of one channel has its twin in the other within 20 ms, and that nearly
// every pulse sent is there.
func checkPulseAlignment(t *testing.T, w *wavFile, b time.Duration) {
	t.Helper()
	owner, other := pulseOnsets(w.Samples[0], ownerHz), pulseOnsets(w.Samples[1], otherHz)
	t.Logf("pulses: %d on channel 0 (owner), %d on channel 1 (other party)", len(owner), len(other))
	want := int(b.Seconds()) - 2
	if len(owner) < want || len(other) < want {
		t.Errorf("found %d and %d pulses on channels 0 and 1 of a %.1f s call, want at least %d each", len(owner), len(other), b.Seconds(), want)
	}
	var offsets []float64
	for _, a := range owner {
		best := math.Inf(1)
		for _, o := range other {
			if math.Abs(o-a) < math.Abs(best) {
				best = o - a
			}
		}
		if math.Abs(best) > 0.3 {
			t.Errorf("the owner's pulse at %.3f s has no twin on the other channel within 300 ms", a)
			continue
		}
		offsets = append(offsets, best)
	}
	if len(offsets) == 0 {
		return
	}
	sorted := append([]float64(nil), offsets...)
	sort.Float64s(sorted)
	t.Logf("channel 1 − channel 0 pulse offsets (ms): median %.1f, min %.1f, max %.1f",
		1000*sorted[len(sorted)/2], 1000*sorted[0], 1000*sorted[len(sorted)-1])
	// The channels are aligned when their pulses are: the median offset
	// within 20 ms, and nearly every pulse too. A pulse whose first packet
	// the relay dropped starts a packet or two late on that channel (the
	// loss is silence in its place), so one pulse in ten may be off by
	// that much without the channels being apart.
	if med := sorted[len(sorted)/2]; math.Abs(med) > 0.020 {
		t.Errorf("the channels are %.1f ms apart (median pulse offset; want within 20 ms)", 1000*med)
	}
	var apart int
	for _, off := range offsets {
		if math.Abs(off) > 0.020 {
			apart++
		}
	}
	if apart > len(offsets)/10 {
		t.Errorf("%d of %d pulses are more than 20 ms apart between the channels (offsets above); at most %d may be, where the relay dropped a pulse's first packets", apart, len(offsets), len(offsets)/10)
	}
}

// checkQualityLoss compares the loss figures in the call's record (its
// "quality" entries: leg "owner" or "other", loss_percent of what that
// leg's peer sent) with the relays' measured loss toward callrec, in %, by
// leg. Until records carry quality figures (`calls list --json` or `calls
// show --json` naming a loss), it only says so.
func checkQualityLoss(t *testing.T, cr *callrec, rec callRecord, measured map[string]float64) {
	t.Helper()
	var found []lossFigure
	for _, args := range [][]string{{"calls", "list", "--json"}, {"calls", "show", fmt.Sprint(rec.ID), "--json"}} {
		ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
		cmd := exec.CommandContext(ctx, env.callrec, append(args, "--config", cr.cfgPath)...)
		cmd.Env = cleanEnv()
		var stderr bytes.Buffer
		cmd.Stderr = &stderr
		out, err := cmd.Output()
		cancel()
		if err != nil {
			t.Logf("callrec %s: %v\n%s", strings.Join(args, " "), err, stderr.String())
			continue
		}
		var v any
		if err := json.Unmarshal(out, &v); err != nil {
			continue
		}
		if found = lossFigures("", "", v); len(found) > 0 {
			break
		}
	}
	if len(found) == 0 {
		t.Logf("the call's record has no quality figures yet (no loss in calls list/show --json): loss not checked")
		return
	}
	for _, f := range found {
		want, ok := measured[f.leg]
		t.Logf("quality figure %s (leg %q) = %v (as %.2f %%); the relay toward callrec dropped %.2f %%", f.path, f.leg, f.raw, f.pc, want)
		if !ok {
			t.Errorf("quality figure %s names leg %q; want one of %v", f.path, f.leg, measured)
			continue
		}
		if math.Abs(f.pc-want) > 2 {
			t.Errorf("call record's %s (leg %s) is %.2f %% loss; the relay dropped %.2f %% toward callrec, want within 2 points", f.path, f.leg, f.pc, want)
		}
	}
}

// lossFigure is a numeric field of a record whose name says loss.
type lossFigure struct {
	path string
	leg  string // the "leg" of the object holding it, if any
	raw  float64
	pc   float64 // as a percentage
}

// lossFigures walks decoded JSON for numbers under keys naming loss
// ("loss_percent", "loss", …), leaving out counts ("packets_lost") and
// what a peer reported about callrec ("remote_…"): a key with "pct" or
// "percent" is a percentage, one with "fraction" or "ratio" a fraction,
// any other a fraction when at most 1. leg is the "leg" of the enclosing
// object.
func lossFigures(path, leg string, v any) []lossFigure {
	var out []lossFigure
	switch v := v.(type) {
	case map[string]any:
		if l, ok := v["leg"].(string); ok {
			leg = l
		}
		for k, x := range v {
			p := strings.TrimPrefix(path+"."+k, ".")
			lk := strings.ToLower(k)
			if n, ok := x.(float64); ok && strings.Contains(lk, "loss") && !strings.HasPrefix(lk, "remote") {
				pc := n
				switch {
				case strings.Contains(lk, "pct") || strings.Contains(lk, "percent"):
				case strings.Contains(lk, "fraction") || strings.Contains(lk, "ratio") || n <= 1:
					pc = 100 * n
				}
				out = append(out, lossFigure{path: p, leg: leg, raw: n, pc: pc})
				continue
			}
			out = append(out, lossFigures(p, leg, x)...)
		}
	case []any:
		for i, x := range v {
			out = append(out, lossFigures(fmt.Sprintf("%s[%d]", path, i), leg, x)...)
		}
	}
	return out
}

// TestLossFigures checks how record JSON is read for loss figures.
func TestLossFigures(t *testing.T) {
	var v any
	if err := json.Unmarshal([]byte(`{"id":"x","lost":12,"quality":[
		{"leg":"owner","packets_lost":7,"loss_percent":2.5,"remote_loss_percent":9},
		{"leg":"other","packet_loss":0.03,"jitter_ms":4}]}`), &v); err != nil {
		t.Fatal(err)
	}
	got := map[string]float64{}
	for _, f := range lossFigures("", "", v) {
		got[f.leg+" "+f.path] = f.pc
	}
	want := map[string]float64{"owner quality[0].loss_percent": 2.5, "other quality[1].packet_loss": 3}
	if len(got) != len(want) {
		t.Fatalf("lossFigures found %v, want %v", got, want)
	}
	for k, w := range want {
		if math.Abs(got[k]-w) > 1e-9 {
			t.Errorf("%s = %v %%, want %v %%", k, got[k], w)
		}
	}
}

// FuzzLossFigures: any JSON; reading it for loss figures never panics and
// every figure found has a path and a value from the document.
func FuzzLossFigures(f *testing.F) {
	f.Add(`{"quality":{"loss_pct":2.5}}`)
	f.Add(`[{"legs":[{"packet_loss_fraction":0.02}]},{"loss":"n/a"}]`)
	f.Add(`{"loss":{"loss":{"loss":1e308}}}`)
	f.Fuzz(func(t *testing.T, doc string) {
		var v any
		if json.Unmarshal([]byte(doc), &v) != nil {
			return
		}
		for _, fig := range lossFigures("", "", v) {
			if fig.path == "" || !strings.Contains(strings.ToLower(fig.path), "loss") {
				t.Errorf("figure %+v: its path does not name loss", fig)
			}
		}
	})
}
