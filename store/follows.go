package store

import (
	"context"
	"database/sql"
	"fmt"

	"github.com/chapterhouse/chapterhouse/chapter"
)

const (
	qFollowUpsert = `INSERT INTO follows (follower_id, target_id, state, activity_iri, created_at)
		VALUES (?, ?, ?, ?, ?)
		ON CONFLICT (follower_id, target_id) DO UPDATE SET
			state = excluded.state, activity_iri = excluded.activity_iri
		RETURNING created_at`
	qFollowDelete = `DELETE FROM follows WHERE follower_id = ? AND target_id = ?`
	// The remote accounts that an inbox (personal or shared) serves, as a
	// JSON array for json_each.
	qFollowGone = `SELECT COALESCE(json_group_array(id), '[]') FROM (
		SELECT id FROM accounts WHERE inbox_iri = ?1 AND inbox_iri <> '' AND host <> ''
		UNION
		SELECT id FROM accounts WHERE shared_inbox_iri = ?1 AND shared_inbox_iri <> '' AND host <> '')`
	qFollowDeleteFollower = `DELETE FROM follows WHERE follower_id IN (SELECT value FROM json_each(?))`
	qFollowDeleteTarget   = `DELETE FROM follows WHERE target_id IN (SELECT value FROM json_each(?))`

	qFollow = `SELECT follower_id, target_id, state, activity_iri, created_at
		FROM follows WHERE follower_id = ? AND target_id = ?`
	qFollowByActivity = `SELECT follower_id, target_id, state, activity_iri, created_at
		FROM follows WHERE activity_iri = ? AND activity_iri <> ''`
	qFollowers = `SELECT ` + accountCols + `
		FROM follows f JOIN accounts a ON a.id = f.follower_id
		WHERE f.target_id = ? AND f.state = ?
		ORDER BY f.created_at, f.follower_id LIMIT ? OFFSET ?`
	qFollowing = `SELECT ` + accountCols + `
		FROM follows f JOIN accounts a ON a.id = f.target_id
		WHERE f.follower_id = ? AND f.state = ?
		ORDER BY f.created_at, f.target_id LIMIT ? OFFSET ?`
	qCountFollowers  = `SELECT count(*) FROM follows WHERE target_id = ? AND state = ?`
	qCountFollowing  = `SELECT count(*) FROM follows WHERE follower_id = ? AND state = ?`
	qFollowerInboxes = `SELECT DISTINCT COALESCE(NULLIF(a.shared_inbox_iri, ''), a.inbox_iri)
		FROM follows f JOIN accounts a ON a.id = f.follower_id
		WHERE f.target_id = ? AND f.state = ? AND a.host <> ''
			AND (a.inbox_iri <> '' OR a.shared_inbox_iri <> '')`
)

// PutFollow implements chapter.FollowStore. An update changes the state
// and activity IRI and keeps the original CreatedAt, which it reads back
// into f. A missing account is ErrNotFound.
func (db *DB) PutFollow(ctx context.Context, f *chapter.Follow, out []chapter.Outgoing) error {
	if f.FollowerID == f.TargetID {
		return fmt.Errorf("store: follow %d → %d: an account cannot follow itself: %w",
			f.FollowerID, f.TargetID, chapter.ErrInvalid)
	}
	switch f.State {
	case chapter.FollowPending, chapter.FollowAccepted:
	default:
		return fmt.Errorf("store: follow %d → %d: state %q: %w", f.FollowerID, f.TargetID, f.State, chapter.ErrInvalid)
	}
	f.CreatedAt = orNow(f.CreatedAt)
	return db.withTx(ctx, func(tx *sql.Tx) error {
		var created int64
		err := db.execRow(ctx, tx, qFollowUpsert,
			f.FollowerID, f.TargetID, f.State, f.ActivityIRI, f.CreatedAt.UnixMilli()).Scan(&created)
		if err != nil {
			return errf(err, "follow %d → %d", f.FollowerID, f.TargetID)
		}
		f.CreatedAt = fromMillis(created)
		return db.enqueue(ctx, tx, out)
	})
}

// RemoveFollow implements chapter.FollowStore.
func (db *DB) RemoveFollow(ctx context.Context, followerID, targetID int64, out []chapter.Outgoing) error {
	return db.withTx(ctx, func(tx *sql.Tx) error {
		res, err := db.exec(ctx, tx, qFollowDelete, followerID, targetID)
		if err == nil {
			err = notFoundIfNone(res)
		}
		if err != nil {
			return errf(err, "unfollow %d → %d", followerID, targetID)
		}
		return db.enqueue(ctx, tx, out)
	})
}

// follow reads one follow.
func (db *DB) follow(ctx context.Context, query string, args ...any) (*chapter.Follow, error) {
	f := new(chapter.Follow)
	err := db.readRow(ctx, nil, query, args...).
		Scan(&f.FollowerID, &f.TargetID, &f.State, &f.ActivityIRI, timeDest{&f.CreatedAt})
	if err != nil {
		return nil, err
	}
	return f, nil
}

// Follow implements chapter.FollowStore.
func (db *DB) Follow(ctx context.Context, followerID, targetID int64) (*chapter.Follow, error) {
	f, err := db.follow(ctx, qFollow, followerID, targetID)
	return f, errf(err, "follow %d → %d", followerID, targetID)
}

// FollowByActivityIRI finds a follow by the id of its Follow activity,
// which is what an Accept, Reject or Undo names.
func (db *DB) FollowByActivityIRI(ctx context.Context, iri string) (*chapter.Follow, error) {
	f, err := db.follow(ctx, qFollowByActivity, iri)
	return f, errf(err, "follow %s", iri)
}

// Followers implements chapter.FollowStore. limit defaults to 40, at most
// 1000.
func (db *DB) Followers(ctx context.Context, targetID int64, state chapter.FollowState, limit, offset int) ([]*chapter.Account, error) {
	as, err := db.accounts(ctx, nil, qFollowers, targetID, state, limitOr(limit, 40, 1000), max(offset, 0))
	return as, errf(err, "followers of %d", targetID)
}

// Following implements chapter.FollowStore, oldest first. limit defaults
// to 40, at most 1000.
func (db *DB) Following(ctx context.Context, followerID int64, state chapter.FollowState, limit, offset int) ([]*chapter.Account, error) {
	as, err := db.accounts(ctx, nil, qFollowing, followerID, state, limitOr(limit, 40, 1000), max(offset, 0))
	return as, errf(err, "accounts followed by %d", followerID)
}

// CountFollowers implements chapter.FollowStore: accepted follows only.
func (db *DB) CountFollowers(ctx context.Context, targetID int64) (int, error) {
	var n int
	err := db.readRow(ctx, nil, qCountFollowers, targetID, chapter.FollowAccepted).Scan(&n)
	return n, errf(err, "count followers of %d", targetID)
}

// CountFollowing implements chapter.FollowStore: accepted follows only.
func (db *DB) CountFollowing(ctx context.Context, followerID int64) (int, error) {
	var n int
	err := db.readRow(ctx, nil, qCountFollowing, followerID, chapter.FollowAccepted).Scan(&n)
	return n, errf(err, "count following of %d", followerID)
}

// FollowerInboxes implements chapter.FollowStore, in no particular order.
func (db *DB) FollowerInboxes(ctx context.Context, targetID int64) ([]string, error) {
	inboxes, err := db.texts(ctx, nil, qFollowerInboxes, targetID, chapter.FollowAccepted)
	return inboxes, errf(err, "follower inboxes of %d", targetID)
}

// RemoveFollowersAt implements chapter.FollowStore. It removes the follows
// of those accounts in both directions (they are gone, and so is
// following them) and returns how many follows went.
func (db *DB) RemoveFollowersAt(ctx context.Context, inbox string) (int, error) {
	if inbox == "" {
		return 0, nil
	}
	var removed int64
	err := db.withTx(ctx, func(tx *sql.Tx) error {
		removed = 0
		var ids string
		if err := db.execRow(ctx, tx, qFollowGone, inbox).Scan(&ids); err != nil || ids == "[]" {
			return err
		}
		for _, q := range []string{qFollowDeleteFollower, qFollowDeleteTarget} {
			res, err := db.exec(ctx, tx, q, ids)
			if err != nil {
				return err
			}
			n, err := res.RowsAffected()
			if err != nil {
				return err
			}
			removed += n
		}
		return nil
	})
	return int(removed), errf(err, "remove followers at %s", inbox)
}
