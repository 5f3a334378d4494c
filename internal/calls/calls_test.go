package calls

import (
	"context"
	"errors"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/callrec/callrec/internal/blob"
	"github.com/callrec/callrec/internal/callflow"
	"github.com/callrec/callrec/internal/store"
)

func TestRecordingKey(t *testing.T) {
	tests := []struct {
		t    time.Time
		want string
	}{
		{time.Date(2025, 3, 4, 10, 0, 0, 0, time.UTC), "recordings/2025/03/04/abc.wav"},
		// 23:30 in New York on 31 Dec is already 1 January in UTC.
		{time.Date(2024, 12, 31, 23, 30, 0, 0, time.FixedZone("EST", -5*3600)), "recordings/2025/01/01/abc.wav"},
	}
	for _, tc := range tests {
		got := RecordingKey("abc", tc.t)
		if got != tc.want {
			t.Errorf("RecordingKey(%v) = %q, want %q", tc.t, got, tc.want)
		}
		if err := blob.ValidKey(got); err != nil {
			t.Errorf("RecordingKey gave an invalid key: %v", err)
		}
	}
}

func TestStages(t *testing.T) {
	if got := strings.Join(Stages(), " "); got != "transcribe analyze render notify" {
		t.Errorf("Stages() = %q", got)
	}
	s := Stages()
	s[0] = "changed"
	if Stages()[0] != StageTranscribe {
		t.Error("Stages() shares its slice")
	}
	for name, next := range map[string]string{StageTranscribe: StageAnalyze, StageAnalyze: StageRender, StageRender: StageNotify, StageNotify: "", "publish": ""} {
		if got := NextStage(name); got != next {
			t.Errorf("NextStage(%q) = %q, want %q", name, got, next)
		}
	}
	if IsStage("publish") || !IsStage(StageRender) {
		t.Error("IsStage")
	}
	st := []store.Stage{{Name: "zz"}, {Name: StageNotify}, {Name: "aa"}, {Name: StageTranscribe}, {Name: StageRender}}
	SortStages(st)
	var names []string
	for _, s := range st {
		names = append(names, s.Name)
	}
	if got := strings.Join(names, " "); got != "transcribe render notify aa zz" {
		t.Errorf("SortStages: %q", got)
	}
}

func TestKeys(t *testing.T) {
	if got := OutputKey("abc", Transcript); got != "calls/abc/transcript.json" {
		t.Errorf("OutputKey = %q", got)
	}
	if got := MarkerKey("abc", "email"); got != "calls/abc/notified-email.json" {
		t.Errorf("MarkerKey = %q", got)
	}
	if got := PagePath("a b"); got != "/calls/a%20b" {
		t.Errorf("PagePath = %q", got)
	}
	for _, bad := range []string{"", "a/b", "..", ".hidden", "a\x00b"} {
		if CheckID(bad) == nil {
			t.Errorf("CheckID(%q) accepted", bad)
		}
	}
	if err := CheckID("0192c3c4-7d5e-7b1a-9f00-123456789abc"); err != nil {
		t.Errorf("CheckID(uuid) = %v", err)
	}
	for name, want := range map[string]bool{ReportDOCX: true, Transcript: true, "charts.png": true, Words: false, Notification: false, "notified-email.json": false, "": false} {
		if Offered(name) != want {
			t.Errorf("Offered(%q) = %v, want %v", name, !want, want)
		}
	}
}

func TestDuration(t *testing.T) {
	start := time.Date(2026, 3, 3, 10, 0, 0, 0, time.UTC)
	at := func(s int) *time.Time { t := start.Add(time.Duration(s) * time.Second); return &t }
	tests := []struct {
		c    store.Call
		want time.Duration
	}{
		{store.Call{StartedAt: start}, 0},                                               // in progress
		{store.Call{StartedAt: start, EndedAt: at(25)}, 25 * time.Second},               // rang 25 s
		{store.Call{StartedAt: start, AnsweredAt: at(5), EndedAt: at(65)}, time.Minute}, // talked a minute
		{store.Call{StartedAt: start, AnsweredAt: at(5), EndedAt: at(1)}, 0},            // clock skew
	}
	for i, tt := range tests {
		if got := Duration(&tt.c); got != tt.want {
			t.Errorf("%d: Duration = %v, want %v", i, got, tt.want)
		}
	}
}

func newLocal(t *testing.T) *blob.Local {
	t.Helper()
	b, err := blob.NewLocal(filepath.Join(t.TempDir(), "objects"))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func put(t *testing.T, b blob.Store, keys ...string) {
	t.Helper()
	for _, k := range keys {
		if err := b.Put(context.Background(), k, strings.NewReader(k)); err != nil {
			t.Fatal(err)
		}
	}
}

func TestDownloads(t *testing.T) {
	ctx := context.Background()
	b := newLocal(t)
	c := &store.Call{ID: "c1", RecordingKey: "recordings/2026/03/03/c1.wav"}
	put(t, b, c.RecordingKey, OutputKey("c1", Words), OutputKey("c1", Transcript), OutputKey("c1", ReportHTML),
		OutputKey("c1", ReportDOCX), OutputKey("c1", "zeta.png"), OutputKey("c1", "alpha.txt"), OutputKey("c1", Notification))
	stages := []store.Stage{
		{Name: StageTranscribe, State: store.StageDone, Outputs: []string{OutputKey("c1", Words)}},
		{Name: StageAnalyze, State: store.StageDone, OutputKey: OutputKey("c1", Transcript)},
		{Name: StageRender, State: store.StageDone, Outputs: []string{
			OutputKey("c1", ReportDOCX), OutputKey("c1", ReportHTML), OutputKey("c1", ReportPDF), // no PDF was kept
			OutputKey("c1", "zeta.png"), OutputKey("c1", "alpha.txt"), OutputKey("c2", "other.txt"), "../../etc/passwd",
		}},
	}
	ds, err := Downloads(ctx, b, c, stages)
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, d := range ds {
		got = append(got, d.Name+"="+d.Label)
		if d.Size != int64(len(d.Key)) {
			t.Errorf("%s: size %d", d.Name, d.Size)
		}
	}
	want := "report.docx=Report (Word) report.html=Report (web page) recording=Recording (WAV) transcript.json=Transcript (JSON) alpha.txt=alpha.txt zeta.png=zeta.png"
	if strings.Join(got, " ") != want {
		t.Errorf("Downloads:\n got %s\nwant %s", strings.Join(got, " "), want)
	}
	// Without stage records the usual outputs are still found.
	ds, err = Downloads(ctx, b, c, nil)
	if err != nil || len(ds) != 4 {
		t.Errorf("Downloads without records: %v, %v", ds, err)
	}
}

// lister is a blob store that is not local (no LocalPath), so Delete can
// only find objects by listing them.
type lister struct{ blob.Store }

func TestDelete(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	st, err := store.Open(ctx, filepath.Join(dir, "callrec.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	local := newLocal(t)
	b := lister{local}
	now := time.Now().UTC()
	c := &store.Call{ID: "c1", Direction: store.DirectionInbound, OwnerNumber: "+15550111", ServiceNumber: "+15550100",
		StartedAt: now, Status: store.StatusActive, RecordingKey: RecordingKey("c1", now)}
	if err := st.InsertCall(ctx, c); err != nil {
		t.Fatal(err)
	}
	keep := OutputKey("c10", Transcript) // another call whose id starts the same
	put(t, b, c.RecordingKey, OutputKey("c1", Transcript), OutputKey("c1", "charts/talk.png"), MarkerKey("c1", "email"), keep)
	if _, err := Delete(ctx, st, b, c); !errors.Is(err, ErrBusy) {
		t.Errorf("delete of an active call: %v, want ErrBusy", err)
	}
	c.Status = store.StatusCompleted
	c.EndedAt = &now
	if err := st.UpdateCall(ctx, c); err != nil {
		t.Fatal(err)
	}
	if err := st.SaveStage(ctx, &store.Stage{CallID: "c1", Name: StageRender, State: store.StageRunning}); err != nil {
		t.Fatal(err)
	}
	if _, err := Delete(ctx, st, b, c); !errors.Is(err, ErrBusy) || !strings.Contains(err.Error(), "render") {
		t.Errorf("delete with a stage running: %v, want ErrBusy naming the stage", err)
	}
	if err := st.SaveStage(ctx, &store.Stage{CallID: "c1", Name: StageRender, State: store.StageFailed}); err != nil {
		t.Fatal(err)
	}
	n, err := Delete(ctx, st, b, c)
	if err != nil || n != 4 {
		t.Fatalf("Delete = %d, %v; want 4 objects", n, err)
	}
	left, err := b.List(ctx, "")
	if err != nil {
		t.Fatal(err)
	}
	if len(left) != 1 || left[0].Key != keep {
		t.Errorf("objects left: %v, want only %s", left, keep)
	}
	if _, err := st.GetCall(ctx, "c1"); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("call record left: %v", err)
	}
	if recs, _ := st.Stages(ctx, "c1"); len(recs) != 0 {
		t.Errorf("stage records left: %v", recs)
	}
}

func TestStatus(t *testing.T) {
	tests := []struct {
		bridged bool
		outcome string
		want    string
	}{
		{true, "", store.StatusCompleted},
		{true, callflow.OutcomeError, store.StatusCompleted}, // a bridged call is completed whatever came after
		{false, callflow.OutcomeRejectedPIN, store.StatusRejected},
		{false, callflow.OutcomeInvalidNumber, store.StatusRejected},
		{false, callflow.OutcomeDestinationNotAllowed, store.StatusRejected},
		{false, callflow.OutcomeNoDigits, store.StatusRejected},
		{false, callflow.OutcomeUnavailable, store.StatusFailed},
		{false, callflow.OutcomeError, store.StatusFailed},
		{false, callflow.OutcomeBusy, store.StatusUnanswered},
		{false, callflow.OutcomeNoAnswer, store.StatusUnanswered},
		{false, callflow.OutcomeRejected, store.StatusUnanswered},
		{false, "", store.StatusUnanswered}, // the caller hung up first
	}
	for _, tt := range tests {
		if got := Status(tt.bridged, tt.outcome); got != tt.want {
			t.Errorf("Status(%v, %q) = %q, want %q", tt.bridged, tt.outcome, got, tt.want)
		}
	}
}

func TestQualitySummary(t *testing.T) {
	q := store.LegQuality{Leg: "owner", Codec: "PCMU", Encrypted: true, PacketsReceived: 2991, PacketsLost: 9,
		LossPercent: 0.3, JitterMS: 2.14, RTTMS: 38, MOS: 4.41}
	if got, want := QualitySummary(q), "MOS 4.4 (excellent); G.711 µ-law, SRTP; 0.3 % of 3000 packets lost; jitter 2.1 ms; round trip 38 ms"; got != want {
		t.Errorf("QualitySummary = %q, want %q", got, want)
	}
	q = store.LegQuality{Leg: "other", Codec: "G722", PacketsReceived: 100, MOS: 2.2}
	if got, want := QualitySummary(q), "MOS 2.2 (bad); G.722 (wideband); 0 % of 100 packets lost; jitter 0 ms"; got != want {
		t.Errorf("QualitySummary = %q, want %q", got, want)
	}
	if QualityWho(q) != "Other party" {
		t.Errorf("QualityWho(other) = %q", QualityWho(q))
	}
	for mos, want := range map[float64]string{4.5: "excellent", 4.1: "good", 3.7: "fair", 3.2: "poor", 1: "bad"} {
		if got := QualityRating(mos); got != want {
			t.Errorf("QualityRating(%v) = %q, want %q", mos, got, want)
		}
	}
}
