package store

import (
	"context"
	"errors"
	"testing"
)

// testDeleteCall checks DeleteCall on s: the call and its stages go, other
// calls stay, and a second delete reports ErrNotFound.
func testDeleteCall(t *testing.T, s *Store) {
	t.Helper()
	ctx := context.Background()
	for _, id := range []string{"del-1", "del-2"} {
		if err := s.InsertCall(ctx, newCall(id, 0)); err != nil {
			t.Fatal(err)
		}
		for _, stage := range []string{"transcribe", "analyze"} {
			if err := s.SaveStage(ctx, &Stage{CallID: id, Name: stage, State: StageFailed}); err != nil {
				t.Fatal(err)
			}
		}
	}
	if err := s.DeleteCall(ctx, "del-1"); err != nil {
		t.Fatalf("DeleteCall: %v", err)
	}
	if _, err := s.GetCall(ctx, "del-1"); !errors.Is(err, ErrNotFound) {
		t.Errorf("GetCall after delete: %v, want ErrNotFound", err)
	}
	if st, err := s.Stages(ctx, "del-1"); err != nil || len(st) != 0 {
		t.Errorf("stages after delete: %v %v, want none", st, err)
	}
	if _, err := s.GetCall(ctx, "del-2"); err != nil {
		t.Errorf("other call: %v", err)
	}
	if st, err := s.Stages(ctx, "del-2"); err != nil || len(st) != 2 {
		t.Errorf("other call's stages: %v %v, want 2", st, err)
	}
	if err := s.DeleteCall(ctx, "del-1"); !errors.Is(err, ErrNotFound) {
		t.Errorf("second DeleteCall: %v, want ErrNotFound", err)
	}

	// Stage records without a call are removed too, and the call is
	// reported missing.
	if err := s.SaveStage(ctx, &Stage{CallID: "orphan", Name: "render", State: StagePending}); err != nil {
		t.Fatal(err)
	}
	if err := s.DeleteCall(ctx, "orphan"); !errors.Is(err, ErrNotFound) {
		t.Errorf("DeleteCall of stages only: %v, want ErrNotFound", err)
	}
	if st, err := s.Stages(ctx, "orphan"); err != nil || len(st) != 0 {
		t.Errorf("orphan stages after delete: %v %v, want none", st, err)
	}
}

func TestDeleteCall(t *testing.T) {
	testDeleteCall(t, openTest(t))
}

func TestDeleteCallCanceled(t *testing.T) {
	s := openTest(t)
	ctx := context.Background()
	if err := s.InsertCall(ctx, newCall("keep", 0)); err != nil {
		t.Fatal(err)
	}
	cctx, cancel := context.WithCancel(ctx)
	cancel()
	if err := s.DeleteCall(cctx, "keep"); err == nil {
		t.Fatal("DeleteCall with a canceled context succeeded")
	}
	if _, err := s.GetCall(ctx, "keep"); err != nil {
		t.Errorf("call after failed delete: %v", err)
	}
}

func TestDeleteCallPostgres(t *testing.T) {
	url := postgresURL(t)
	s, err := OpenPostgres(context.Background(), url)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	testDeleteCall(t, s)
}
