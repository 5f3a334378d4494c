package store

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"
)

func openTest(t *testing.T) *Store {
	t.Helper()
	s, err := Open(context.Background(), filepath.Join(t.TempDir(), "sub", "dir", "callrec.db"))
	if err != nil {
		t.Fatalf("Open: %v", err)
	}
	t.Cleanup(func() {
		if err := s.Close(); err != nil {
			t.Errorf("Close: %v", err)
		}
	})
	return s
}

func ptr[T any](v T) *T { return &v }

// base is the start time of test calls: a non-UTC zone and sub-millisecond
// digits, which the store must normalise.
var base = time.Date(2025, 3, 14, 9, 26, 53, 589_793_238, time.FixedZone("EST", -5*3600))

func newCall(id string, startOffset time.Duration) *Call {
	return &Call{
		ID:            id,
		Direction:     DirectionOutbound,
		OwnerNumber:   "+15550100001",
		Party:         "+15550199999",
		ServiceNumber: "+15550100000",
		StartedAt:     base.Add(startOffset),
		Status:        StatusActive,
	}
}

func TestOpenMigrates(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "a?b#c %d", "callrec.db") // characters that need escaping in a URI
	ctx := context.Background()
	s, err := Open(ctx, path)
	if err != nil {
		t.Fatalf("Open: %v", err)
	}
	var version int
	if err := s.DB().QueryRowContext(ctx, `SELECT MAX(version) FROM schema_migrations`).Scan(&version); err != nil {
		t.Fatal(err)
	}
	if version != len(migrations()) {
		t.Errorf("schema version = %d, want %d", version, len(migrations()))
	}
	var mode string
	if err := s.DB().QueryRowContext(ctx, `PRAGMA journal_mode`).Scan(&mode); err != nil {
		t.Fatal(err)
	}
	if !strings.EqualFold(mode, "wal") {
		t.Errorf("journal_mode = %q, want wal", mode)
	}
	var fk, busy int
	if err := s.r.QueryRowContext(ctx, `PRAGMA foreign_keys`).Scan(&fk); err != nil {
		t.Fatal(err)
	}
	if err := s.r.QueryRowContext(ctx, `PRAGMA busy_timeout`).Scan(&busy); err != nil {
		t.Fatal(err)
	}
	if fk != 1 || busy != busyTimeoutMS {
		t.Errorf("foreign_keys = %d, busy_timeout = %d", fk, busy)
	}
	if err := s.InsertCall(ctx, newCall("c1", 0)); err != nil {
		t.Fatal(err)
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}

	// Reopening runs nothing again and keeps the data.
	s, err = Open(ctx, path)
	if err != nil {
		t.Fatalf("reopen: %v", err)
	}
	defer s.Close()
	var n int
	if err := s.DB().QueryRowContext(ctx, `SELECT COUNT(*) FROM schema_migrations`).Scan(&n); err != nil {
		t.Fatal(err)
	}
	if n != len(migrations()) {
		t.Errorf("%d schema_migrations rows, want %d", n, len(migrations()))
	}
	if _, err := s.GetCall(ctx, "c1"); err != nil {
		t.Errorf("GetCall after reopen: %v", err)
	}
}

func TestOpenRejectsMemory(t *testing.T) {
	for _, p := range []string{"", ":memory:"} {
		if s, err := Open(context.Background(), p); err == nil {
			s.Close()
			t.Errorf("Open(%q) succeeded, want error", p)
		}
	}
}

func TestMigrateAddsLaterSteps(t *testing.T) {
	ctx := context.Background()
	s := openTest(t)
	steps := append(migrations(), `CREATE TABLE jobs (id INTEGER PRIMARY KEY, call_id TEXT NOT NULL REFERENCES calls (id))`)
	if err := migrate(ctx, s.DB(), steps, s.q); err != nil {
		t.Fatalf("migrate with a new step: %v", err)
	}
	if _, err := s.DB().ExecContext(ctx, `INSERT INTO jobs (call_id) VALUES ('nope')`); err == nil {
		t.Error("foreign key not enforced")
	}
	// Running the same steps again is a no-op.
	if err := migrate(ctx, s.DB(), steps, s.q); err != nil {
		t.Fatalf("migrate again: %v", err)
	}
	// An older program refuses a newer schema.
	err := migrate(ctx, s.DB(), migrations(), s.q)
	if err == nil || !strings.Contains(err.Error(), "newer") {
		t.Errorf("migrate with fewer steps = %v, want a 'newer' error", err)
	}
	// A failing step leaves no trace.
	bad := append(steps, `CREATE TABLE x (a); THIS IS NOT SQL`)
	if err := migrate(ctx, s.DB(), bad, s.q); err == nil {
		t.Fatal("migrate with bad SQL succeeded")
	}
	var n int
	if err := s.DB().QueryRowContext(ctx, `SELECT COUNT(*) FROM sqlite_master WHERE name = 'x'`).Scan(&n); err != nil {
		t.Fatal(err)
	}
	if n != 0 {
		t.Error("a failed migration left its table behind")
	}
}

func TestCallRoundTrip(t *testing.T) {
	ctx := context.Background()
	s := openTest(t)

	c := newCall("call-1", 0)
	if err := s.InsertCall(ctx, c); err != nil {
		t.Fatalf("InsertCall: %v", err)
	}
	if c.RecordingState != RecordingNone || c.Pauses == nil || c.UpdatedAt.IsZero() {
		t.Errorf("InsertCall did not fill defaults: %+v", c)
	}
	got, err := s.GetCall(ctx, "call-1")
	if err != nil {
		t.Fatalf("GetCall: %v", err)
	}
	want := *c
	want.StartedAt = base.Truncate(time.Millisecond).UTC()
	if !reflect.DeepEqual(*got, want) {
		t.Errorf("GetCall =\n%+v\nwant\n%+v", *got, want)
	}

	// A full update, every field changed.
	c.Direction = DirectionInbound
	c.OwnerNumber = "+15550100002"
	c.Party = "+442071234567"
	c.ServiceNumber = "+15550100003"
	c.StartedAt = base.Add(-time.Second)
	c.AnsweredAt = ptr(base.Add(2*time.Second + 123456789))
	c.EndedAt = ptr(base.Add(time.Minute).In(time.Local))
	c.Status = StatusCompleted
	c.HangupCause = "normal clearing"
	c.SIPStatus = 200
	c.RecordingState = RecordingComplete
	c.RecordingKey = "recordings/2025/03/14/call-1.wav"
	c.RecordingDurationMS = 57_001
	c.Pauses = []Span{
		{Start: base.Add(10*time.Second + 1), End: ptr(base.Add(20*time.Second + 999999))},
		{Start: base.Add(30 * time.Second)},
	}
	c.RecordingFile = "ignored"
	before := c.UpdatedAt
	if err := s.UpdateCall(ctx, c); err != nil {
		t.Fatalf("UpdateCall: %v", err)
	}
	if c.UpdatedAt.Before(before) {
		t.Errorf("UpdatedAt went back: %v -> %v", before, c.UpdatedAt)
	}
	got, err = s.GetCall(ctx, "call-1")
	if err != nil {
		t.Fatalf("GetCall: %v", err)
	}
	ms := func(t time.Time) time.Time { return t.Truncate(time.Millisecond).UTC() }
	want = *c
	want.StartedAt = ms(c.StartedAt)
	want.AnsweredAt = ptr(ms(*c.AnsweredAt))
	want.EndedAt = ptr(ms(*c.EndedAt))
	want.Pauses = []Span{
		{Start: ms(c.Pauses[0].Start), End: ptr(ms(*c.Pauses[0].End))},
		{Start: ms(c.Pauses[1].Start)},
	}
	want.RecordingFile = ""
	if !reflect.DeepEqual(*got, want) {
		t.Errorf("after update GetCall =\n%+v\nwant\n%+v", *got, want)
	}
	for _, tm := range []time.Time{got.StartedAt, *got.AnsweredAt, *got.EndedAt, got.UpdatedAt, got.Pauses[0].Start} {
		if tm.Location() != time.UTC {
			t.Errorf("time %v is not in UTC", tm)
		}
	}
}

func TestNotFound(t *testing.T) {
	ctx := context.Background()
	s := openTest(t)
	if _, err := s.GetCall(ctx, "nope"); !errors.Is(err, ErrNotFound) {
		t.Errorf("GetCall(missing) = %v, want ErrNotFound", err)
	}
	err := s.UpdateCall(ctx, newCall("nope", 0))
	if !errors.Is(err, ErrNotFound) || !strings.Contains(err.Error(), "nope") {
		t.Errorf("UpdateCall(missing) = %v, want ErrNotFound naming the id", err)
	}
}

func TestInsertInvalid(t *testing.T) {
	ctx := context.Background()
	s := openTest(t)
	tests := []struct {
		name   string
		modify func(*Call)
		want   string
	}{
		{"no id", func(c *Call) { c.ID = "" }, "id"},
		{"direction", func(c *Call) { c.Direction = "sideways" }, "direction"},
		{"status", func(c *Call) { c.Status = "" }, "status"},
		{"recording state", func(c *Call) { c.RecordingState = "loud" }, "recording state"},
		{"start", func(c *Call) { c.StartedAt = time.Time{} }, "started_at"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			c := newCall("x", 0)
			tc.modify(c)
			if err := s.InsertCall(ctx, c); err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("InsertCall = %v, want error about %s", err, tc.want)
			}
			if err := s.UpdateCall(ctx, c); err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("UpdateCall = %v, want error about %s", err, tc.want)
			}
		})
	}
	if err := s.InsertCall(ctx, newCall("dup", 0)); err != nil {
		t.Fatal(err)
	}
	if err := s.InsertCall(ctx, newCall("dup", 0)); err == nil {
		t.Error("inserting a duplicate id succeeded")
	}
}

func TestListCalls(t *testing.T) {
	ctx := context.Background()
	s := openTest(t)
	parties := []string{"+15550001111", "+442071234567", "+15550002222", "+4420_%x", "+15550001111"}
	for i, p := range parties {
		c := newCall(fmt.Sprintf("c%d", i), time.Duration(i)*time.Minute)
		c.Party = p
		if i%2 == 1 {
			c.Direction = DirectionInbound
		}
		if err := s.InsertCall(ctx, c); err != nil {
			t.Fatal(err)
		}
	}
	tests := []struct {
		name string
		opts ListOptions
		want []string
	}{
		{"all newest first", ListOptions{}, []string{"c4", "c3", "c2", "c1", "c0"}},
		{"limit", ListOptions{Limit: 2}, []string{"c4", "c3"}},
		{"offset", ListOptions{Limit: 2, Offset: 3}, []string{"c1", "c0"}},
		{"past the end", ListOptions{Offset: 10}, []string{}},
		{"party substring", ListOptions{Party: "0001111"}, []string{"c4", "c0"}},
		{"party prefix", ListOptions{Party: "+44"}, []string{"c3", "c1"}},
		{"party wildcard is literal", ListOptions{Party: "_%"}, []string{"c3"}},
		{"party percent matches nothing else", ListOptions{Party: "%"}, []string{"c3"}},
		{"inbound", ListOptions{Direction: DirectionInbound}, []string{"c3", "c1"}},
		{"outbound and party", ListOptions{Direction: DirectionOutbound, Party: "+1555"}, []string{"c4", "c2", "c0"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			calls, err := s.ListCalls(ctx, tc.opts)
			if err != nil {
				t.Fatal(err)
			}
			got := []string{}
			for _, c := range calls {
				got = append(got, c.ID)
			}
			if !reflect.DeepEqual(got, tc.want) {
				t.Errorf("ListCalls(%+v) = %v, want %v", tc.opts, got, tc.want)
			}
		})
	}
	for _, opts := range []ListOptions{{Limit: -1}, {Offset: -1}, {Direction: "up"}} {
		if _, err := s.ListCalls(ctx, opts); err == nil {
			t.Errorf("ListCalls(%+v) succeeded, want error", opts)
		}
	}
}

func TestActiveCalls(t *testing.T) {
	ctx := context.Background()
	s := openTest(t)
	statuses := []string{StatusActive, StatusCompleted, StatusActive, StatusFailed}
	for i, st := range statuses {
		c := newCall(fmt.Sprintf("c%d", i), -time.Duration(i)*time.Minute)
		c.Status = st
		if err := s.InsertCall(ctx, c); err != nil {
			t.Fatal(err)
		}
	}
	active, err := s.ActiveCalls(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if len(active) != 2 || active[0].ID != "c2" || active[1].ID != "c0" {
		t.Fatalf("ActiveCalls = %+v, want c2, c0", active)
	}
	// Start-up recovery: mark them interrupted.
	for i := range active {
		active[i].Status = StatusInterrupted
		if err := s.UpdateCall(ctx, &active[i]); err != nil {
			t.Fatal(err)
		}
	}
	if active, err = s.ActiveCalls(ctx); err != nil || len(active) != 0 {
		t.Errorf("ActiveCalls after recovery = %v, %v", active, err)
	}
}

func TestCallJSON(t *testing.T) {
	c := Call{
		ID: "x", Direction: DirectionInbound, StartedAt: time.Date(2025, 1, 2, 3, 4, 5, 6_000_000, time.UTC),
		Status: StatusActive, RecordingState: RecordingPaused,
		Pauses: []Span{{Start: time.Date(2025, 1, 2, 3, 4, 6, 0, time.UTC)}},
	}
	b, err := json.Marshal(c)
	if err != nil {
		t.Fatal(err)
	}
	var m map[string]any
	if err := json.Unmarshal(b, &m); err != nil {
		t.Fatal(err)
	}
	for _, k := range []string{"id", "direction", "owner_number", "party", "service_number", "started_at",
		"answered_at", "ended_at", "status", "hangup_cause", "recording_state", "recording_key",
		"recording_duration_ms", "pauses", "recording_file", "updated_at"} {
		if _, ok := m[k]; !ok {
			t.Errorf("JSON lacks %q: %s", k, b)
		}
	}
	if _, ok := m["sip_status"]; ok {
		t.Errorf("JSON has sip_status 0: %s", b)
	}
	if m["answered_at"] != nil || m["ended_at"] != nil {
		t.Errorf("unanswered call's times are not null: %s", b)
	}
	if !strings.Contains(string(b), `"pauses":[{"start":"2025-01-02T03:04:06Z"}]`) {
		t.Errorf("pauses JSON: %s", b)
	}
}

// TestConcurrentWrites has 50 goroutines insert and update calls while
// others read, through two Stores on the same file (as serve and a CLI
// command would), and expects no "database is locked" errors.
func TestConcurrentWrites(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "callrec.db")
	s1, err := Open(ctx, path)
	if err != nil {
		t.Fatal(err)
	}
	defer s1.Close()
	s2, err := Open(ctx, path)
	if err != nil {
		t.Fatal(err)
	}
	defer s2.Close()

	const workers, updates = 50, 20
	var wg sync.WaitGroup
	errs := make(chan error, workers*2)
	for w := range workers {
		st := s1
		if w%5 == 0 {
			st = s2
		}
		wg.Go(func() {
			c := newCall(fmt.Sprintf("w%02d", w), time.Duration(w)*time.Second)
			if err := st.InsertCall(ctx, c); err != nil {
				errs <- err
				return
			}
			for i := range updates {
				c.RecordingDurationMS = int64(i)
				c.Pauses = append(c.Pauses, Span{Start: base.Add(time.Duration(i) * time.Second)})
				if i == updates-1 {
					c.Status = StatusCompleted
					c.EndedAt = ptr(base.Add(time.Hour))
				}
				if err := st.UpdateCall(ctx, c); err != nil {
					errs <- err
					return
				}
			}
		})
		wg.Go(func() {
			for range 5 {
				if _, err := st.ListCalls(ctx, ListOptions{Limit: 20}); err != nil {
					errs <- err
					return
				}
				if _, err := st.ActiveCalls(ctx); err != nil {
					errs <- err
					return
				}
			}
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
	calls, err := s1.ListCalls(ctx, ListOptions{Limit: MaxListLimit})
	if err != nil {
		t.Fatal(err)
	}
	if len(calls) != workers {
		t.Fatalf("%d calls stored, want %d", len(calls), workers)
	}
	for _, c := range calls {
		if c.Status != StatusCompleted || c.RecordingDurationMS != updates-1 || len(c.Pauses) != updates {
			t.Errorf("call %s: status %s, duration %d, %d pauses", c.ID, c.Status, c.RecordingDurationMS, len(c.Pauses))
		}
	}
}

func TestContextCancelled(t *testing.T) {
	s := openTest(t)
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if err := s.InsertCall(ctx, newCall("x", 0)); !errors.Is(err, context.Canceled) {
		t.Errorf("InsertCall(cancelled) = %v", err)
	}
	if _, err := s.GetCall(ctx, "x"); !errors.Is(err, context.Canceled) && !errors.Is(err, sql.ErrConnDone) {
		t.Errorf("GetCall(cancelled) = %v", err)
	}
}

func TestSettings(t *testing.T) { testSettings(t, openTest(t)) }

func TestSettingsPostgres(t *testing.T) {
	st, err := OpenPostgres(context.Background(), postgresURL(t))
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	testSettings(t, st)
}

func testSettings(t *testing.T, st *Store) {
	{
		ctx := context.Background()
		if _, ok, err := st.Setting(ctx, "k"); ok || err != nil {
			t.Fatalf("unset setting: %v %v", ok, err)
		}
		if err := st.SetSetting(ctx, "k", "one"); err != nil {
			t.Fatal(err)
		}
		if err := st.SetSetting(ctx, "k", "two"); err != nil {
			t.Fatal(err)
		}
		if v, ok, err := st.Setting(ctx, "k"); v != "two" || !ok || err != nil {
			t.Errorf("Setting = %q %v %v, want two", v, ok, err)
		}
		if ok, err := st.DeleteSettingIf(ctx, "k", "one"); ok || err != nil {
			t.Errorf("DeleteSettingIf with a stale value = %v %v", ok, err)
		}
		if ok, err := st.DeleteSettingIf(ctx, "k", "two"); !ok || err != nil {
			t.Errorf("DeleteSettingIf = %v %v", ok, err)
		}
		if ok, err := st.DeleteSettingIf(ctx, "k", "two"); ok || err != nil {
			t.Errorf("second DeleteSettingIf = %v %v, want false", ok, err)
		}
		if _, ok, _ := st.Setting(ctx, "k"); ok {
			t.Error("setting still there")
		}
	}
}

func TestStatusFilterAndCount(t *testing.T) {
	s := openTest(t)
	ctx := context.Background()
	statuses := []string{StatusCompleted, StatusRejected, StatusFailed, StatusCompleted, StatusUnanswered}
	for i, st := range statuses {
		c := newCall(fmt.Sprintf("c%d", i), time.Duration(i)*time.Minute)
		c.Status = st
		if err := s.InsertCall(ctx, c); err != nil {
			t.Fatal(err)
		}
	}
	for _, tt := range []struct {
		opts ListOptions
		want int
	}{
		{ListOptions{}, 5},
		{ListOptions{Statuses: []string{StatusCompleted}}, 2},
		{ListOptions{Statuses: []string{StatusCompleted, StatusUnanswered}}, 3},
		{ListOptions{Statuses: []string{StatusActive}}, 0},
	} {
		n, err := s.CountCalls(ctx, tt.opts)
		if err != nil || n != tt.want {
			t.Errorf("CountCalls(%v) = %d, %v; want %d", tt.opts.Statuses, n, err, tt.want)
		}
		list, err := s.ListCalls(ctx, tt.opts)
		if err != nil || len(list) != tt.want {
			t.Errorf("ListCalls(%v): %d, %v; want %d", tt.opts.Statuses, len(list), err, tt.want)
		}
		for _, c := range list {
			if len(tt.opts.Statuses) > 0 && !slices.Contains(tt.opts.Statuses, c.Status) {
				t.Errorf("ListCalls(%v) gave a %s call", tt.opts.Statuses, c.Status)
			}
		}
	}
	if _, err := s.CountCalls(ctx, ListOptions{Statuses: []string{"gone"}}); err == nil {
		t.Error("an unknown status was accepted")
	}
	// Started between minutes 1 and 3: c1 and c2.
	dated := ListOptions{StartedFrom: base.Add(time.Minute), StartedBefore: base.Add(3 * time.Minute)}
	if n, err := s.CountCalls(ctx, dated); err != nil || n != 2 {
		t.Errorf("CountCalls(dates) = %d, %v; want 2", n, err)
	}
	if list, err := s.ListCalls(ctx, dated); err != nil || len(list) != 2 || list[0].ID != "c2" || list[1].ID != "c1" {
		t.Errorf("ListCalls(dates) = %v, %v", list, err)
	}
	// Stages by state.
	for i, st := range []string{StageRetry, StageFailed, StageDone} {
		if err := s.SaveStage(ctx, &Stage{CallID: fmt.Sprintf("c%d", i), Name: "notify", State: st}); err != nil {
			t.Fatal(err)
		}
	}
	if n, err := s.CountStages(ctx, "notify", StageRetry, StageFailed); err != nil || n != 2 {
		t.Errorf("CountStages = %d, %v; want 2", n, err)
	}
}

func TestPartyRawAndName(t *testing.T) {
	s := openTest(t)
	ctx := context.Background()
	c := newCall("raw", 0)
	c.Party, c.PartyRaw, c.PartyName = "", "'; DROP TABLE calls; --", "Jane Doe"
	if err := s.InsertCall(ctx, c); err != nil {
		t.Fatal(err)
	}
	got, err := s.GetCall(ctx, "raw")
	if err != nil || got.Party != "" || got.PartyRaw != c.PartyRaw || got.PartyName != "Jane Doe" {
		t.Errorf("round trip: %+v, %v", got, err)
	}
}

func TestSaveCallInsertsWhenMissing(t *testing.T) {
	s := openTest(t)
	ctx := context.Background()
	c := newCall("late", 0)
	c.Status, c.RecordingState = StatusCompleted, RecordingTruncated
	ended := c.StartedAt.Add(time.Minute)
	c.EndedAt = &ended
	if err := s.WithTx(ctx, func(tx *Tx) error { return s.SaveCallTx(ctx, tx, c) }); err != nil {
		t.Fatalf("SaveCallTx of a call never inserted: %v", err)
	}
	got, err := s.GetCall(ctx, "late")
	if err != nil || got.Status != StatusCompleted || got.RecordingState != RecordingTruncated {
		t.Fatalf("after SaveCallTx: %+v, %v", got, err)
	}
	c.HangupCause = "owner hung up"
	if err := s.SaveCall(ctx, c); err != nil {
		t.Fatal(err)
	}
	if got, _ := s.GetCall(ctx, "late"); got.HangupCause != "owner hung up" {
		t.Errorf("SaveCall did not update: %+v", got)
	}
}

// TestRecordingStates: every recording state is accepted and kept,
// including the stored-but-cut-short ones an email has to mention.
func TestRecordingStates(t *testing.T) {
	ctx := context.Background()
	s := openTest(t)
	for i, state := range []string{RecordingNone, RecordingInProgress, RecordingPaused, RecordingStopped,
		RecordingComplete, RecordingPartial, RecordingTruncated} {
		c := newCall(state, time.Duration(i)*time.Second)
		c.RecordingState = state
		if err := s.InsertCall(ctx, c); err != nil {
			t.Fatalf("InsertCall with recording state %q: %v", state, err)
		}
		got, err := s.GetCall(ctx, c.ID)
		if err != nil {
			t.Fatal(err)
		}
		if got.RecordingState != state {
			t.Errorf("recording state %q read back as %q", state, got.RecordingState)
		}
	}
}

// TestStageNextAttempt: a stage waiting for a retry keeps when it is tried
// next; a later record without one clears it.
func TestStageNextAttempt(t *testing.T) {
	testStageNextAttempt(t, openTest(t))
}

func testStageNextAttempt(t *testing.T, s *Store) {
	t.Helper()
	ctx := context.Background()
	next := base.Add(90 * time.Second).Truncate(time.Millisecond) // the store keeps milliseconds
	st := &Stage{CallID: "na-1", Name: "notify", State: StageRetry, Attempts: 2, LastError: "connection refused", NextAttemptAt: &next}
	if err := s.SaveStage(ctx, st); err != nil {
		t.Fatal(err)
	}
	got, err := s.Stage(ctx, "na-1", "notify")
	if err != nil {
		t.Fatal(err)
	}
	if got.NextAttemptAt == nil || !got.NextAttemptAt.Equal(next) || got.State != StageRetry || got.LastError != "connection refused" {
		t.Errorf("stage read back %+v, want next attempt at %s", got, next)
	}
	st.State, st.LastError, st.NextAttemptAt = StageDone, "", nil
	if err := s.SaveStage(ctx, st); err != nil {
		t.Fatal(err)
	}
	if got, err := s.Stage(ctx, "na-1", "notify"); err != nil || got.NextAttemptAt != nil {
		t.Errorf("done stage %+v (%v), want no next attempt", got, err)
	}
}

// TestQualityRoundTrip: each leg's quality figures are kept with the
// call, and a call without them reads back with none.
func TestQualityRoundTrip(t *testing.T) {
	s := openTest(t)
	ctx := context.Background()
	c := newCall("q", 0)
	c.Quality = []LegQuality{
		{Leg: "owner", Codec: "G722", Encrypted: true, PacketsReceived: 2990, PacketsLost: 10, LossPercent: 0.33,
			JitterMS: 4.5, MaxJitterMS: 12, RTTMS: 38, RFactor: 90.1, MOS: 4.3},
		{Leg: "other", Codec: "PCMU", PacketsReceived: 3000, RFactor: 93.2, MOS: 4.41},
	}
	if err := s.InsertCall(ctx, c); err != nil {
		t.Fatal(err)
	}
	got, err := s.GetCall(ctx, "q")
	if err != nil {
		t.Fatal(err)
	}
	if len(got.Quality) != 2 || got.Quality[0] != c.Quality[0] || got.Quality[1] != c.Quality[1] {
		t.Fatalf("quality read back as %+v, want %+v", got.Quality, c.Quality)
	}
	plain := newCall("plain", time.Second)
	if err := s.InsertCall(ctx, plain); err != nil {
		t.Fatal(err)
	}
	if got, _ := s.GetCall(ctx, "plain"); got.Quality != nil {
		t.Fatalf("a call without media has quality %+v", got.Quality)
	}
}
