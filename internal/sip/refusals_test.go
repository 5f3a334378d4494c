package sip

import (
	"fmt"
	"log/slog"
	"net/netip"
	"testing"
	"time"
)

// TestRefusalsSummary: refusals go to the metrics one by one and to the
// log as a summary per flush: a line per source for the busiest
// summaryTopSources (most refused first, with counts by reason), one line
// for the rest, nothing when there was nothing; each flush starts afresh.
func TestRefusalsSummary(t *testing.T) {
	m := newCountingMetrics()
	rec := newRecordHandler()
	r := newRefusals(slog.New(rec), m, time.Minute)
	r.flush()
	if n := len(rec.all()); n != 0 {
		t.Fatalf("%d lines for an empty interval, want none", n)
	}

	busiest := netip.MustParseAddr("198.51.100.1")
	for range 50 {
		r.add(busiest, reasonUntrusted)
	}
	r.add(busiest, reasonBadExtension)
	for i := range summaryTopSources + 5 {
		a := netip.AddrFrom4([4]byte{203, 0, 113, byte(i + 1)})
		for range 20 - i {
			r.add(a, reasonBusy)
		}
	}
	r.add(netip.Addr{}, reasonMalformed) // no source: metrics only
	r.flush()

	got := rec.all()
	if len(got) != summaryTopSources+1 {
		t.Fatalf("%d lines, want %d (the busiest sources, then the rest)", len(got), summaryTopSources+1)
	}
	first := got[0]
	if first.Level != slog.LevelWarn || first.Message != "SIP requests refused" || attr(first, "source") != busiest.String() ||
		attr(first, "count") != "51" || attr(first, "reasons") != "bad_extension=1 untrusted_source=50" {
		t.Errorf("first line: %s %q source=%s count=%s reasons=%q", first.Level, first.Message, attr(first, "source"), attr(first, "count"), attr(first, "reasons"))
	}
	for i, line := range got[1:summaryTopSources] {
		wantSrc := fmt.Sprintf("203.0.113.%d", i+1)
		if attr(line, "source") != wantSrc || attr(line, "count") != fmt.Sprint(20-i) {
			t.Errorf("line %d: source %s count %s, want %s %d", i+1, attr(line, "source"), attr(line, "count"), wantSrc, 20-i)
		}
	}
	last := got[summaryTopSources]
	// Sources 203.0.113.10 to .15 refused 11 down to 6 times: 51 in all.
	if last.Message != "SIP requests refused from further sources" || attr(last, "sources") != "6" || attr(last, "count") != "51" ||
		attr(last, "reasons") != "busy=51" {
		t.Errorf("last line: %q sources=%s count=%s reasons=%q", last.Message, attr(last, "sources"), attr(last, "count"), attr(last, "reasons"))
	}
	if n := m.count(reasonMalformed); n != 1 {
		t.Errorf("malformed counted %d times, want 1", n)
	}
	if n := m.count(reasonBusy); n != 20+19+18+17+16+15+14+13+12+11+10+9+8+7+6 {
		t.Errorf("busy counted %d times", n)
	}

	r.flush()
	if n := len(rec.all()); n != summaryTopSources+1 {
		t.Errorf("a second flush with nothing new logged %d more lines", n-summaryTopSources-1)
	}
}

// TestRefusalsBounded: past maxTrackedSources distinct sources in an
// interval, further ones are counted together, so a spoofed flood cannot
// grow the table.
func TestRefusalsBounded(t *testing.T) {
	rec := newRecordHandler()
	r := newRefusals(slog.New(rec), nil, time.Minute)
	for i := range maxTrackedSources + 100 {
		r.add(netip.AddrFrom4([4]byte{10, byte(i >> 16), byte(i >> 8), byte(i)}), reasonUntrusted)
	}
	if n := len(r.bySource); n != maxTrackedSources {
		t.Errorf("%d sources tracked, want at most %d", n, maxTrackedSources)
	}
	r.flush()
	got := rec.all()
	last := got[len(got)-1]
	if attr(last, "untracked_sources") != "true" || attr(last, "count") != fmt.Sprint(maxTrackedSources+100-summaryTopSources) {
		t.Errorf("last line: untracked_sources=%s count=%s", attr(last, "untracked_sources"), attr(last, "count"))
	}
}
