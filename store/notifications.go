package store

import (
	"context"
	"database/sql"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/chapterhouse/chapterhouse/chapter"
)

const (
	qNotificationInsert = `INSERT INTO notifications (account_id, type, from_id, post_id,
		created_at, read_at, deduping_key) VALUES (?, ?, ?, ?, ?, ?, ?)
		ON CONFLICT (deduping_key) DO NOTHING`
	qNotifications = `SELECT n.id, n.account_id, n.type, n.from_id, n.post_id,
		n.created_at, n.read_at, COALESCE(n.deduping_key, '')
		FROM notifications n LEFT JOIN posts p ON p.id = n.post_id
		WHERE n.account_id = ? AND n.id < ? AND (n.post_id IS NULL OR p.deleted_at IS NULL)
		ORDER BY n.id DESC LIMIT ?`
	qNotificationAccounts = `SELECT ` + accountCols + ` FROM accounts a
		WHERE a.id IN (SELECT value FROM json_each(?))`
	qNotificationPosts = `SELECT ` + postCols + postFrom + `
		WHERE p.id IN (SELECT value FROM json_each(?))`
	qNotificationsRead = `UPDATE notifications SET read_at = ?
		WHERE account_id = ? AND id <= ? AND read_at IS NULL`
	// Same rule as qNotifications: those about a deleted post are hidden.
	qNotificationsUnread = `SELECT count(*)
		FROM notifications n LEFT JOIN posts p ON p.id = n.post_id
		WHERE n.account_id = ? AND n.read_at IS NULL AND (n.post_id IS NULL OR p.deleted_at IS NULL)`
)

// AddNotification implements chapter.NotificationStore. An empty
// DedupingKey never collides. It sets n.CreatedAt when unset.
func (db *DB) AddNotification(ctx context.Context, n *chapter.Notification) (bool, error) {
	n.CreatedAt = orNow(n.CreatedAt)
	var key any
	if n.DedupingKey != "" {
		key = n.DedupingKey
	}
	res, err := db.exec(ctx, nil, qNotificationInsert,
		n.AccountID, n.Type, nullIfZero(n.FromID), nullIfZero(n.PostID),
		n.CreatedAt.UnixMilli(), millis(n.ReadAt), key)
	if err != nil {
		return false, errf(err, "notify account %d", n.AccountID)
	}
	rows, err := res.RowsAffected()
	if err != nil || rows == 0 {
		return false, errf(err, "notify account %d", n.AccountID)
	}
	id, err := res.LastInsertId()
	if err != nil {
		return false, errf(err, "notify account %d", n.AccountID)
	}
	n.ID = id
	return true, nil
}

// Notification page sizes.
const (
	defaultNotificationLimit = 40
	maxNotificationLimit     = 200
)

// Notifications implements chapter.NotificationStore. maxID 0 starts at
// the newest; limit defaults to 40, at most 200. Post.Author is filled.
func (db *DB) Notifications(ctx context.Context, accountID, maxID int64, limit int) ([]*chapter.Notification, error) {
	if maxID <= 0 {
		maxID = 1<<63 - 1
	}
	var ns []*chapter.Notification
	err := db.withReadTx(ctx, func(tx *sql.Tx) error {
		rows, err := db.read(ctx, tx, qNotifications,
			accountID, maxID, limitOr(limit, defaultNotificationLimit, maxNotificationLimit))
		if err != nil {
			return err
		}
		defer rows.Close()
		for rows.Next() {
			n := new(chapter.Notification)
			if err := rows.Scan(&n.ID, &n.AccountID, &n.Type, nullInt{&n.FromID}, nullInt{&n.PostID},
				timeDest{&n.CreatedAt}, timeDest{&n.ReadAt}, &n.DedupingKey); err != nil {
				return err
			}
			ns = append(ns, n)
		}
		if err := rows.Err(); err != nil {
			return err
		}
		rows.Close()
		return db.fillNotifications(ctx, tx, ns)
	})
	if err != nil {
		return nil, errf(err, "notifications of account %d", accountID)
	}
	return ns, nil
}

// fillNotifications loads the From accounts and Posts of ns, each once.
func (db *DB) fillNotifications(ctx context.Context, tx *sql.Tx, ns []*chapter.Notification) error {
	var fromIDs, postIDs []int64
	for _, n := range ns {
		if n.FromID != 0 {
			fromIDs = append(fromIDs, n.FromID)
		}
		if n.PostID != 0 {
			postIDs = append(postIDs, n.PostID)
		}
	}
	accounts := map[int64]*chapter.Account{}
	if len(fromIDs) > 0 {
		as, err := db.accounts(ctx, tx, qNotificationAccounts, jsonIDs(fromIDs))
		if err != nil {
			return err
		}
		for _, a := range as {
			accounts[a.ID] = a
		}
	}
	posts := map[int64]*chapter.Post{}
	if len(postIDs) > 0 {
		ps, err := db.posts(ctx, tx, qNotificationPosts, jsonIDs(postIDs))
		if err != nil {
			return err
		}
		for _, p := range ps {
			posts[p.ID] = p
		}
	}
	for _, n := range ns {
		n.From = accounts[n.FromID]
		n.Post = posts[n.PostID]
	}
	return nil
}

// jsonIDs is ids as a JSON array, for json_each.
func jsonIDs(ids []int64) string {
	var b strings.Builder
	b.WriteByte('[')
	for i, id := range ids {
		if i > 0 {
			b.WriteByte(',')
		}
		b.WriteString(strconv.FormatInt(id, 10))
	}
	b.WriteByte(']')
	return b.String()
}

// MarkNotificationsRead implements chapter.MembershipStore: it marks an
// account's unread notifications up to and including upToID (all of them
// when upToID is 0) read at at (now when zero), and returns how many it
// marked.
func (db *DB) MarkNotificationsRead(ctx context.Context, accountID, upToID int64, at time.Time) (int, error) {
	at = orNow(at)
	if upToID <= 0 {
		upToID = 1<<63 - 1
	}
	res, err := db.exec(ctx, nil, qNotificationsRead, at.UnixMilli(), accountID, upToID)
	if err != nil {
		return 0, errf(err, "mark notifications of account %d read", accountID)
	}
	n, err := res.RowsAffected()
	if err != nil {
		return 0, fmt.Errorf("store: mark notifications of account %d read: %w", accountID, err)
	}
	return int(n), nil
}

// CountUnreadNotifications implements chapter.MembershipStore.
func (db *DB) CountUnreadNotifications(ctx context.Context, accountID int64) (int, error) {
	var n int
	err := db.readRow(ctx, nil, qNotificationsUnread, accountID).Scan(&n)
	return n, errf(err, "count unread notifications of account %d", accountID)
}
