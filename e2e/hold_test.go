package e2e

// Hold and unhold from the caller's side, with a hand-made dialog.

import (
	"fmt"
	"strings"
	"testing"
	"time"
)

// TestHoldDirections: re-INVITEs putting the call on hold and back are
// answered with the direction RFC 3264 §6.1 asks for: recvonly to
// sendonly, inactive to inactive, sendrecv to sendrecv.
func TestHoldDirections(t *testing.T) {
	t.Parallel()
	cr := startCallrec(t, config{})
	tn := makeTones(t)
	trunk := startTrunk(t, cr, trunkScenario{Tone: tn.owner})
	r := newRawINVITE(t, cr)
	id := r.send("", strangerNum, r.goodSDP())
	code, toTag := r.await(id, 200, 40*time.Second)
	if code != 200 {
		t.Fatalf("the stranger's call was not answered (%d)", code)
	}
	for i, tt := range []struct{ offer, answer string }{
		{"sendonly", "recvonly"}, {"inactive", "inactive"}, {"sendrecv", "sendrecv"},
	} {
		sdp := strings.Replace(r.goodSDP(), "o=- 1 1 ", fmt.Sprintf("o=- 1 %d ", i+2), 1) + "a=" + tt.offer + "\r\n"
		cseq := i + 2
		msg := strings.Replace(r.head("INVITE", id, "", strangerNum, "INVITE", toTag), "CSeq: 1 INVITE", fmt.Sprintf("CSeq: %d INVITE", cseq), 1)
		msg = strings.Replace(msg, "-INVITE;rport", fmt.Sprintf("-reinvite%d;rport", cseq), 1)
		msg += "Content-Type: application/sdp\r\n" + fmt.Sprintf("Content-Length: %d\r\n\r\n", len(sdp)) + sdp
		if _, err := r.c.WriteTo([]byte(msg), r.to); err != nil {
			t.Fatal(err)
		}
		answer := r.awaitBody(id, fmt.Sprintf("%d INVITE", cseq), 10*time.Second)
		var dirs []string
		for _, line := range strings.Split(answer, "\n") {
			switch line = strings.TrimSpace(line); line {
			case "a=sendrecv", "a=sendonly", "a=recvonly", "a=inactive":
				dirs = append(dirs, line)
			}
		}
		if len(dirs) != 1 || dirs[0] != "a="+tt.answer {
			t.Errorf("answer to a %s re-INVITE:\n%s\nwant a=%s", tt.offer, answer, tt.answer)
		}
	}
	bye := strings.Replace(r.head("BYE", id, "", strangerNum, "BYE", toTag), "CSeq: 1 BYE", "CSeq: 9 BYE", 1) + "Content-Length: 0\r\n\r\n"
	if _, err := r.c.WriteTo([]byte(bye), r.to); err != nil {
		t.Fatal(err)
	}
	trunk.mustPass(20 * time.Second)
	cr.alive()
}
