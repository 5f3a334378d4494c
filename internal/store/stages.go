package store

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"
)

// Stage states.
const (
	StagePending = "pending" // queued, not started
	StageRunning = "running" // a worker is on it
	StageRetry   = "retry"   // failed, will be retried
	StageDone    = "done"    // finished; OutputKey holds its result
	StageFailed  = "failed"  // failed for good (retries exhausted or bad input)
)

// Stage is one post-call processing stage of a call.
type Stage struct {
	CallID    string `json:"-"`
	Name      string `json:"name"`
	State     string `json:"state"`
	Attempts  int    `json:"attempts"`
	LastError string `json:"last_error,omitempty"`
	// OutputKey is the stage's main output (the first of Outputs).
	OutputKey string `json:"output_key,omitempty"`
	// Outputs are the keys of every object the stage wrote.
	Outputs    []string   `json:"outputs,omitempty"`
	StartedAt  *time.Time `json:"started_at,omitempty"`
	FinishedAt *time.Time `json:"finished_at,omitempty"`
	// NextAttemptAt is when a stage that failed with a retry ahead
	// (StageRetry) is tried again; nil otherwise.
	NextAttemptAt *time.Time `json:"next_attempt_at,omitempty"`
	UpdatedAt     time.Time  `json:"updated_at"`
}

// AllOutputs returns the keys of every object the stage wrote: Outputs,
// or OutputKey alone for a record that lists no outputs.
func (st *Stage) AllOutputs() []string {
	if len(st.Outputs) > 0 {
		return st.Outputs
	}
	if st.OutputKey != "" {
		return []string{st.OutputKey}
	}
	return nil
}

// Tx is a write transaction from WithTx: a *sql.Tx on SQLite, a pgx.Tx on
// PostgreSQL (so that River's pgx driver can queue jobs in it).
type Tx struct {
	sqlTx *sql.Tx
	pgxTx pgx.Tx
}

// SQL is the SQLite transaction (nil on PostgreSQL).
func (t *Tx) SQL() *sql.Tx { return t.sqlTx }

// PGX is the PostgreSQL transaction (nil on SQLite).
func (t *Tx) PGX() pgx.Tx { return t.pgxTx }

// ExecContext runs a statement in the transaction.
func (t *Tx) ExecContext(ctx context.Context, query string, args ...any) (sql.Result, error) {
	if t.sqlTx != nil {
		return t.sqlTx.ExecContext(ctx, query, args...)
	}
	tag, err := t.pgxTx.Exec(ctx, query, args...)
	if err != nil {
		return nil, err
	}
	return pgResult(tag.RowsAffected()), nil
}

type pgResult int64

func (r pgResult) LastInsertId() (int64, error) { return 0, errors.New("not supported") }
func (r pgResult) RowsAffected() (int64, error) { return int64(r), nil }

// WithTx runs fn in a write transaction, committing when fn returns nil.
func (s *Store) WithTx(ctx context.Context, fn func(tx *Tx) error) (err error) {
	if s.pool != nil {
		ptx, err := s.pool.Begin(ctx)
		if err != nil {
			return fmt.Errorf("begin: %w", err)
		}
		if err := fn(&Tx{pgxTx: ptx}); err != nil {
			_ = ptx.Rollback(context.WithoutCancel(ctx))
			return err
		}
		if err := ptx.Commit(ctx); err != nil {
			return fmt.Errorf("commit: %w", err)
		}
		return nil
	}
	tx, err := s.w.BeginTx(ctx, nil)
	if err != nil {
		return fmt.Errorf("begin: %w", err)
	}
	defer func() {
		if err != nil {
			if rb := tx.Rollback(); rb != nil && !errors.Is(rb, sql.ErrTxDone) {
				err = errors.Join(err, rb)
			}
		}
	}()
	if err := fn(&Tx{sqlTx: tx}); err != nil {
		return err
	}
	if err := tx.Commit(); err != nil {
		return fmt.Errorf("commit: %w", err)
	}
	return nil
}

// SaveStage inserts or replaces a stage record. It sets st.UpdatedAt.
func (s *Store) SaveStage(ctx context.Context, st *Stage) error {
	return s.saveStage(ctx, s.w, st)
}

// SaveStageTx is SaveStage inside tx.
func (s *Store) SaveStageTx(ctx context.Context, tx *Tx, st *Stage) error {
	return s.saveStage(ctx, tx, st)
}

func (s *Store) saveStage(ctx context.Context, db execer, st *Stage) error {
	if st.CallID == "" || st.Name == "" {
		return errors.New("save stage: call id and stage name are required")
	}
	switch st.State {
	case StagePending, StageRunning, StageRetry, StageDone, StageFailed:
	default:
		return fmt.Errorf("save stage %s/%s: unknown state %q", st.CallID, st.Name, st.State)
	}
	if st.OutputKey == "" && len(st.Outputs) > 0 {
		st.OutputKey = st.Outputs[0]
	}
	all := st.AllOutputs()
	if all == nil {
		all = []string{}
	}
	outputs, err := json.Marshal(all)
	if err != nil {
		return fmt.Errorf("save stage %s/%s: outputs: %w", st.CallID, st.Name, err)
	}
	now := msUTC(s.now())
	if _, err := db.ExecContext(ctx, s.q(`INSERT INTO call_stages
		(call_id, stage, state, attempts, last_error, output_key, outputs, started_at, finished_at, next_attempt_at, updated_at)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
		ON CONFLICT (call_id, stage) DO UPDATE SET
			state = excluded.state, attempts = excluded.attempts, last_error = excluded.last_error,
			output_key = excluded.output_key, outputs = excluded.outputs, started_at = excluded.started_at,
			finished_at = excluded.finished_at, next_attempt_at = excluded.next_attempt_at,
			updated_at = excluded.updated_at`),
		st.CallID, st.Name, st.State, st.Attempts, st.LastError, st.OutputKey, string(outputs),
		nullMillis(st.StartedAt), nullMillis(st.FinishedAt), nullMillis(st.NextAttemptAt), now.UnixMilli()); err != nil {
		return fmt.Errorf("save stage %s/%s: %w", st.CallID, st.Name, err)
	}
	st.UpdatedAt = now
	return nil
}

// Stages returns a call's stage records (in no particular order; callers
// sort by their pipeline's order).
func (s *Store) Stages(ctx context.Context, callID string) ([]Stage, error) {
	rows, err := s.r.QueryContext(ctx, s.q(`SELECT stage, state, attempts, last_error, output_key, outputs,
		started_at, finished_at, next_attempt_at, updated_at FROM call_stages WHERE call_id = ?`), callID)
	if err != nil {
		return nil, fmt.Errorf("stages of %s: %w", callID, err)
	}
	defer rows.Close()
	var out []Stage
	for rows.Next() {
		st := Stage{CallID: callID}
		var started, finished, next sql.NullInt64
		var updated int64
		var outputs string
		if err := rows.Scan(&st.Name, &st.State, &st.Attempts, &st.LastError, &st.OutputKey, &outputs, &started, &finished, &next, &updated); err != nil {
			return nil, fmt.Errorf("stages of %s: %w", callID, err)
		}
		if err := json.Unmarshal([]byte(outputs), &st.Outputs); err != nil {
			return nil, fmt.Errorf("stages of %s: outputs of %s: %w", callID, st.Name, err)
		}
		st.StartedAt, st.FinishedAt, st.NextAttemptAt = fromNullMillis(started), fromNullMillis(finished), fromNullMillis(next)
		st.UpdatedAt = fromMillis(updated)
		out = append(out, st)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("stages of %s: %w", callID, err)
	}
	return out, nil
}

// Stage returns one stage record, or an error wrapping ErrNotFound.
func (s *Store) Stage(ctx context.Context, callID, name string) (*Stage, error) {
	all, err := s.Stages(ctx, callID)
	if err != nil {
		return nil, err
	}
	for i := range all {
		if all[i].Name == name {
			return &all[i], nil
		}
	}
	return nil, fmt.Errorf("stage %s of %s: %w", name, callID, ErrNotFound)
}

// CountStages returns how many calls have their stage name in one of
// states (such as the notify stages waiting to retry or failed).
func (s *Store) CountStages(ctx context.Context, name string, states ...string) (int, error) {
	if len(states) == 0 {
		return 0, nil
	}
	marks := make([]string, len(states))
	args := []any{name}
	for i, st := range states {
		marks[i] = "?"
		args = append(args, st)
	}
	var n int
	if err := s.r.QueryRowContext(ctx, s.q(`SELECT COUNT(*) FROM call_stages WHERE stage = ? AND state IN (`+strings.Join(marks, ", ")+`)`), args...).Scan(&n); err != nil {
		return 0, fmt.Errorf("count %s stages: %w", name, err)
	}
	return n, nil
}
