package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"
)

// migrations returns the schema changes in order; migration i (from 0)
// brings the schema to version i+1. Append new migrations at the end and
// never edit or reorder applied ones: a database records the versions it
// has run in schema_migrations.
//
// Keep the SQL portable to PostgreSQL where possible (times are BIGINT unix
// milliseconds, booleans are integers).
func migrations() []string {
	return []string{
		// 1: call records.
		`CREATE TABLE calls (
			id                    TEXT    NOT NULL PRIMARY KEY,
			direction             TEXT    NOT NULL,
			owner_number          TEXT    NOT NULL,
			party                 TEXT    NOT NULL,
			service_number        TEXT    NOT NULL,
			started_at            BIGINT  NOT NULL,
			answered_at           BIGINT,
			ended_at              BIGINT,
			status                TEXT    NOT NULL,
			hangup_cause          TEXT    NOT NULL DEFAULT '',
			sip_status            INTEGER NOT NULL DEFAULT 0,
			recording_state       TEXT    NOT NULL,
			recording_key         TEXT    NOT NULL DEFAULT '',
			recording_duration_ms BIGINT  NOT NULL DEFAULT 0,
			pauses                TEXT    NOT NULL DEFAULT '[]',
			updated_at            BIGINT  NOT NULL
		);
		CREATE INDEX calls_started_at ON calls (started_at, id);
		CREATE INDEX calls_status ON calls (status);`,
		// 2: post-call processing stages.
		`CREATE TABLE call_stages (
			call_id     TEXT    NOT NULL,
			stage       TEXT    NOT NULL,
			state       TEXT    NOT NULL,
			attempts    INTEGER NOT NULL DEFAULT 0,
			last_error  TEXT    NOT NULL DEFAULT '',
			output_key  TEXT    NOT NULL DEFAULT '',
			started_at  BIGINT,
			finished_at BIGINT,
			updated_at  BIGINT  NOT NULL,
			PRIMARY KEY (call_id, stage)
		);`,
		// 3: every object a stage wrote, as a JSON array of keys.
		`ALTER TABLE call_stages ADD COLUMN outputs TEXT NOT NULL DEFAULT '[]';`,
		// 4: small values the server keeps for itself.
		`CREATE TABLE settings (
			key        TEXT   NOT NULL PRIMARY KEY,
			value      TEXT   NOT NULL,
			updated_at BIGINT NOT NULL
		);`,
		// 5: what the caller sent when it was not a number, and its name.
		`ALTER TABLE calls ADD COLUMN party_raw TEXT NOT NULL DEFAULT '';
		ALTER TABLE calls ADD COLUMN party_name TEXT NOT NULL DEFAULT '';`,
		// 6: when a stage that failed is tried next (NULL: no retry ahead).
		`ALTER TABLE call_stages ADD COLUMN next_attempt_at BIGINT;`,
		// 7: each leg's call-quality figures, as a JSON array.
		`ALTER TABLE calls ADD COLUMN quality TEXT NOT NULL DEFAULT '[]';`,
	}
}

// migrate applies the migrations db has not run yet, each in its own
// transaction together with its schema_migrations row, so concurrent
// openers and crashes part-way leave a consistent schema.
func migrate(ctx context.Context, db *sql.DB, steps []string, q func(string) string) error {
	if _, err := db.ExecContext(ctx, `CREATE TABLE IF NOT EXISTS schema_migrations (
		version    INTEGER NOT NULL PRIMARY KEY,
		applied_at BIGINT  NOT NULL
	)`); err != nil {
		return fmt.Errorf("create schema_migrations: %w", err)
	}
	var current int
	if err := db.QueryRowContext(ctx, `SELECT COALESCE(MAX(version), 0) FROM schema_migrations`).Scan(&current); err != nil {
		return fmt.Errorf("read schema version: %w", err)
	}
	if current > len(steps) {
		return fmt.Errorf("database schema version %d is newer than this program's %d; upgrade callrec, or use a database it created", current, len(steps))
	}
	for i, step := range steps {
		version := i + 1
		if version <= current {
			continue
		}
		if err := applyMigration(ctx, db, version, step, q); err != nil {
			return err
		}
	}
	return nil
}

// applyMigration runs one migration unless another process already has.
func applyMigration(ctx context.Context, db *sql.DB, version int, step string, q func(string) string) (err error) {
	tx, err := db.BeginTx(ctx, nil)
	if err != nil {
		return fmt.Errorf("migration %d: begin: %w", version, err)
	}
	defer func() {
		if err != nil {
			if rbErr := tx.Rollback(); rbErr != nil && !errors.Is(rbErr, sql.ErrTxDone) {
				err = errors.Join(err, rbErr)
			}
		}
	}()
	var done int
	if err := tx.QueryRowContext(ctx, q(`SELECT COUNT(*) FROM schema_migrations WHERE version = ?`), version).Scan(&done); err != nil {
		return fmt.Errorf("migration %d: %w", version, err)
	}
	if done > 0 {
		return tx.Commit()
	}
	if _, err := tx.ExecContext(ctx, step); err != nil {
		return fmt.Errorf("migration %d: %w", version, err)
	}
	if _, err := tx.ExecContext(ctx, q(`INSERT INTO schema_migrations (version, applied_at) VALUES (?, ?)`),
		version, time.Now().UnixMilli()); err != nil {
		return fmt.Errorf("migration %d: record version: %w", version, err)
	}
	if err := tx.Commit(); err != nil {
		return fmt.Errorf("migration %d: commit: %w", version, err)
	}
	return nil
}
