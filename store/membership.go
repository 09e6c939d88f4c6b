package store

import (
	"context"
	"database/sql"
	"fmt"
	"strings"
	"time"

	"github.com/chapterhouse/chapterhouse/chapter"
)

// The rest of chapter.MembershipStore: DeleteToken is in tokens.go,
// CountUnreadNotifications and MarkNotificationsRead in notifications.go.

const (
	qPasswordSet = `INSERT INTO credentials (account_id, password_hash, updated_at) VALUES (?, ?, ?)
		ON CONFLICT (account_id) DO UPDATE SET
			password_hash = excluded.password_hash, updated_at = excluded.updated_at`
	qPasswordHash = `SELECT password_hash FROM credentials WHERE account_id = ?`

	qThreadFollow = `INSERT INTO thread_follows (account_id, post_id, created_at) VALUES (?, ?, ?)
		ON CONFLICT (post_id, account_id) DO NOTHING`
	qThreadUnfollow   = `DELETE FROM thread_follows WHERE post_id = ? AND account_id = ?`
	qThreadFollowers  = `SELECT account_id FROM thread_follows WHERE post_id = ? ORDER BY account_id`
	qThreadFollowedBy = `SELECT count(*) FROM thread_follows WHERE post_id = ? AND account_id = ?`

	qAuditInsert = `INSERT INTO audit_log (actor_id, action, target, detail, created_at)
		VALUES (?, ?, ?, ?, ?) RETURNING id`
	qAuditLog = `SELECT l.id, l.actor_id, l.action, l.target, l.detail, l.created_at
		FROM audit_log l WHERE l.id < ? ORDER BY l.id DESC LIMIT ?`

	// accounts_region (state, display_name COLLATE NOCASE, id) WHERE
	// region <> '' is in the page's order: the LIKE, which no index can
	// serve, reads only the members who gave a region, and stops at the
	// limit. LIKE ignores case (of ASCII letters only, like NOCASE).
	qMembersByRegion = `SELECT ` + accountCols + ` FROM accounts a
		WHERE a.state = ? AND a.region <> '' AND a.region LIKE '%' || ? || '%' ESCAPE '\'
			AND NOT (a.host = '' AND a.kind = 'Group')
		ORDER BY a.display_name COLLATE NOCASE, a.id LIMIT ?`
)

// SetPassword implements chapter.MembershipStore, replacing the hash the
// member had. An empty hash is ErrInvalid, a missing account ErrNotFound.
func (db *DB) SetPassword(ctx context.Context, accountID int64, hash string) error {
	if hash == "" {
		return fmt.Errorf("store: set password of account %d: empty hash: %w", accountID, chapter.ErrInvalid)
	}
	_, err := db.exec(ctx, nil, qPasswordSet, accountID, hash, time.Now().UnixMilli())
	return errf(err, "set password of account %d", accountID)
}

// PasswordHash implements chapter.MembershipStore.
func (db *DB) PasswordHash(ctx context.Context, accountID int64) (string, error) {
	var hash string
	err := db.readRow(ctx, nil, qPasswordHash, accountID).Scan(&hash)
	return hash, errf(err, "password of account %d", accountID)
}

// FollowThread implements chapter.MembershipStore; ErrNotFound when the
// account or the post does not exist.
func (db *DB) FollowThread(ctx context.Context, accountID, postID int64) error {
	_, err := db.exec(ctx, nil, qThreadFollow, accountID, postID, time.Now().UnixMilli())
	return errf(err, "account %d follow thread %d", accountID, postID)
}

// UnfollowThread implements chapter.MembershipStore; unfollowing a thread
// not followed is no error.
func (db *DB) UnfollowThread(ctx context.Context, accountID, postID int64) error {
	_, err := db.exec(ctx, nil, qThreadUnfollow, postID, accountID)
	return errf(err, "account %d unfollow thread %d", accountID, postID)
}

// ThreadFollowers implements chapter.MembershipStore, in account id order.
func (db *DB) ThreadFollowers(ctx context.Context, postID int64) ([]int64, error) {
	ids, err := db.readIDs(ctx, qThreadFollowers, postID)
	return ids, errf(err, "followers of thread %d", postID)
}

// readIDs runs a query of one integer column on the readers.
func (db *DB) readIDs(ctx context.Context, query string, args ...any) ([]int64, error) {
	rows, err := db.read(ctx, nil, query, args...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var ids []int64
	for rows.Next() {
		var id int64
		if err := rows.Scan(&id); err != nil {
			return nil, err
		}
		ids = append(ids, id)
	}
	return ids, rows.Err()
}

// FollowsThread implements chapter.MembershipStore.
func (db *DB) FollowsThread(ctx context.Context, accountID, postID int64) (bool, error) {
	var ok bool
	err := db.readRow(ctx, nil, qThreadFollowedBy, postID, accountID).Scan(&ok)
	return ok, errf(err, "account %d follows thread %d", accountID, postID)
}

// AddAudit implements chapter.MembershipStore. It sets e.CreatedAt when
// unset. ActorID 0 records no actor (the system); an empty Action is
// ErrInvalid, a missing actor ErrNotFound.
func (db *DB) AddAudit(ctx context.Context, e *chapter.AuditEntry) error {
	if e.Action == "" {
		return fmt.Errorf("store: add audit entry: empty action: %w", chapter.ErrInvalid)
	}
	e.CreatedAt = orNow(e.CreatedAt)
	err := db.execRow(ctx, nil, qAuditInsert,
		nullIfZero(e.ActorID), e.Action, e.Target, e.Detail, e.CreatedAt.UnixMilli()).Scan(&e.ID)
	return errf(err, "add audit entry %q", e.Action)
}

// Audit log page sizes.
const (
	defaultAuditLimit = 50
	maxAuditLimit     = 200
)

// AuditLog implements chapter.MembershipStore. limit defaults to 50, at
// most 200. Actor is filled; it is nil (and ActorID 0) when the actor's
// account was deleted, or when there was none.
func (db *DB) AuditLog(ctx context.Context, beforeID int64, limit int) ([]*chapter.AuditEntry, error) {
	if beforeID <= 0 {
		beforeID = 1<<63 - 1
	}
	var es []*chapter.AuditEntry
	err := db.withReadTx(ctx, func(tx *sql.Tx) error {
		rows, err := db.read(ctx, tx, qAuditLog, beforeID, limitOr(limit, defaultAuditLimit, maxAuditLimit))
		if err != nil {
			return err
		}
		defer rows.Close()
		var actorIDs []int64
		seen := map[int64]bool{}
		for rows.Next() {
			e := new(chapter.AuditEntry)
			if err := rows.Scan(&e.ID, nullInt{&e.ActorID}, &e.Action, &e.Target, &e.Detail,
				timeDest{&e.CreatedAt}); err != nil {
				return err
			}
			if e.ActorID != 0 && !seen[e.ActorID] {
				seen[e.ActorID] = true
				actorIDs = append(actorIDs, e.ActorID)
			}
			es = append(es, e)
		}
		if err := rows.Err(); err != nil {
			return err
		}
		rows.Close()
		if len(actorIDs) == 0 {
			return nil
		}
		as, err := db.accounts(ctx, tx, qNotificationAccounts, jsonIDs(actorIDs))
		if err != nil {
			return err
		}
		actors := make(map[int64]*chapter.Account, len(as))
		for _, a := range as {
			actors[a.ID] = a
		}
		for _, e := range es {
			e.Actor = actors[e.ActorID]
		}
		return nil
	})
	if err != nil {
		return nil, errf(err, "audit log")
	}
	return es, nil
}

// Region search page sizes.
const (
	defaultRegionLimit = 20
	maxRegionLimit     = 100
)

// MembersByRegion implements chapter.MembershipStore: active members,
// local and remote, but not the node's own Group, whose region contains
// region (spaces around it trimmed; % and _ match themselves), ordered by
// display name. An empty region lists every member who gave one. limit
// defaults to 20, at most 100.
func (db *DB) MembersByRegion(ctx context.Context, region string, limit int) ([]*chapter.Account, error) {
	region = strings.TrimSpace(region)
	as, err := db.accounts(ctx, nil, qMembersByRegion, chapter.StateActive, escapeLike(region),
		limitOr(limit, defaultRegionLimit, maxRegionLimit))
	return as, errf(err, "members in region %q", region)
}

// likeEscaper escapes LIKE's wildcards, and its escape character, with '\'.
var likeEscaper = strings.NewReplacer(`\`, `\\`, `%`, `\%`, `_`, `\_`)

// escapeLike makes s match itself in a LIKE pattern with ESCAPE '\'.
func escapeLike(s string) string { return likeEscaper.Replace(s) }
