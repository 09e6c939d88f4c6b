package store

import (
	"context"
	"fmt"
	"time"

	"github.com/chapterhouse/chapterhouse/chapter"
)

// linkCols are the columns linkDest scans: a link aliased l joined with
// its account aliased a.
const linkCols = `l.account_id, l.role, l.state, l.created_at, l.last_activity_at, ` + accountCols

// linkFrom is the FROM clause that goes with linkCols.
const linkFrom = ` FROM links l JOIN accounts a ON a.id = l.account_id `

// linkDest lists where linkCols go in l, allocating its Account.
func linkDest(l *chapter.Link) []any {
	l.Account = new(chapter.Account)
	return append([]any{&l.AccountID, &l.Role, &l.State,
		timeDest{&l.CreatedAt}, timeDest{&l.LastActivityAt}},
		accountDest(l.Account)...)
}

const (
	// An update changes the role and state, keeps created_at, and keeps
	// last_activity_at unless the caller gives one.
	qLinkUpsert = `INSERT INTO links (account_id, role, state, created_at, last_activity_at)
		VALUES (?, ?, ?, ?, ?)
		ON CONFLICT (account_id) DO UPDATE SET
			role = excluded.role, state = excluded.state,
			last_activity_at = COALESCE(excluded.last_activity_at, last_activity_at)
		RETURNING created_at, last_activity_at`
	qLinkDelete = `DELETE FROM links WHERE account_id = ?`
	// Activity only moves forward: workers may process a node's activities
	// out of order.
	qLinkTouch = `UPDATE links SET last_activity_at = ?1
		WHERE account_id = ?2 AND (last_activity_at IS NULL OR last_activity_at < ?1)`

	qLink  = `SELECT ` + linkCols + linkFrom + `WHERE l.account_id = ?`
	qLinks = `SELECT ` + linkCols + linkFrom + `WHERE l.role = ? ORDER BY l.created_at, l.account_id`
)

var _ chapter.LinkStore = (*DB)(nil)

// PutLink implements chapter.LinkStore. It sets CreatedAt when unset; an
// update keeps the original CreatedAt and, when l.LastActivityAt is zero,
// the recorded LastActivityAt, both read back into l. The role and state
// must be known ones (ErrInvalid); a missing account is ErrNotFound.
func (db *DB) PutLink(ctx context.Context, l *chapter.Link) error {
	switch l.Role {
	case chapter.RoleParent, chapter.RoleChild:
	default:
		return fmt.Errorf("store: link %d: role %q: %w", l.AccountID, l.Role, chapter.ErrInvalid)
	}
	switch l.State {
	case chapter.LinkPending, chapter.LinkLinked:
	default:
		return fmt.Errorf("store: link %d: state %q: %w", l.AccountID, l.State, chapter.ErrInvalid)
	}
	l.CreatedAt = orNow(l.CreatedAt)
	var created int64
	err := db.execRow(ctx, nil, qLinkUpsert,
		l.AccountID, l.Role, l.State, l.CreatedAt.UnixMilli(), millis(l.LastActivityAt)).
		Scan(&created, timeDest{&l.LastActivityAt})
	if err != nil {
		return errf(err, "link %d", l.AccountID)
	}
	l.CreatedAt = fromMillis(created)
	return nil
}

// RemoveLink implements chapter.LinkStore.
func (db *DB) RemoveLink(ctx context.Context, accountID int64) error {
	res, err := db.exec(ctx, nil, qLinkDelete, accountID)
	if err == nil {
		err = notFoundIfNone(res)
	}
	return errf(err, "remove link %d", accountID)
}

// Link implements chapter.LinkStore.
func (db *DB) Link(ctx context.Context, accountID int64) (*chapter.Link, error) {
	l := new(chapter.Link)
	if err := db.readRow(ctx, nil, qLink, accountID).Scan(linkDest(l)...); err != nil {
		return nil, errf(err, "link %d", accountID)
	}
	return l, nil
}

// Links implements chapter.LinkStore. A node has one parent and a bounded
// number of children, so the list is not paged.
func (db *DB) Links(ctx context.Context, role chapter.LinkRole) ([]*chapter.Link, error) {
	rows, err := db.read(ctx, nil, qLinks, role)
	if err != nil {
		return nil, errf(err, "links %q", role)
	}
	defer rows.Close()
	var ls []*chapter.Link
	for rows.Next() {
		l := new(chapter.Link)
		if err := rows.Scan(linkDest(l)...); err != nil {
			return nil, errf(err, "links %q", role)
		}
		ls = append(ls, l)
	}
	return ls, errf(rows.Err(), "links %q", role)
}

// TouchLink implements chapter.LinkStore: it sets LastActivityAt to at (now
// when zero) unless a later time is recorded. Touching an account that has
// no link does nothing and is not an error, so that callers need not look
// the link up first.
func (db *DB) TouchLink(ctx context.Context, accountID int64, at time.Time) error {
	at = orNow(at)
	_, err := db.exec(ctx, nil, qLinkTouch, at.UnixMilli(), accountID)
	return errf(err, "touch link %d", accountID)
}
