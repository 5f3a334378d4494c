package store

import (
	"context"
	"fmt"
	"time"
)

// CallsStartedBefore returns up to limit finished calls (any status but
// active) that started before t, oldest first: the calls retention deletes.
func (s *Store) CallsStartedBefore(ctx context.Context, t time.Time, limit int) ([]Call, error) {
	if limit <= 0 || limit > MaxListLimit {
		limit = MaxListLimit
	}
	calls, err := s.queryCalls(ctx, `SELECT `+callColumns+` FROM calls WHERE started_at < ? AND status <> ?
		ORDER BY started_at, id LIMIT ?`, t.UnixMilli(), StatusActive, limit)
	if err != nil {
		return nil, fmt.Errorf("calls started before %s: %w", t.Format(time.RFC3339), err)
	}
	return calls, nil
}
