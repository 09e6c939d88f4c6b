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
	"strings"
	"time"

	"modernc.org/sqlite"
	sqlite3 "modernc.org/sqlite/lib"

	"github.com/chapterhouse/chapterhouse/chapter"
)

// FileName is the name of the database file inside the data directory.
const FileName = "chapterhouse.db"

// DB is the SQLite implementation of chapter.Store. It is safe for
// concurrent use.
type DB struct {
	path string
	// w is the writer pool: one connection, so writes queue in Go.
	w *sql.DB
	// r is the pool of read-only connections.
	r *sql.DB
	// ws and rs are the prepared statements of w and r.
	ws, rs *stmtCache
	// inbox commits SaveInbox calls in batches.
	inbox *inboxBatcher
}

var _ chapter.Store = (*DB)(nil)

// Open opens (creating it if needed) the database in dataDir, and brings
// its schema up to date.
func Open(ctx context.Context, dataDir string) (*DB, error) {
	dir, err := filepath.Abs(dataDir)
	if err != nil {
		return nil, fmt.Errorf("store: data dir %q: %w", dataDir, err)
	}
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, fmt.Errorf("store: data dir: %w", err)
	}
	path := filepath.Join(dir, FileName)
	// Create the file ourselves so that SQLite inherits 0600 for it and
	// for its -wal and -shm files.
	f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE, 0o600)
	if err != nil {
		return nil, fmt.Errorf("store: %w", err)
	}
	if err := f.Close(); err != nil {
		return nil, fmt.Errorf("store: %w", err)
	}

	db := &DB{path: path}
	if db.w, err = sql.Open("sqlite", dsn(path, false)); err != nil {
		return nil, fmt.Errorf("store: open %s: %w", path, err)
	}
	db.w.SetMaxOpenConns(1)
	db.w.SetMaxIdleConns(1)
	db.w.SetConnMaxLifetime(0)
	db.w.SetConnMaxIdleTime(0)
	if err := db.w.PingContext(ctx); err != nil {
		db.w.Close()
		return nil, fmt.Errorf("store: open %s: %w", path, err)
	}
	if err := migrate(ctx, db.w); err != nil {
		db.w.Close()
		return nil, err
	}

	if db.r, err = sql.Open("sqlite", dsn(path, true)); err != nil {
		db.w.Close()
		return nil, fmt.Errorf("store: open %s: %w", path, err)
	}
	n := min(max(runtime.GOMAXPROCS(0), 4), 8)
	db.r.SetMaxOpenConns(n)
	db.r.SetMaxIdleConns(n)
	db.r.SetConnMaxLifetime(0)
	db.r.SetConnMaxIdleTime(0)
	if err := db.r.PingContext(ctx); err != nil {
		db.Close()
		return nil, fmt.Errorf("store: open %s: %w", path, err)
	}

	db.ws = newStmtCache(db.w, false)
	db.rs = newStmtCache(db.r, true)
	if err := db.ws.prepareAll(ctx, writeQueries()); err != nil {
		db.Close()
		return nil, fmt.Errorf("store: %w", err)
	}

	db.inbox = newInboxBatcher(db)

	for _, p := range []string{path, path + "-wal", path + "-shm"} {
		if err := os.Chmod(p, 0o600); err != nil && !errors.Is(err, os.ErrNotExist) {
			db.Close()
			return nil, fmt.Errorf("store: %w", err)
		}
	}
	return db, nil
}

// dsn is the connection string for path: the same pragmas on every
// connection; the writer begins its transactions IMMEDIATE, the readers
// are query-only.
func dsn(path string, readOnly bool) string {
	q := url.Values{}
	q.Add("_pragma", "busy_timeout(5000)")
	q.Add("_pragma", "foreign_keys(1)")
	q.Add("_pragma", "journal_mode(WAL)")
	q.Add("_pragma", "synchronous(NORMAL)")
	if readOnly {
		q.Add("_pragma", "query_only(1)")
	} else {
		q.Set("_txlock", "immediate")
	}
	u := url.URL{Scheme: "file", Path: filepath.ToSlash(path), RawQuery: q.Encode()}
	return u.String()
}

// Path is the database file's path.
func (db *DB) Path() string { return db.path }

// Close stops the inbox batcher and closes both pools. Calls in flight
// fail.
func (db *DB) Close() error {
	if db.inbox != nil {
		db.inbox.stop()
	}
	var errs []error
	if db.ws != nil {
		errs = append(errs, db.ws.close())
	}
	if db.rs != nil {
		errs = append(errs, db.rs.close())
	}
	if db.r != nil {
		errs = append(errs, db.r.Close())
	}
	if db.w != nil {
		errs = append(errs, db.w.Close())
	}
	if err := errors.Join(errs...); err != nil {
		return fmt.Errorf("store: close: %w", err)
	}
	return nil
}

// withTx runs fn in a write transaction on the writer connection,
// committing when fn returns nil and rolling back otherwise.
func (db *DB) withTx(ctx context.Context, fn func(tx *sql.Tx) error) (err error) {
	tx, err := db.w.BeginTx(ctx, nil)
	if err != nil {
		return errf(err, "begin")
	}
	defer func() {
		if p := recover(); p != nil {
			_ = tx.Rollback()
			panic(p)
		}
		if err != nil {
			_ = tx.Rollback()
		}
	}()
	if err = fn(tx); err != nil {
		return err
	}
	return errf(tx.Commit(), "commit")
}

// withReadTx runs fn in a read transaction on a reader connection, so that
// several queries see one snapshot.
func (db *DB) withReadTx(ctx context.Context, fn func(tx *sql.Tx) error) error {
	tx, err := db.r.BeginTx(ctx, &sql.TxOptions{ReadOnly: true})
	if err != nil {
		return errf(err, "begin")
	}
	defer tx.Rollback()
	return fn(tx)
}

// errf wraps err with the store's prefix and context, mapping what the
// driver reports to the sentinels of package chapter.
func errf(err error, format string, args ...any) error {
	if err == nil {
		return nil
	}
	err = mapErr(err)
	if msg, ok := strings.CutPrefix(err.Error(), "store: "); ok {
		// Already wrapped by withTx or an inner call: one prefix is enough.
		err = rewrapped{msg: msg, err: err}
	}
	return fmt.Errorf("store: "+format+": %w", append(args, err)...)
}

// rewrapped is err with another message, for errf.
type rewrapped struct {
	msg string
	err error
}

// Error implements error.
func (e rewrapped) Error() string { return e.msg }

// Unwrap returns the error rewrapped.
func (e rewrapped) Unwrap() error { return e.err }

// mapErr turns driver errors into chapter sentinels, keeping the driver's
// text for the logs.
func mapErr(err error) error {
	if errors.Is(err, sql.ErrNoRows) {
		return chapter.ErrNotFound
	}
	var se *sqlite.Error
	if errors.As(err, &se) {
		switch se.Code() {
		case sqlite3.SQLITE_CONSTRAINT_UNIQUE, sqlite3.SQLITE_CONSTRAINT_PRIMARYKEY:
			return fmt.Errorf("%w (%s)", chapter.ErrConflict, se.Error())
		case sqlite3.SQLITE_CONSTRAINT_FOREIGNKEY:
			return fmt.Errorf("%w: a referenced row is missing (%s)", chapter.ErrNotFound, se.Error())
		}
	}
	return err
}

// notFoundIfNone returns ErrNotFound when res changed no row.
func notFoundIfNone(res sql.Result) error {
	n, err := res.RowsAffected()
	if err != nil {
		return err
	}
	if n == 0 {
		return chapter.ErrNotFound
	}
	return nil
}

// millis stores a time; the zero time becomes NULL.
func millis(t time.Time) any {
	if t.IsZero() {
		return nil
	}
	return t.UnixMilli()
}

// orNow is t, or the current time when t is zero, at the precision stored.
func orNow(t time.Time) time.Time {
	if t.IsZero() {
		t = time.Now()
	}
	return t.Truncate(time.Millisecond)
}

// fromMillis reads a stored time.
func fromMillis(ms int64) time.Time { return time.UnixMilli(ms).UTC() }

// timeDest scans a stored time (or NULL, the zero time) into *t.
type timeDest struct{ t *time.Time }

// Scan implements sql.Scanner.
func (d timeDest) Scan(v any) error {
	switch v := v.(type) {
	case nil:
		*d.t = time.Time{}
	case int64:
		*d.t = fromMillis(v)
	default:
		return fmt.Errorf("time column holds %T", v)
	}
	return nil
}

// placeholders returns "?, ?, ?" for n parameters.
func placeholders(n int) string {
	if n <= 0 {
		return ""
	}
	return strings.Repeat("?, ", n-1) + "?"
}

// limitOr clamps a list size: def when unset, at most max.
func limitOr(limit, def, maxLimit int) int {
	if limit <= 0 {
		return def
	}
	return min(limit, maxLimit)
}
