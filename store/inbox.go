package store

import (
	"context"
	"time"

	"github.com/chapterhouse/chapterhouse/chapter"
)

const (
	qInboxInsert = `INSERT INTO inbox_items (activity_iri, actor_iri, body, received_at)
		VALUES (NULLIF(?, ''), ?, ?, ?) ON CONFLICT (activity_iri) DO NOTHING`
	qInboxPending = `SELECT id, COALESCE(activity_iri, ''), actor_iri, body, received_at
		FROM inbox_items WHERE processed_at IS NULL ORDER BY id LIMIT ?`
	// A successful item loses its body; a failed one keeps it.
	qInboxDone = `UPDATE inbox_items SET processed_at = ?1, error = ?2,
		body = CASE WHEN ?2 = '' THEN X'' ELSE body END
		WHERE id = ?3`
	qInboxPrune = `DELETE FROM inbox_items WHERE id IN (
		SELECT id FROM inbox_items WHERE processed_at IS NOT NULL AND received_at < ?
		ORDER BY id LIMIT ?)`
)

// SaveInbox implements chapter.QueueStore. It sets item.ID when created
// and item.ReceivedAt when unset. An item without ActivityIRI is always
// created.
//
// Concurrent calls are committed together (group commit), so a burst of
// deliveries costs one WAL commit per batch rather than one per activity.
// When ctx ends while the item waits in a batch, SaveInbox returns ctx's
// error and the item may still be saved: the sender will retry, and the
// repeat will be reported as not created.
func (db *DB) SaveInbox(ctx context.Context, item *chapter.InboxItem) (bool, error) {
	item.ReceivedAt = orNow(item.ReceivedAt)
	body := item.Body
	if body == nil {
		body = []byte{}
	}
	res, err := db.inbox.save(ctx, inboxRow{
		iri: item.ActivityIRI, actor: item.ActorIRI, body: body, at: item.ReceivedAt.UnixMilli()})
	if err != nil {
		return false, errf(err, "save inbox %s", item.ActivityIRI)
	}
	if res.created {
		item.ID = res.id
	}
	return res.created, nil
}

// PendingInbox implements chapter.QueueStore; limit defaults to 100.
func (db *DB) PendingInbox(ctx context.Context, limit int) ([]*chapter.InboxItem, error) {
	rows, err := db.read(ctx, nil, qInboxPending, limitOr(limit, 100, 10000))
	if err != nil {
		return nil, errf(err, "pending inbox")
	}
	defer rows.Close()
	var items []*chapter.InboxItem
	for rows.Next() {
		it := new(chapter.InboxItem)
		if err := rows.Scan(&it.ID, &it.ActivityIRI, &it.ActorIRI, &it.Body, timeDest{&it.ReceivedAt}); err != nil {
			return nil, errf(err, "pending inbox")
		}
		items = append(items, it)
	}
	return items, errf(rows.Err(), "pending inbox")
}

// InboxDone implements chapter.QueueStore. The item stays, so that a
// repeat of its activity is recognised; a successful one loses its body,
// a failed one keeps it for inspection.
func (db *DB) InboxDone(ctx context.Context, id int64, errText string) error {
	res, err := db.exec(ctx, nil, qInboxDone, time.Now().UnixMilli(), errText, id)
	if err == nil {
		err = notFoundIfNone(res)
	}
	return errf(err, "inbox item %d done", id)
}

// pruneBatch is how many inbox items one PruneInbox transaction deletes,
// so that the writer is never held long.
const pruneBatch = 1000

// PruneInbox deletes the processed inbox items received before before, in
// small transactions, and returns how many it deleted. Once an item is
// gone a repeat of its activity is accepted again, so keep them longer than
// senders retry (Mastodon retries for about a week).
func (db *DB) PruneInbox(ctx context.Context, before time.Time) (int, error) {
	total := 0
	for {
		res, err := db.exec(ctx, nil, qInboxPrune, before.UnixMilli(), pruneBatch)
		if err != nil {
			return total, errf(err, "prune inbox")
		}
		n, err := res.RowsAffected()
		if err != nil {
			return total, errf(err, "prune inbox")
		}
		total += int(n)
		if n < pruneBatch {
			return total, nil
		}
	}
}
