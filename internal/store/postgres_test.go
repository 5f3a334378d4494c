package store

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
)

// postgresURL returns a URL to a fresh schema on the PostgreSQL server named
// by TEST_POSTGRES_URL (CI starts one on loopback). Without it the
// test skips, except on CI, where it fails.
func postgresURL(t *testing.T) string {
	t.Helper()
	base := os.Getenv("TEST_POSTGRES_URL")
	if base == "" {
		if os.Getenv("CI") == "true" {
			t.Fatal("TEST_POSTGRES_URL is not set on CI")
		}
		t.Skip("TEST_POSTGRES_URL not set: no PostgreSQL to test against")
	}
	ctx := context.Background()
	conn, err := pgx.Connect(ctx, base)
	if err != nil {
		t.Fatalf("connect %s: %v", base, err)
	}
	defer conn.Close(ctx)
	schema := fmt.Sprintf("callrec_test_%d", rand.Uint32())
	if _, err := conn.Exec(ctx, "CREATE SCHEMA "+schema); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		c, err := pgx.Connect(context.Background(), base)
		if err == nil {
			c.Exec(context.Background(), "DROP SCHEMA "+schema+" CASCADE")
			c.Close(context.Background())
		}
	})
	sep := "?"
	if strings.Contains(base, "?") {
		sep = "&"
	}
	return base + sep + "search_path=" + schema
}

// TestPostgres runs the store's operations on PostgreSQL: the same schema
// and queries as SQLite, placeholders rewritten.
func TestPostgres(t *testing.T) {
	url := postgresURL(t)
	ctx := context.Background()
	s, err := OpenPostgres(ctx, url)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	// A second node opening the same database migrates nothing twice.
	s2, err := OpenPostgres(ctx, url)
	if err != nil {
		t.Fatal(err)
	}
	s2.Close()

	start := time.Date(2026, 3, 14, 9, 26, 53, 589_000_000, time.UTC)
	c := &Call{ID: "pg-1", Direction: DirectionOutbound, OwnerNumber: "+15550111", Party: "+12125550123",
		ServiceNumber: "+15550100", StartedAt: start, Status: StatusActive}
	if err := s.InsertCall(ctx, c); err != nil {
		t.Fatal(err)
	}
	ended := start.Add(time.Minute)
	c.EndedAt, c.Status, c.RecordingState, c.RecordingKey = &ended, StatusCompleted, RecordingComplete, "recordings/x.wav"
	c.Pauses = []Span{{Start: start.Add(time.Second), End: &ended}}
	if err := s.WithTx(ctx, func(tx *Tx) error {
		if err := s.UpdateCallTx(ctx, tx, c); err != nil {
			return err
		}
		return s.SaveStageTx(ctx, tx, &Stage{CallID: c.ID, Name: "transcribe", State: StagePending})
	}); err != nil {
		t.Fatal(err)
	}
	got, err := s.GetCall(ctx, "pg-1")
	if err != nil {
		t.Fatal(err)
	}
	if !got.StartedAt.Equal(start) || got.EndedAt == nil || !got.EndedAt.Equal(ended) || len(got.Pauses) != 1 || got.Status != StatusCompleted {
		t.Fatalf("round trip: %+v", got)
	}
	// A failed transaction leaves nothing behind.
	boom := errors.New("boom")
	if err := s.WithTx(ctx, func(tx *Tx) error {
		if err := s.SaveStageTx(ctx, tx, &Stage{CallID: c.ID, Name: "analyze", State: StagePending}); err != nil {
			return err
		}
		return boom
	}); !errors.Is(err, boom) {
		t.Fatalf("WithTx error %v", err)
	}
	stages, err := s.Stages(ctx, c.ID)
	if err != nil || len(stages) != 1 || stages[0].Name != "transcribe" {
		t.Fatalf("stages %+v %v (the rolled-back stage must not exist)", stages, err)
	}
	testStageNextAttempt(t, s)
	list, err := s.ListCalls(ctx, ListOptions{Party: "555", Direction: DirectionOutbound})
	if err != nil || len(list) != 1 {
		t.Fatalf("list %v %v", list, err)
	}
	if _, err := s.GetCall(ctx, "nope"); !errors.Is(err, ErrNotFound) {
		t.Fatalf("missing call: %v", err)
	}
	// Concurrent writers.
	var wg sync.WaitGroup
	errs := make(chan error, 40)
	for i := 0; i < 40; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			cc := &Call{ID: fmt.Sprintf("pg-c%d", i), Direction: DirectionInbound, OwnerNumber: "+15550111",
				Party: "+1", ServiceNumber: "+15550100", StartedAt: start, Status: StatusActive}
			if err := s.InsertCall(ctx, cc); err != nil {
				errs <- err
				return
			}
			cc.Status = StatusCompleted
			errs <- s.UpdateCall(ctx, cc)
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			t.Fatal(err)
		}
	}
	active, err := s.ActiveCalls(ctx)
	if err != nil || len(active) != 0 {
		t.Fatalf("active %v %v", active, err)
	}
}
