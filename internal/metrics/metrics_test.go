package metrics

import (
	"testing"
	"time"
)

func TestNilMetricsIsANoOp(t *testing.T) {
	// A nil *Metrics is a no-op.
	var none *Metrics
	none.CallEnded("x")
	none.RTP(1, 2, 3)
	none.StageDone("x", time.Second)
	none.StageFailed("x")
	none.SetActiveCalls(nil)
	if none.Registry() != nil {
		t.Error("nil Metrics has a registry")
	}
	none.LoginFailed()
}

func TestMetricsSeparateRegistries(t *testing.T) {
	// Two Metrics must not collide (no global registry).
	a, b := New(), New()
	a.CallEnded("failed")
	mfs, err := b.Registry().Gather()
	if err != nil {
		t.Fatal(err)
	}
	for _, mf := range mfs {
		if mf.GetName() == MetricCalls && len(mf.GetMetric()) != 0 {
			t.Errorf("b sees a's calls: %v", mf)
		}
	}
}
