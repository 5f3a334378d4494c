// Package store keeps call records in SQLite (modernc.org/sqlite, pure Go)
// by default, or in PostgreSQL (pgx) when configured, with the same schema.
//
// The database runs in WAL mode. Writes go through a pool of one connection,
// so they are serialised inside the process and never fight each other for
// SQLite's write lock; reads use a separate read-only pool and proceed
// concurrently with writes. busy_timeout covers other processes (such as a
// CLI command) using the same file, and write transactions begin IMMEDIATE
// so they queue for the lock instead of failing on upgrade.
//
// With PostgreSQL one pgx pool serves reads and writes; queries are written
// with "?" placeholders and rewritten to "$n" for it.
//
// Times are stored as UTC unix milliseconds and read back in UTC, so they
// round-trip exactly to the millisecond.
package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"net/url"
	"os"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/jackc/pgx/v5/stdlib"
	_ "modernc.org/sqlite" // registers the "sqlite" database/sql driver
)

// ErrNotFound is returned, wrapped, when a record does not exist.
var ErrNotFound = errors.New("not found")

// busyTimeoutMS is how long a statement waits for another process's lock.
const busyTimeoutMS = 5000

// Store is a handle on the call-record database. It is safe for concurrent
// use; Close it when done.
type Store struct {
	w   *sql.DB // SQLite: one connection, every write; PostgreSQL: the pool
	r   *sql.DB // SQLite: read-only connections; PostgreSQL: the pool
	now func() time.Time
	// pool is set for PostgreSQL.
	pool *pgxpool.Pool
}

// Postgres reports whether the store is on PostgreSQL.
func (s *Store) Postgres() bool { return s.pool != nil }

// Pool is the PostgreSQL pool (nil on SQLite).
func (s *Store) Pool() *pgxpool.Pool { return s.pool }

// q rewrites "?" placeholders to PostgreSQL's "$n" (queries here never
// contain a literal "?").
func (s *Store) q(query string) string {
	if s.pool == nil {
		return query
	}
	return rebind(query)
}

func rebind(query string) string {
	var b strings.Builder
	n := 0
	for i := 0; i < len(query); i++ {
		if query[i] == '?' {
			n++
			b.WriteString("$" + strconv.Itoa(n))
			continue
		}
		b.WriteByte(query[i])
	}
	return b.String()
}

// OpenPostgres connects to the PostgreSQL database at url
// ("postgres://user:password@host/dbname") and brings its schema up to
// date.
func OpenPostgres(ctx context.Context, url string) (*Store, error) {
	pool, err := pgxpool.New(ctx, url)
	if err != nil {
		return nil, fmt.Errorf("open PostgreSQL store: %w", err)
	}
	if err := pool.Ping(ctx); err != nil {
		pool.Close()
		return nil, fmt.Errorf("open PostgreSQL store: %w", err)
	}
	db := stdlib.OpenDBFromPool(pool)
	if err := migratePostgres(ctx, db); err != nil {
		pool.Close()
		return nil, fmt.Errorf("open PostgreSQL store: %w", err)
	}
	return &Store{w: db, r: db, now: time.Now, pool: pool}, nil
}

// Open opens (creating if needed) the SQLite database file at path, creating
// its directory, and brings its schema up to date. path must name a file;
// ":memory:" is not supported.
func Open(ctx context.Context, path string) (*Store, error) {
	if path == "" || path == ":memory:" {
		return nil, fmt.Errorf("open store: %q is not a database file path; set a file path such as data/callrec.db", path)
	}
	abs, err := filepath.Abs(path)
	if err != nil {
		return nil, fmt.Errorf("open store %s: %w", path, err)
	}
	if err := os.MkdirAll(filepath.Dir(abs), 0o750); err != nil {
		return nil, fmt.Errorf("open store: create directory: %w", err)
	}

	w, err := sql.Open("sqlite", dsn(abs, false))
	if err != nil {
		return nil, fmt.Errorf("open store %s: %w", path, err)
	}
	w.SetMaxOpenConns(1)
	w.SetMaxIdleConns(1)
	w.SetConnMaxLifetime(0)
	w.SetConnMaxIdleTime(0)
	if err := w.PingContext(ctx); err != nil {
		_ = w.Close()
		return nil, fmt.Errorf("open store %s: %w", path, err)
	}
	if err := migrate(ctx, w, migrations(), func(q string) string { return q }); err != nil {
		_ = w.Close()
		return nil, fmt.Errorf("open store %s: %w", path, err)
	}

	r, err := sql.Open("sqlite", dsn(abs, true))
	if err != nil {
		_ = w.Close()
		return nil, fmt.Errorf("open store %s: %w", path, err)
	}
	readers := min(max(4, runtime.GOMAXPROCS(0)), 16)
	r.SetMaxOpenConns(readers)
	r.SetMaxIdleConns(readers)
	r.SetConnMaxLifetime(0)
	r.SetConnMaxIdleTime(5 * time.Minute)
	if err := r.PingContext(ctx); err != nil {
		_ = w.Close()
		_ = r.Close()
		return nil, fmt.Errorf("open store %s: %w", path, err)
	}
	return &Store{w: w, r: r, now: time.Now}, nil
}

// migratePostgres migrates under an advisory lock held on one connection,
// so that several nodes starting together migrate once.
func migratePostgres(ctx context.Context, db *sql.DB) error {
	conn, err := db.Conn(ctx)
	if err != nil {
		return err
	}
	defer conn.Close()
	const lockID = 727274 // arbitrary, callrec's own
	if _, err := conn.ExecContext(ctx, `SELECT pg_advisory_lock($1)`, lockID); err != nil {
		return fmt.Errorf("migration lock: %w", err)
	}
	defer conn.ExecContext(context.WithoutCancel(ctx), `SELECT pg_advisory_unlock($1)`, lockID)
	return migrate(ctx, db, migrations(), rebind)
}

// dsn returns the modernc.org/sqlite data source name for the file abs.
func dsn(abs string, readOnly bool) string {
	// Percent-encode the path: SQLite decodes file: URIs, and a literal
	// '?' or '#' in a directory name would otherwise end the path.
	u := url.URL{Scheme: "file", Path: filepath.ToSlash(abs)}
	s := u.String() +
		fmt.Sprintf("?_pragma=busy_timeout(%d)", busyTimeoutMS) +
		"&_pragma=journal_mode(WAL)" +
		"&_pragma=foreign_keys(1)" +
		// NORMAL is safe in WAL mode: a crash of the process loses nothing;
		// a power loss may lose the last transactions, never corrupts.
		"&_pragma=synchronous(NORMAL)"
	if readOnly {
		return s + "&_query_only=1"
	}
	return s + "&_txlock=immediate"
}

// Close closes the database.
func (s *Store) Close() error {
	if s.pool != nil {
		err := s.w.Close()
		s.pool.Close()
		return err
	}
	return errors.Join(s.r.Close(), s.w.Close())
}

// DB returns the database handle used for writes, for packages that keep
// their own tables in the same file (add them as migrations here). It has a
// single connection: do not hold a transaction or an unread *sql.Rows while
// making another call on it or on the Store: that call would wait for the
// first to finish (or for its context to end).
func (s *Store) DB() *sql.DB { return s.w }
