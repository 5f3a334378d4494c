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
	none.CallQuality("owner", 4.4, 0, 1, 0)
}

// TestCallQuality: each leg's figures land in its histograms, in the
// exported units (seconds), and an unknown round-trip time is not
// observed.
func TestCallQuality(t *testing.T) {
	m := New()
	m.CallQuality("owner", 4.2, 3, 20, 0)
	m.CallQuality("other", 4.4, 0, 5, 40)
	mfs, err := m.Registry().Gather()
	if err != nil {
		t.Fatal(err)
	}
	counts := map[string]uint64{}
	sums := map[string]float64{}
	for _, mf := range mfs {
		for _, mt := range mf.GetMetric() {
			if h := mt.GetHistogram(); h != nil {
				key := mf.GetName() + "/" + mt.GetLabel()[0].GetValue()
				counts[key], sums[key] = h.GetSampleCount(), h.GetSampleSum()
			}
		}
	}
	if counts[MetricCallMOS+"/owner"] != 1 || sums[MetricCallMOS+"/owner"] != 4.2 {
		t.Errorf("owner MOS: %d samples, sum %v", counts[MetricCallMOS+"/owner"], sums[MetricCallMOS+"/owner"])
	}
	if sums[MetricCallJitter+"/owner"] != 0.02 || sums[MetricCallLoss+"/owner"] != 3 {
		t.Errorf("owner jitter %v s, loss %v %%", sums[MetricCallJitter+"/owner"], sums[MetricCallLoss+"/owner"])
	}
	if counts[MetricCallRTT+"/owner"] != 0 || sums[MetricCallRTT+"/other"] != 0.04 {
		t.Errorf("RTT: owner %d samples (want none), other sum %v", counts[MetricCallRTT+"/owner"], sums[MetricCallRTT+"/other"])
	}
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
