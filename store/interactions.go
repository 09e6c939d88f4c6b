package store

import (
	"context"
	"fmt"

	"github.com/chapterhouse/chapterhouse/chapter"
)

const (
	qInteractionInsert = `INSERT INTO interactions (kind, account_id, post_id, activity_iri, created_at)
		VALUES (?, ?, ?, ?, ?) ON CONFLICT DO NOTHING`
	qInteractionDelete    = `DELETE FROM interactions WHERE post_id = ? AND kind = ? AND account_id = ?`
	qInteractionDeleteIRI = `DELETE FROM interactions WHERE activity_iri = ? AND activity_iri <> ''
		RETURNING kind, account_id, post_id, activity_iri, created_at`
	qCountInteractions = `SELECT count(*) FROM interactions WHERE post_id = ? AND kind = ?`
)

// AddInteraction implements chapter.InteractionStore. It sets i.CreatedAt
// when unset; a post or account that does not exist is ErrNotFound.
func (db *DB) AddInteraction(ctx context.Context, i *chapter.Interaction) (bool, error) {
	switch i.Kind {
	case chapter.InteractionLike, chapter.InteractionAnnounce:
	default:
		return false, fmt.Errorf("store: interaction kind %q: %w", i.Kind, chapter.ErrInvalid)
	}
	i.CreatedAt = orNow(i.CreatedAt)
	res, err := db.exec(ctx, nil, qInteractionInsert, i.Kind, i.AccountID, i.PostID, i.ActivityIRI, i.CreatedAt.UnixMilli())
	if err != nil {
		return false, errf(err, "%s of post %d by %d", i.Kind, i.PostID, i.AccountID)
	}
	n, err := res.RowsAffected()
	return n > 0, errf(err, "%s of post %d by %d", i.Kind, i.PostID, i.AccountID)
}

// RemoveInteraction implements chapter.InteractionStore; ErrNotFound when
// there was none.
func (db *DB) RemoveInteraction(ctx context.Context, kind chapter.InteractionKind, accountID, postID int64) error {
	res, err := db.exec(ctx, nil, qInteractionDelete, postID, kind, accountID)
	if err == nil {
		err = notFoundIfNone(res)
	}
	return errf(err, "remove %s of post %d by %d", kind, postID, accountID)
}

// RemoveInteractionByIRI deletes the like or boost made by the activity
// iri, for an Undo that names only the activity; it returns what was
// removed, or ErrNotFound.
func (db *DB) RemoveInteractionByIRI(ctx context.Context, iri string) (*chapter.Interaction, error) {
	i := new(chapter.Interaction)
	err := db.execRow(ctx, nil, qInteractionDeleteIRI, iri).
		Scan(&i.Kind, &i.AccountID, &i.PostID, &i.ActivityIRI, timeDest{&i.CreatedAt})
	if err != nil {
		return nil, errf(err, "remove interaction %s", iri)
	}
	return i, nil
}

// CountInteractions implements chapter.InteractionStore.
func (db *DB) CountInteractions(ctx context.Context, postID int64, kind chapter.InteractionKind) (int, error) {
	var n int
	err := db.readRow(ctx, nil, qCountInteractions, postID, kind).Scan(&n)
	return n, errf(err, "count %s of post %d", kind, postID)
}
