package store

import (
	"context"
	"testing"
	"time"
)

func TestCallsStartedBefore(t *testing.T) {
	ctx := context.Background()
	s := openTest(t)
	now := time.Date(2026, 5, 1, 12, 0, 0, 0, time.UTC)
	for i, c := range []struct {
		id     string
		age    time.Duration
		status string
	}{
		{"old-1", 40 * 24 * time.Hour, StatusCompleted},
		{"old-2", 31 * 24 * time.Hour, StatusUnanswered},
		{"old-active", 35 * 24 * time.Hour, StatusActive},
		{"new", 24 * time.Hour, StatusCompleted},
	} {
		_ = i
		call := &Call{ID: c.id, Direction: DirectionInbound, OwnerNumber: "+15550111", Party: "+1",
			ServiceNumber: "+15550100", StartedAt: now.Add(-c.age), Status: c.status}
		if err := s.InsertCall(ctx, call); err != nil {
			t.Fatal(err)
		}
	}
	got, err := s.CallsStartedBefore(ctx, now.Add(-30*24*time.Hour), 10)
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != 2 || got[0].ID != "old-1" || got[1].ID != "old-2" {
		t.Fatalf("got %v, want old-1 and old-2 (an active call is never expired)", got)
	}
	if got, _ := s.CallsStartedBefore(ctx, now.Add(-30*24*time.Hour), 1); len(got) != 1 {
		t.Fatalf("limit ignored: %v", got)
	}
}
