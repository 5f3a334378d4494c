package store

import (
	"context"
	"fmt"
)

// DeleteCall deletes the call record with the given id and its stage
// records in one transaction. It returns an error wrapping ErrNotFound when
// there is no such call (stage records left without a call are deleted all
// the same). Objects in the blob store are the caller's to delete.
func (s *Store) DeleteCall(ctx context.Context, id string) error {
	var found bool
	err := s.WithTx(ctx, func(tx *Tx) error {
		if _, err := tx.ExecContext(ctx, s.q(`DELETE FROM call_stages WHERE call_id = ?`), id); err != nil {
			return fmt.Errorf("delete stages: %w", err)
		}
		res, err := tx.ExecContext(ctx, s.q(`DELETE FROM calls WHERE id = ?`), id)
		if err != nil {
			return err
		}
		n, err := res.RowsAffected()
		if err != nil {
			return err
		}
		found = n > 0
		return nil
	})
	if err != nil {
		return fmt.Errorf("delete call %s: %w", id, err)
	}
	if !found {
		return fmt.Errorf("delete call %s: %w", id, ErrNotFound)
	}
	return nil
}
