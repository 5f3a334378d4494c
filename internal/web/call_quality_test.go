package web

import (
	"html"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/callrec/callrec/internal/store"
)

// TestCallPageQuality: a call with quality figures shows a "Call quality"
// card with each leg's line; a call without none.
func TestCallPageQuality(t *testing.T) {
	f := newFixture(t, "")
	c := f.seedCall("q1", "+12125550123", f.clock.Now().Add(-time.Hour))
	f.seedCall("q2", "+12125550124", f.clock.Now().Add(-2*time.Hour))
	c.Quality = []store.LegQuality{
		{Leg: "owner", Codec: "G722", Encrypted: true, PacketsReceived: 2970, PacketsLost: 30, LossPercent: 1, JitterMS: 12.5, RTTMS: 80, MOS: 3.9},
		{Leg: "other", Codec: "PCMU", PacketsReceived: 3000, MOS: 4.41},
	}
	if err := f.store.UpdateCall(t.Context(), c); err != nil {
		t.Fatal(err)
	}
	cl := f.client()
	f.login(cl)
	page := func(id string) string {
		t.Helper()
		resp, body := f.do(cl, "GET", "/calls/"+id, nil)
		if resp.StatusCode != http.StatusOK {
			t.Fatalf("status %d", resp.StatusCode)
		}
		return html.UnescapeString(body)
	}
	body := page("q1")
	for _, want := range []string{
		"Call quality",
		"MOS 3.9 (fair); G.722 (wideband), SRTP; 1 % of 3000 packets lost; jitter 12.5 ms; round trip 80 ms",
		"MOS 4.4 (excellent); G.711 µ-law; 0 % of 3000 packets lost; jitter 0 ms",
	} {
		if !strings.Contains(body, want) {
			t.Errorf("call page lacks %q", want)
		}
	}
	if strings.Contains(page("q2"), "Call quality") {
		t.Error("a call without quality figures shows a Call quality card")
	}
}
