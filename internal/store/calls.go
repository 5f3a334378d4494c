package store

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"
)

// Call directions.
const (
	// DirectionOutbound is a call the owner dialled out through the service.
	DirectionOutbound = "outbound"
	// DirectionInbound is a call someone made to the service number.
	DirectionInbound = "inbound"
)

// Call statuses.
const (
	StatusActive      = "active"      // in progress
	StatusCompleted   = "completed"   // answered and hung up normally
	StatusUnanswered  = "unanswered"  // the other side never answered
	StatusRejected    = "rejected"    // refused (busy, declined, not allowed)
	StatusFailed      = "failed"      // an error ended it
	StatusInterrupted = "interrupted" // the process stopped while it was active
)

// Recording states.
const (
	RecordingNone       = "none"      // never started
	RecordingInProgress = "recording" // being recorded now
	RecordingPaused     = "paused"    // paused by the owner
	RecordingStopped    = "stopped"   // stopped by the owner; the file is kept
	RecordingComplete   = "complete"  // finished and stored
	RecordingPartial    = "partial"   // stored, but the call ended abnormally
	// RecordingTruncated: stored, but cut short: the disk filled during
	// the call.
	RecordingTruncated = "truncated"
)

// List limits for ListCalls.
const (
	DefaultListLimit = 100
	MaxListLimit     = 1000
)

// Span is an interval, such as a recording pause. End is nil while it lasts.
type Span struct {
	Start time.Time  `json:"start"`
	End   *time.Time `json:"end,omitempty"`
}

// Call is one call's record.
type Call struct {
	// ID identifies the call; it is chosen by the caller of InsertCall.
	ID string `json:"id"`
	// Direction is DirectionOutbound or DirectionInbound.
	Direction string `json:"direction"`
	// OwnerNumber is the owner's number.
	OwnerNumber string `json:"owner_number"`
	// Party is the other party's number: an E.164 or national number, or
	// "" when it is not known (withheld, or sent as something that is not
	// a number).
	Party string `json:"party"`
	// PartyRaw is the caller ID exactly as the caller's side sent it, when
	// it was not a number (so Party is empty); shown only escaped.
	PartyRaw string `json:"party_raw,omitempty"`
	// PartyName is the caller's display name, cleaned of control and
	// bidirectional-override characters and bounded in length.
	PartyName string `json:"party_name,omitempty"`
	// ServiceNumber is the public number the call went through.
	ServiceNumber string `json:"service_number"`
	// StartedAt is when the call arrived or was placed.
	StartedAt time.Time `json:"started_at"`
	// AnsweredAt is when the other party answered; nil if never.
	AnsweredAt *time.Time `json:"answered_at"`
	// EndedAt is when the call ended; nil while active.
	EndedAt *time.Time `json:"ended_at"`
	// Status is one of the Status constants.
	Status string `json:"status"`
	// HangupCause says why the call ended, free text.
	HangupCause string `json:"hangup_cause"`
	// SIPStatus is the final SIP response code, when there was one.
	SIPStatus int `json:"sip_status,omitempty"`
	// RecordingState is one of the Recording constants.
	RecordingState string `json:"recording_state"`
	// RecordingKey is the recording's blob store key.
	RecordingKey string `json:"recording_key"`
	// RecordingDurationMS is the recorded audio's length.
	RecordingDurationMS int64 `json:"recording_duration_ms"`
	// Pauses lists the intervals the recording was paused.
	Pauses []Span `json:"pauses"`
	// Quality holds each leg's call-quality figures (from RTP and RTCP),
	// set when the call ends; empty for a call without media.
	Quality []LegQuality `json:"quality,omitempty"`
	// RecordingFile is not stored: callers fill it in (for example with a
	// download link) before presenting the call.
	RecordingFile string `json:"recording_file"`
	// UpdatedAt is set by the store on every insert and update.
	UpdatedAt time.Time `json:"updated_at"`
}

// ListOptions filter and page ListCalls.
type ListOptions struct {
	// Limit is the most calls returned: DefaultListLimit when 0, at most
	// MaxListLimit.
	Limit int
	// Offset skips this many calls.
	Offset int
	// Party keeps only calls whose other party's number contains it.
	Party string
	// Direction keeps only calls in this direction, when set.
	Direction string
	// Statuses keeps only calls with one of these statuses, when set.
	Statuses []string
	// StartedFrom and StartedBefore keep only calls started at or after,
	// and before, these times, when set.
	StartedFrom, StartedBefore time.Time
}

// callColumns lists the columns in the order scanCall reads them.
const callColumns = `id, direction, owner_number, party, service_number, started_at, answered_at, ended_at,
	status, hangup_cause, sip_status, recording_state, recording_key, recording_duration_ms, pauses,
	party_raw, party_name, quality, updated_at`

// validate checks the fields the database relies on and fills an empty
// recording state and nil pauses.
func (c *Call) validate() error {
	if c.ID == "" {
		return errors.New("id is empty")
	}
	switch c.Direction {
	case DirectionOutbound, DirectionInbound:
	default:
		return fmt.Errorf("direction %q is not %q or %q", c.Direction, DirectionOutbound, DirectionInbound)
	}
	if !validStatus(c.Status) {
		return fmt.Errorf("unknown status %q", c.Status)
	}
	if c.RecordingState == "" {
		c.RecordingState = RecordingNone
	}
	switch c.RecordingState {
	case RecordingNone, RecordingInProgress, RecordingPaused, RecordingStopped, RecordingComplete, RecordingPartial, RecordingTruncated:
	default:
		return fmt.Errorf("unknown recording state %q", c.RecordingState)
	}
	if c.StartedAt.IsZero() {
		return errors.New("started_at is not set")
	}
	if c.Pauses == nil {
		c.Pauses = []Span{}
	}
	return nil
}

// Statuses lists every call status.
func Statuses() []string {
	return []string{StatusActive, StatusCompleted, StatusUnanswered, StatusRejected, StatusFailed, StatusInterrupted}
}

// validStatus reports whether st is a call status.
func validStatus(st string) bool { return slices.Contains(Statuses(), st) }

// callArgs returns c's stored columns after id, in callColumns order, without
// updated_at.
func callArgs(c *Call) ([]any, error) {
	pauses := make([]Span, len(c.Pauses))
	for i, p := range c.Pauses {
		pauses[i] = Span{Start: msUTC(p.Start), End: msUTCPtr(p.End)}
	}
	pj, err := json.Marshal(pauses)
	if err != nil {
		return nil, fmt.Errorf("encode pauses: %w", err)
	}
	quality := c.Quality
	if quality == nil {
		quality = []LegQuality{}
	}
	qj, err := json.Marshal(quality)
	if err != nil {
		return nil, fmt.Errorf("encode quality: %w", err)
	}
	return []any{
		c.Direction, c.OwnerNumber, c.Party, c.ServiceNumber,
		c.StartedAt.UnixMilli(), nullMillis(c.AnsweredAt), nullMillis(c.EndedAt),
		c.Status, c.HangupCause, c.SIPStatus, c.RecordingState, c.RecordingKey,
		c.RecordingDurationMS, string(pj), c.PartyRaw, c.PartyName, string(qj),
	}, nil
}

// InsertCall adds a new call record. It sets c.UpdatedAt, an empty
// c.RecordingState to RecordingNone and nil c.Pauses to empty.
func (s *Store) InsertCall(ctx context.Context, c *Call) error {
	return s.insertCall(ctx, s.w, c)
}

// SaveCallTx writes the call record inside tx: it updates it, or inserts
// it when it is not there yet (a call whose first write failed, such as on
// a full disk).
func (s *Store) SaveCallTx(ctx context.Context, tx *Tx, c *Call) error {
	err := s.updateCall(ctx, tx, c)
	if errors.Is(err, ErrNotFound) {
		return s.insertCall(ctx, tx, c)
	}
	return err
}

// SaveCall is SaveCallTx outside a transaction.
func (s *Store) SaveCall(ctx context.Context, c *Call) error {
	err := s.updateCall(ctx, s.w, c)
	if errors.Is(err, ErrNotFound) {
		return s.insertCall(ctx, s.w, c)
	}
	return err
}

func (s *Store) insertCall(ctx context.Context, db execer, c *Call) error {
	if err := c.validate(); err != nil {
		return fmt.Errorf("insert call %s: %w", c.ID, err)
	}
	args, err := callArgs(c)
	if err != nil {
		return fmt.Errorf("insert call %s: %w", c.ID, err)
	}
	updated := msUTC(s.now())
	args = append(append([]any{c.ID}, args...), updated.UnixMilli())
	if _, err := db.ExecContext(ctx, s.q(`INSERT INTO calls (`+callColumns+`)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`), args...); err != nil {
		return fmt.Errorf("insert call %s: %w", c.ID, err)
	}
	c.UpdatedAt = updated
	return nil
}

// UpdateCall replaces every stored field of the call with id c.ID. It
// returns an error wrapping ErrNotFound when there is none, and otherwise
// behaves like InsertCall.
func (s *Store) UpdateCall(ctx context.Context, c *Call) error {
	return s.updateCall(ctx, s.w, c)
}

// UpdateCallTx is UpdateCall inside tx (from WithTx), so that what else tx
// does (queueing the call's processing) commits with the record or not at
// all.
func (s *Store) UpdateCallTx(ctx context.Context, tx *Tx, c *Call) error {
	return s.updateCall(ctx, tx, c)
}

// execer is what *sql.DB and *sql.Tx share.
type execer interface {
	ExecContext(ctx context.Context, query string, args ...any) (sql.Result, error)
}

func (s *Store) updateCall(ctx context.Context, db execer, c *Call) error {
	if err := c.validate(); err != nil {
		return fmt.Errorf("update call %s: %w", c.ID, err)
	}
	args, err := callArgs(c)
	if err != nil {
		return fmt.Errorf("update call %s: %w", c.ID, err)
	}
	updated := msUTC(s.now())
	args = append(args, updated.UnixMilli(), c.ID)
	res, err := db.ExecContext(ctx, s.q(`UPDATE calls SET
		direction = ?, owner_number = ?, party = ?, service_number = ?,
		started_at = ?, answered_at = ?, ended_at = ?,
		status = ?, hangup_cause = ?, sip_status = ?, recording_state = ?, recording_key = ?,
		recording_duration_ms = ?, pauses = ?, party_raw = ?, party_name = ?, quality = ?, updated_at = ?
		WHERE id = ?`), args...)
	if err != nil {
		return fmt.Errorf("update call %s: %w", c.ID, err)
	}
	n, err := res.RowsAffected()
	if err != nil {
		return fmt.Errorf("update call %s: %w", c.ID, err)
	}
	if n == 0 {
		return fmt.Errorf("update call %s: %w", c.ID, ErrNotFound)
	}
	c.UpdatedAt = updated
	return nil
}

// GetCall returns the call with the given id, or an error wrapping
// ErrNotFound.
func (s *Store) GetCall(ctx context.Context, id string) (*Call, error) {
	row := s.r.QueryRowContext(ctx, s.q(`SELECT `+callColumns+` FROM calls WHERE id = ?`), id)
	c, err := scanCall(row)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, fmt.Errorf("get call %s: %w", id, ErrNotFound)
	}
	if err != nil {
		return nil, fmt.Errorf("get call %s: %w", id, err)
	}
	return c, nil
}

// ListCalls returns calls newest first (by StartedAt), filtered and paged by
// opts.
func (s *Store) ListCalls(ctx context.Context, opts ListOptions) ([]Call, error) {
	limit := opts.Limit
	switch {
	case limit < 0 || opts.Offset < 0:
		return nil, fmt.Errorf("list calls: limit %d and offset %d must not be negative", opts.Limit, opts.Offset)
	case limit == 0:
		limit = DefaultListLimit
	case limit > MaxListLimit:
		limit = MaxListLimit
	}
	where, args, err := opts.where()
	if err != nil {
		return nil, fmt.Errorf("list calls: %w", err)
	}
	q := `SELECT ` + callColumns + ` FROM calls` + where + ` ORDER BY started_at DESC, id DESC LIMIT ? OFFSET ?`
	args = append(args, limit, opts.Offset)
	calls, err := s.queryCalls(ctx, q, args...)
	if err != nil {
		return nil, fmt.Errorf("list calls: %w", err)
	}
	return calls, nil
}

// where is the WHERE clause (or "") and its arguments selecting the calls
// opts filters for.
func (opts ListOptions) where() (string, []any, error) {
	var where []string
	var args []any
	if opts.Party != "" {
		where = append(where, `party LIKE ? ESCAPE '\'`)
		args = append(args, "%"+escapeLike(opts.Party)+"%")
	}
	switch opts.Direction {
	case "":
	case DirectionOutbound, DirectionInbound:
		where = append(where, `direction = ?`)
		args = append(args, opts.Direction)
	default:
		return "", nil, fmt.Errorf("direction %q is not %q or %q", opts.Direction, DirectionOutbound, DirectionInbound)
	}
	if len(opts.Statuses) > 0 {
		marks := make([]string, len(opts.Statuses))
		for i, st := range opts.Statuses {
			if !validStatus(st) {
				return "", nil, fmt.Errorf("status %q is not a call status", st)
			}
			marks[i] = "?"
			args = append(args, st)
		}
		where = append(where, `status IN (`+strings.Join(marks, ", ")+`)`)
	}
	if !opts.StartedFrom.IsZero() {
		where = append(where, `started_at >= ?`)
		args = append(args, opts.StartedFrom.UnixMilli())
	}
	if !opts.StartedBefore.IsZero() {
		where = append(where, `started_at < ?`)
		args = append(args, opts.StartedBefore.UnixMilli())
	}
	if len(where) == 0 {
		return "", nil, nil
	}
	return ` WHERE ` + strings.Join(where, ` AND `), args, nil
}

// CountCalls returns how many calls opts selects (its Limit and Offset
// aside).
func (s *Store) CountCalls(ctx context.Context, opts ListOptions) (int, error) {
	where, args, err := opts.where()
	if err != nil {
		return 0, fmt.Errorf("count calls: %w", err)
	}
	var n int
	if err := s.r.QueryRowContext(ctx, s.q(`SELECT COUNT(*) FROM calls`+where), args...).Scan(&n); err != nil {
		return 0, fmt.Errorf("count calls: %w", err)
	}
	return n, nil
}

// ActiveCalls returns the calls whose status is StatusActive, oldest first.
// At start-up these are calls a previous process left behind.
func (s *Store) ActiveCalls(ctx context.Context) ([]Call, error) {
	calls, err := s.queryCalls(ctx, `SELECT `+callColumns+` FROM calls WHERE status = ? ORDER BY started_at, id`, StatusActive)
	if err != nil {
		return nil, fmt.Errorf("active calls: %w", err)
	}
	return calls, nil
}

// queryCalls runs a query selecting callColumns and scans every row.
func (s *Store) queryCalls(ctx context.Context, q string, args ...any) ([]Call, error) {
	rows, err := s.r.QueryContext(ctx, s.q(q), args...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	calls := []Call{}
	for rows.Next() {
		c, err := scanCall(rows)
		if err != nil {
			return nil, err
		}
		calls = append(calls, *c)
	}
	if err := rows.Err(); err != nil {
		return nil, err
	}
	return calls, nil
}

// scanner is a *sql.Row or *sql.Rows.
type scanner interface {
	Scan(dest ...any) error
}

// scanCall reads one row of callColumns.
func scanCall(r scanner) (*Call, error) {
	var (
		c                Call
		started, updated int64
		answered, ended  sql.NullInt64
		pauses, quality  string
	)
	if err := r.Scan(&c.ID, &c.Direction, &c.OwnerNumber, &c.Party, &c.ServiceNumber,
		&started, &answered, &ended, &c.Status, &c.HangupCause, &c.SIPStatus,
		&c.RecordingState, &c.RecordingKey, &c.RecordingDurationMS, &pauses, &c.PartyRaw, &c.PartyName, &quality, &updated); err != nil {
		return nil, err
	}
	c.StartedAt = fromMillis(started)
	c.AnsweredAt = fromNullMillis(answered)
	c.EndedAt = fromNullMillis(ended)
	c.UpdatedAt = fromMillis(updated)
	c.Pauses = []Span{}
	if err := json.Unmarshal([]byte(pauses), &c.Pauses); err != nil {
		return nil, fmt.Errorf("call %s: decode pauses: %w", c.ID, err)
	}
	if c.Pauses == nil {
		c.Pauses = []Span{}
	}
	if err := json.Unmarshal([]byte(quality), &c.Quality); err != nil {
		return nil, fmt.Errorf("call %s: decode quality: %w", c.ID, err)
	}
	if len(c.Quality) == 0 {
		c.Quality = nil
	}
	return &c, nil
}

// escapeLike escapes LIKE's wildcards with '\'.
func escapeLike(s string) string {
	r := strings.NewReplacer(`\`, `\\`, `%`, `\%`, `_`, `\_`)
	return r.Replace(s)
}

// msUTC returns t in UTC, truncated to the millisecond.
func msUTC(t time.Time) time.Time { return fromMillis(t.UnixMilli()) }

// msUTCPtr is msUTC for an optional time.
func msUTCPtr(t *time.Time) *time.Time {
	if t == nil {
		return nil
	}
	v := msUTC(*t)
	return &v
}

// fromMillis returns the UTC time of unix milliseconds ms.
func fromMillis(ms int64) time.Time { return time.UnixMilli(ms).UTC() }

// nullMillis stores an optional time as unix milliseconds or NULL.
func nullMillis(t *time.Time) sql.NullInt64 {
	if t == nil {
		return sql.NullInt64{}
	}
	return sql.NullInt64{Int64: t.UnixMilli(), Valid: true}
}

// fromNullMillis reads an optional time stored by nullMillis.
func fromNullMillis(v sql.NullInt64) *time.Time {
	if !v.Valid {
		return nil
	}
	t := fromMillis(v.Int64)
	return &t
}
