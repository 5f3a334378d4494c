package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
)

// Settings are small values the server keeps for itself in the settings
// table, by key (such as the owner's password hash chosen in the browser).

// Setting returns the value of the setting key, and false when it is not
// set.
func (s *Store) Setting(ctx context.Context, key string) (string, bool, error) {
	var v string
	err := s.r.QueryRowContext(ctx, s.q(`SELECT value FROM settings WHERE key = ?`), key).Scan(&v)
	switch {
	case errors.Is(err, sql.ErrNoRows):
		return "", false, nil
	case err != nil:
		return "", false, fmt.Errorf("setting %s: %w", key, err)
	}
	return v, true, nil
}

// SetSetting sets the setting key to value.
func (s *Store) SetSetting(ctx context.Context, key, value string) error {
	if _, err := s.w.ExecContext(ctx, s.q(`INSERT INTO settings (key, value, updated_at) VALUES (?, ?, ?)
		ON CONFLICT (key) DO UPDATE SET value = excluded.value, updated_at = excluded.updated_at`),
		key, value, s.now().UnixMilli()); err != nil {
		return fmt.Errorf("save setting %s: %w", key, err)
	}
	return nil
}

// DeleteSettingIf deletes the setting key if its value is still value, and
// reports whether it did: of callers racing for one value, one wins.
func (s *Store) DeleteSettingIf(ctx context.Context, key, value string) (bool, error) {
	res, err := s.w.ExecContext(ctx, s.q(`DELETE FROM settings WHERE key = ? AND value = ?`), key, value)
	if err != nil {
		return false, fmt.Errorf("delete setting %s: %w", key, err)
	}
	n, err := res.RowsAffected()
	if err != nil {
		return false, fmt.Errorf("delete setting %s: %w", key, err)
	}
	return n == 1, nil
}
