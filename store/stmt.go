package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"sync"
)

// Parsing and planning a statement costs more than running most of ours,
// so every statement is prepared once per connection and kept.
//
// Write statements are prepared on the writer pool when the DB opens:
// preparing one later, while a transaction holds the only writer
// connection, would wait for that very connection. Read statements are
// prepared on first use. Inside a transaction, Tx.StmtContext reuses what
// the connection has prepared.

// writeQueries lists every statement run on the writer, to prepare at Open.
func writeQueries() []string {
	return []string{
		qAccountInsert, qAccountUpdate, qAccountUpsertRemote, qAccountHost, qAccountDetachReplies, qAccountDelete,
		qKeyAccount, qKeyUpsert,
		qPostInsert, qPostAdopt, qPostUpdate, qPostDeleted, qPostTombstone, qPostDeleteNotifications, qPostDeleteInteractions,
		qPostViaInsert, qPostViaPrune,
		qFollowUpsert, qFollowDelete, qFollowGone, qFollowDeleteFollower, qFollowDeleteTarget,
		qInteractionInsert, qInteractionDelete, qInteractionDeleteIRI,
		qNotificationInsert, qNotificationsRead,
		qTokenInsert, qTokenDelete, qTokensRevoke,
		qActivityInsert, qActivityID, qDeliveriesInsert, qDeadHosts, qClaimSelect, qClaimLease,
		qDeliveryDelete, qDeliveryRetry, qDeliveryDrop, qActivityDeleteIfDone,
		qInstanceFailed, qInstanceDelete, qInstanceDead, qDeliveriesDropHost,
		qInboxInsert, qInboxDone, qInboxPrune,
		qDomainBlock, qDomainUnblock,
		qLinkUpsert, qLinkDelete, qLinkTouch,
		qPasswordSet, qThreadFollow, qThreadUnfollow, qAuditInsert,
	}
}

// maxReadStatements bounds the readers' cache. Queries are built from a
// bounded set of clauses, so this is never reached in practice; past it,
// queries run unprepared.
const maxReadStatements = 512

// stmtCache holds the prepared statements of one pool.
type stmtCache struct {
	pool *sql.DB
	mu   sync.RWMutex
	m    map[string]*sql.Stmt
	// lazy allows preparing on first use (the readers).
	lazy bool
	// strict makes an unprepared writer statement panic (tests).
	strict bool
}

func newStmtCache(pool *sql.DB, lazy bool) *stmtCache {
	return &stmtCache{pool: pool, m: map[string]*sql.Stmt{}, lazy: lazy}
}

// prepareAll prepares queries now.
func (c *stmtCache) prepareAll(ctx context.Context, queries []string) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	for _, q := range queries {
		if _, ok := c.m[q]; ok {
			continue
		}
		s, err := c.pool.PrepareContext(ctx, q)
		if err != nil {
			return fmt.Errorf("prepare %q: %w", q, err)
		}
		c.m[q] = s
	}
	return nil
}

// get returns the statement for query, or nil when it is to run
// unprepared.
func (c *stmtCache) get(ctx context.Context, query string) *sql.Stmt {
	c.mu.RLock()
	s, ok := c.m[query]
	c.mu.RUnlock()
	if ok {
		return s
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if s, ok := c.m[query]; ok {
		return s
	}
	if !c.lazy {
		if c.strict {
			panic(fmt.Sprintf("store: writer statement not prepared at Open: %s", query))
		}
		return nil
	}
	if len(c.m) >= maxReadStatements {
		return nil
	}
	s, err := c.pool.PrepareContext(ctx, query)
	if err != nil {
		// Run it unprepared: the error, if it is one, shows there.
		return nil
	}
	c.m[query] = s
	return s
}

func (c *stmtCache) close() error {
	c.mu.Lock()
	defer c.mu.Unlock()
	var errs []error
	for q, s := range c.m {
		errs = append(errs, s.Close())
		delete(c.m, q)
	}
	return errors.Join(errs...)
}

// bind returns the statement for query in tx, or nil.
func (c *stmtCache) bind(ctx context.Context, tx *sql.Tx, query string) *sql.Stmt {
	s := c.get(ctx, query)
	if s == nil || tx == nil {
		return s
	}
	return tx.StmtContext(ctx, s)
}

// exec runs a write on the writer, in tx when it is not nil.
func (db *DB) exec(ctx context.Context, tx *sql.Tx, query string, args ...any) (sql.Result, error) {
	if s := db.ws.bind(ctx, tx, query); s != nil {
		return s.ExecContext(ctx, args...)
	}
	if tx != nil {
		return tx.ExecContext(ctx, query, args...)
	}
	return db.w.ExecContext(ctx, query, args...)
}

// execRow runs a write that returns one row (RETURNING, or a read inside
// a write transaction) on the writer.
func (db *DB) execRow(ctx context.Context, tx *sql.Tx, query string, args ...any) *sql.Row {
	if s := db.ws.bind(ctx, tx, query); s != nil {
		return s.QueryRowContext(ctx, args...)
	}
	if tx != nil {
		return tx.QueryRowContext(ctx, query, args...)
	}
	return db.w.QueryRowContext(ctx, query, args...)
}

// execRows runs a write that returns rows on the writer.
func (db *DB) execRows(ctx context.Context, tx *sql.Tx, query string, args ...any) (*sql.Rows, error) {
	if s := db.ws.bind(ctx, tx, query); s != nil {
		return s.QueryContext(ctx, args...)
	}
	if tx != nil {
		return tx.QueryContext(ctx, query, args...)
	}
	return db.w.QueryContext(ctx, query, args...)
}

// read runs a query on the readers, in tx (a read transaction) when it is
// not nil.
func (db *DB) read(ctx context.Context, tx *sql.Tx, query string, args ...any) (*sql.Rows, error) {
	if s := db.rs.bind(ctx, tx, query); s != nil {
		return s.QueryContext(ctx, args...)
	}
	if tx != nil {
		return tx.QueryContext(ctx, query, args...)
	}
	return db.r.QueryContext(ctx, query, args...)
}

// readRow runs a one-row query on the readers.
func (db *DB) readRow(ctx context.Context, tx *sql.Tx, query string, args ...any) *sql.Row {
	if s := db.rs.bind(ctx, tx, query); s != nil {
		return s.QueryRowContext(ctx, args...)
	}
	if tx != nil {
		return tx.QueryRowContext(ctx, query, args...)
	}
	return db.r.QueryRowContext(ctx, query, args...)
}
