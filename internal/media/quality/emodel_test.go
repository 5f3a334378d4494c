package quality

import (
	"math"
	"testing"
)

func TestMOSAtKnownPoints(t *testing.T) {
	for _, c := range []struct{ r, mos float64 }{
		{-5, 1}, {0, 1}, {3, 1}, {50, 1 + 1.75 + 7e-6*50*-10*50}, {93.2, 4.409}, {100, 4.5}, {120, 4.5},
	} {
		if got := MOS(c.r); math.Abs(got-c.mos) > 0.001 {
			t.Errorf("MOS(%v) = %v, want %v", c.r, got, c.mos)
		}
	}
}

func TestEModelAtKnownPoints(t *testing.T) {
	for _, c := range []struct {
		name           string
		codec          string
		delayMS, loss  float64
		wantR, wantMOS float64
	}{
		{"no loss no delay", "PCMU", 0, 0, 93.2, 4.41},
		{"5 % loss, G.711 Bpl 4.3", "PCMA", 0, 5, 93.2 - 95*5/(5+4.3), 2.17},
		{"100 ms delay", "PCMU", 100, 0, 93.2 - 2.4, 4.358},
		{"delay past the knee", "PCMU", 277.3, 0, 93.2 - 0.024*277.3 - 11, 3.845},
		{"G.722 on the narrowband scale", "g722", 0, 1, 93.2 - 95*1/(1+4.3), 3.834},
		// The G.107 polynomial dips below 1 for R under about 6.5; MOS
		// stays 1 there.
		{"everything lost", "PCMU", 0, 100, 93.2 - 95*100/104.3, 1},
		{"nonsense inputs clamp", "PCMU", math.NaN(), -3, 93.2, 4.41},
	} {
		r, mos := EModel(c.codec, c.delayMS, c.loss)
		if math.Abs(r-c.wantR) > 1e-9 || math.Abs(mos-c.wantMOS) > 0.01 {
			t.Errorf("%s: R %v MOS %v, want %v %v", c.name, r, mos, c.wantR, c.wantMOS)
		}
	}
	if r, _ := EModel("PCMU", 0, 5); math.Abs(r-42.12) > 0.01 {
		t.Errorf("5 %% loss gives R %v, want about 42.1", r)
	}
}

func TestBucketsAscend(t *testing.T) {
	for name, b := range map[string][]float64{
		"MOS": MOSBuckets(), "jitter": JitterBucketsMS(), "rtt": RTTBucketsMS(), "loss": LossPercentBuckets(),
	} {
		for i := 1; i < len(b); i++ {
			if b[i] <= b[i-1] {
				t.Errorf("%s buckets not ascending at %d: %v", name, i, b)
			}
		}
	}
	MOSBuckets()[0] = 99
	if MOSBuckets()[0] == 99 {
		t.Error("bucket slices are shared")
	}
}
