package web

import (
	"net/http"
	"strings"
	"testing"
	"time"
)

func TestHealth(t *testing.T) {
	f := newFixture(t, "")
	c := f.client()
	resp, body := f.do(c, "GET", "/healthz", nil)
	if resp.StatusCode != http.StatusOK || body != "ok" {
		t.Errorf("healthz: %d %q", resp.StatusCode, body)
	}
	resp, body = f.do(c, "GET", "/readyz", nil)
	if resp.StatusCode != http.StatusOK || body != "ok" {
		t.Errorf("readyz: %d %q", resp.StatusCode, body)
	}
	if err := f.store.Close(); err != nil {
		t.Fatal(err)
	}
	resp, _ = f.do(c, "GET", "/readyz", nil)
	if resp.StatusCode != http.StatusServiceUnavailable {
		t.Errorf("readyz with the store closed: %d, want 503", resp.StatusCode)
	}
	resp, _ = f.do(c, "GET", "/healthz", nil)
	if resp.StatusCode != http.StatusOK {
		t.Errorf("healthz with the store closed: %d, want 200", resp.StatusCode)
	}
}

func TestMetrics(t *testing.T) {
	f := newFixture(t, "")
	m := f.metrics
	m.SetActiveCalls(func() float64 { return 3 })
	m.CallEnded("completed")
	m.CallEnded("completed")
	m.CallEnded("unanswered")
	m.RTP(1000, 7, 990)
	m.StageDone("transcribe", 1500*time.Millisecond)
	m.StageFailed("render")

	resp, body := f.do(f.client(), "GET", "/metrics", nil)
	if resp.StatusCode != http.StatusOK || !strings.HasPrefix(resp.Header.Get("Content-Type"), "text/plain") {
		t.Fatalf("metrics: %d %s", resp.StatusCode, resp.Header.Get("Content-Type"))
	}
	for _, want := range []string{
		"callrec_active_calls 3",
		`callrec_calls_total{status="completed"} 2`,
		`callrec_calls_total{status="unanswered"} 1`,
		"callrec_rtp_packets_received_total 1000",
		"callrec_rtp_packets_lost_total 7",
		"callrec_rtp_packets_sent_total 990",
		`callrec_pipeline_stage_duration_seconds_count{stage="transcribe"} 1`,
		`callrec_pipeline_stage_duration_seconds_sum{stage="transcribe"} 1.5`,
		`callrec_pipeline_stage_failures_total{stage="render"} 1`,
		"callrec_web_login_failures_total 0",
		"go_goroutines",
	} {
		if !strings.Contains(body, want) {
			t.Errorf("metrics lack %q", want)
		}
	}
}
