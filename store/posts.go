package store

import (
	"cmp"
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/chapterhouse/chapterhouse/chapter"
)

// postCols are the columns postDest scans: a post aliased p joined with
// its author aliased a.
const postCols = `p.id, p.iri, p.url, p.account_id, p.content, p.source, p.summary, p.sensitive,
	p.language, p.visibility, p.in_reply_to_id, p.in_reply_to_iri, p.mentions, p.announced, p.via,
	p.created_at, p.updated_at, p.deleted_at, ` + accountCols

// postFrom is the FROM clause that goes with postCols.
const postFrom = ` FROM posts p CROSS JOIN accounts a ON a.id = p.account_id `

// postDest lists where postCols go in p, allocating its Author.
func postDest(p *chapter.Post) []any {
	p.Author = new(chapter.Account)
	return append([]any{&p.ID, &p.IRI, &p.URL, &p.AccountID, &p.Content, &p.Source, &p.Summary,
		&p.Sensitive, &p.Language, &p.Visibility, nullInt{&p.InReplyToID}, &p.InReplyToIRI,
		stringsDest{&p.Mentions}, &p.Announced, stringsDest{&p.Via},
		timeDest{&p.CreatedAt}, timeDest{&p.UpdatedAt}, timeDest{&p.DeletedAt}},
		accountDest(p.Author)...)
}

// nullInt scans an INTEGER that may be NULL (read as 0).
type nullInt struct{ p *int64 }

// Scan implements sql.Scanner.
func (d nullInt) Scan(v any) error {
	switch v := v.(type) {
	case nil:
		*d.p = 0
	case int64:
		*d.p = v
	default:
		return fmt.Errorf("integer column holds %T", v)
	}
	return nil
}

// nullIfZero stores 0 as NULL.
func nullIfZero(id int64) any {
	if id == 0 {
		return nil
	}
	return id
}

// stringsDest scans a JSON list of strings (mentions, via); an empty
// column is none.
type stringsDest struct{ p *[]string }

// Scan implements sql.Scanner.
func (d stringsDest) Scan(v any) error {
	*d.p = nil
	var b []byte
	switch v := v.(type) {
	case nil:
		return nil
	case string:
		b = []byte(v)
	case []byte:
		b = v
	default:
		return fmt.Errorf("string list column holds %T", v)
	}
	if len(b) == 0 {
		return nil
	}
	return json.Unmarshal(b, d.p)
}

// encodeStrings is the stored form of a list of strings (mentions, via):
// a JSON array, or the empty string when there are none.
func encodeStrings(m []string) (string, error) {
	if len(m) == 0 {
		return "", nil
	}
	b, err := json.Marshal(m)
	return string(b), err
}

const (
	qPostInsert = `INSERT INTO posts (id, iri, url, account_id, local, content,
		source, summary, sensitive, language, visibility, in_reply_to_id, in_reply_to_iri,
		mentions, announced, via, created_at, updated_at)
		VALUES (?1, ?2, ?3, ?4, COALESCE((SELECT host = '' FROM accounts WHERE id = ?4), 0),
			?5, ?6, ?7, ?8, ?9, ?10,
			COALESCE(?11, (SELECT id FROM posts WHERE iri = ?12 AND iri <> '')), ?12,
			?13, ?14, ?15, ?16, ?17)
		RETURNING in_reply_to_id`
	qPostAdopt = `UPDATE posts SET in_reply_to_id = ?1
		WHERE in_reply_to_iri = ?2 AND in_reply_to_id IS NULL AND in_reply_to_iri <> '' AND id <> ?1`
	qPostUpdate = `UPDATE posts SET content = ?, source = ?, summary = ?,
		sensitive = ?, language = ?, mentions = ?, announced = ?, via = ?, updated_at = ?
		WHERE id = ? AND deleted_at IS NULL`
	// The post_via rows of post ?1 from the JSON array ?2 (never '').
	qPostViaInsert = `INSERT OR IGNORE INTO post_via (node_iri, post_id)
		SELECT value, ?1 FROM json_each(?2)`
	qPostViaPrune = `DELETE FROM post_via
		WHERE post_id = ?1 AND node_iri NOT IN (SELECT value FROM json_each(?2))`
	qPostDeleted   = `SELECT deleted_at IS NOT NULL FROM posts WHERE id = ?`
	qPostTombstone = `UPDATE posts SET deleted_at = ?, content = '', source = '', summary = ''
		WHERE id = ? AND deleted_at IS NULL`
	qPostDeleteNotifications = `DELETE FROM notifications WHERE post_id = ?`
	qPostDeleteInteractions  = `DELETE FROM interactions WHERE post_id = ?`

	qPostByID   = `SELECT ` + postCols + postFrom + `WHERE p.id = ?`
	qPostByIRI  = `SELECT ` + postCols + postFrom + `WHERE p.iri = ? AND p.iri <> ''`
	qReplies    = `SELECT ` + postCols + postFrom + `WHERE p.in_reply_to_id = ? AND p.deleted_at IS NULL ORDER BY p.id LIMIT ?`
	qCountLocal = `SELECT count(*) FROM posts WHERE deleted_at IS NULL AND local = 1`
	qCountPosts = `SELECT count(*) FROM posts WHERE account_id = ? AND deleted_at IS NULL`
)

// CreatePost implements chapter.PostStore. When p.InReplyToID is 0 and
// the parent named by p.InReplyToIRI is already stored, its id is filled
// in; the posts waiting for p (their InReplyToIRI is p.IRI) get p's id.
// Empty and repeated IRIs are dropped from p.Via.
func (db *DB) CreatePost(ctx context.Context, p *chapter.Post, out []chapter.Outgoing) error {
	if p.ID <= 0 {
		return fmt.Errorf("store: create post: id %d: %w", p.ID, chapter.ErrInvalid)
	}
	p.CreatedAt = orNow(p.CreatedAt)
	if p.UpdatedAt.IsZero() {
		p.UpdatedAt = p.CreatedAt
	}
	if p.Visibility == "" {
		p.Visibility = chapter.VisibilityPublic
	}
	p.Via = cleanVia(p.Via)
	mentions, err := encodeStrings(p.Mentions)
	if err != nil {
		return fmt.Errorf("store: create post %d: %w", p.ID, err)
	}
	via, err := encodeStrings(p.Via)
	if err != nil {
		return fmt.Errorf("store: create post %d: %w", p.ID, err)
	}
	return db.withTx(ctx, func(tx *sql.Tx) error {
		var parent sql.NullInt64
		err := db.execRow(ctx, tx, qPostInsert,
			p.ID, p.IRI, p.URL, p.AccountID, p.Content, p.Source, p.Summary, p.Sensitive,
			p.Language, p.Visibility, nullIfZero(p.InReplyToID), p.InReplyToIRI,
			mentions, p.Announced, via, p.CreatedAt.UnixMilli(), p.UpdatedAt.UnixMilli()).Scan(&parent)
		if err != nil {
			return errf(err, "create post %d", p.ID)
		}
		p.InReplyToID = parent.Int64
		if p.IRI != "" {
			if _, err := db.exec(ctx, tx, qPostAdopt, p.ID, p.IRI); err != nil {
				return errf(err, "create post %d: adopt replies", p.ID)
			}
		}
		if via != "" {
			if _, err := db.exec(ctx, tx, qPostViaInsert, p.ID, via); err != nil {
				return errf(err, "create post %d: via", p.ID)
			}
		}
		return db.enqueue(ctx, tx, out)
	})
}

// UpdatePost implements chapter.PostStore. Besides the fields the
// interface names it saves Source and Mentions, which an edit changes too,
// and Via (cleaned as by CreatePost), which a relay may extend.
// A tombstone is not updated: ErrGone.
func (db *DB) UpdatePost(ctx context.Context, p *chapter.Post, out []chapter.Outgoing) error {
	p.UpdatedAt = orNow(p.UpdatedAt)
	p.Via = cleanVia(p.Via)
	mentions, err := encodeStrings(p.Mentions)
	if err != nil {
		return fmt.Errorf("store: update post %d: %w", p.ID, err)
	}
	via, err := encodeStrings(p.Via)
	if err != nil {
		return fmt.Errorf("store: update post %d: %w", p.ID, err)
	}
	return db.withTx(ctx, func(tx *sql.Tx) error {
		res, err := db.exec(ctx, tx, qPostUpdate,
			p.Content, p.Source, p.Summary, p.Sensitive, p.Language, mentions, p.Announced, via,
			p.UpdatedAt.UnixMilli(), p.ID)
		if err != nil {
			return errf(err, "update post %d", p.ID)
		}
		if err := db.livePostChanged(ctx, tx, res, p.ID); err != nil {
			return fmt.Errorf("store: update post %d: %w", p.ID, err)
		}
		// Only the rows that changed are written.
		if _, err := db.exec(ctx, tx, qPostViaPrune, p.ID, cmp.Or(via, "[]")); err != nil {
			return errf(err, "update post %d: via", p.ID)
		}
		if via != "" {
			if _, err := db.exec(ctx, tx, qPostViaInsert, p.ID, via); err != nil {
				return errf(err, "update post %d: via", p.ID)
			}
		}
		return db.enqueue(ctx, tx, out)
	})
}

// cleanVia drops empty and repeated IRIs from via, keeping the order;
// nil when none is left.
func cleanVia(via []string) []string {
	var out []string
	for _, iri := range via {
		if iri != "" && !slices.Contains(out, iri) {
			out = append(out, iri)
		}
	}
	return out
}

// livePostChanged explains an UPDATE … WHERE deleted_at IS NULL that
// changed nothing: ErrGone for a tombstone, ErrNotFound for no post.
func (db *DB) livePostChanged(ctx context.Context, tx *sql.Tx, res sql.Result, id int64) error {
	n, err := res.RowsAffected()
	if err != nil || n > 0 {
		return err
	}
	var deleted bool
	err = db.execRow(ctx, tx, qPostDeleted, id).Scan(&deleted)
	switch {
	case errors.Is(err, sql.ErrNoRows):
		return chapter.ErrNotFound
	case err != nil:
		return err
	case deleted:
		return chapter.ErrGone
	}
	return nil
}

// DeletePost implements chapter.PostStore. The tombstone keeps the post's
// addressing (IRI, author, visibility, reply and mentions); content,
// source and summary are cleared, the likes, boosts and notifications of
// the post deleted. Deleting a tombstone is ErrGone.
func (db *DB) DeletePost(ctx context.Context, id int64, at time.Time, out []chapter.Outgoing) error {
	at = orNow(at)
	return db.withTx(ctx, func(tx *sql.Tx) error {
		res, err := db.exec(ctx, tx, qPostTombstone, at.UnixMilli(), id)
		if err != nil {
			return errf(err, "delete post %d", id)
		}
		if err := db.livePostChanged(ctx, tx, res, id); err != nil {
			return fmt.Errorf("store: delete post %d: %w", id, err)
		}
		if _, err := db.exec(ctx, tx, qPostDeleteNotifications, id); err != nil {
			return errf(err, "delete post %d: notifications", id)
		}
		if _, err := db.exec(ctx, tx, qPostDeleteInteractions, id); err != nil {
			return errf(err, "delete post %d: interactions", id)
		}
		return db.enqueue(ctx, tx, out)
	})
}

// Post implements chapter.PostStore.
func (db *DB) Post(ctx context.Context, id int64) (*chapter.Post, error) {
	p := new(chapter.Post)
	err := db.readRow(ctx, nil, qPostByID, id).Scan(postDest(p)...)
	if err != nil {
		return nil, errf(err, "post %d", id)
	}
	return p, nil
}

// PostByIRI implements chapter.PostStore; tombstones included.
func (db *DB) PostByIRI(ctx context.Context, iri string) (*chapter.Post, error) {
	p := new(chapter.Post)
	err := db.readRow(ctx, nil, qPostByIRI, iri).Scan(postDest(p)...)
	if err != nil {
		return nil, errf(err, "post %s", iri)
	}
	return p, nil
}

// maxReplies bounds Replies, which the interface does not page.
const maxReplies = 1000

const qCountReplies = `SELECT count(*) FROM posts WHERE in_reply_to_id = ? AND deleted_at IS NULL`

// Replies implements chapter.PostStore; at most 1000 replies.
func (db *DB) Replies(ctx context.Context, postID int64) ([]*chapter.Post, error) {
	ps, err := db.posts(ctx, nil, qReplies, postID, maxReplies)
	return ps, errf(err, "replies to post %d", postID)
}

// CountReplies implements chapter.PostStore: the live direct replies to a
// post, counted on the replies index without reading them.
func (db *DB) CountReplies(ctx context.Context, postID int64) (int, error) {
	var n int
	err := db.readRow(ctx, nil, qCountReplies, postID).Scan(&n)
	return n, errf(err, "count replies to post %d", postID)
}

// Timeline limits.
const (
	defaultTimelineLimit = 20
	maxTimelineLimit     = 200
)

// Timeline implements chapter.PostStore. Every bound given applies: MaxID
// (id < MaxID), SinceID (id > SinceID) and MinID (id > MinID); with MinID
// the page is the oldest posts after it, in ascending order.
func (db *DB) Timeline(ctx context.Context, q chapter.TimelineQuery) ([]*chapter.Post, error) {
	query, args := timelineSQL(q)
	ps, err := db.posts(ctx, nil, query, args...)
	return ps, errf(err, "timeline")
}

// timelineSQL builds the query for q. Its text depends only on which
// filters are set (and how many visibilities), so the readers' statement
// cache holds a few dozen variants at most.
//
// With Via the query walks the node's range of post_via, newest first, and
// joins each post: the ids, their bounds and the order are post_via's.
func timelineSQL(q chapter.TimelineQuery) (string, []any) {
	var b strings.Builder
	args := make([]any, 0, 9)
	id := "p.id"
	b.WriteString(`SELECT ` + postCols)
	if q.Via != "" {
		// CROSS JOIN keeps post_via the outer loop.
		id = "v.post_id"
		b.WriteString(` FROM post_via v CROSS JOIN posts p ON p.id = v.post_id
			JOIN accounts a ON a.id = p.account_id
			WHERE v.node_iri = ? AND p.deleted_at IS NULL`)
		args = append(args, q.Via)
	} else {
		b.WriteString(postFrom + `WHERE p.deleted_at IS NULL`)
	}
	if q.AccountID != 0 {
		b.WriteString(` AND p.account_id = ?`)
		args = append(args, q.AccountID)
	}
	if q.NodeOnly {
		// The same terms as the partial index posts_node.
		b.WriteString(` AND (p.local = 1 OR p.announced = 1)`)
	}
	if len(q.Visibilities) > 0 {
		b.WriteString(` AND p.visibility IN (` + placeholders(len(q.Visibilities)) + `)`)
		for _, v := range q.Visibilities {
			args = append(args, v)
		}
	}
	if q.ExcludeReplies {
		b.WriteString(` AND p.in_reply_to_id IS NULL AND p.in_reply_to_iri = ''`)
	}
	if q.MaxID > 0 {
		b.WriteString(` AND ` + id + ` < ?`)
		args = append(args, q.MaxID)
	}
	if q.SinceID > 0 {
		b.WriteString(` AND ` + id + ` > ?`)
		args = append(args, q.SinceID)
	}
	if q.MinID > 0 {
		b.WriteString(` AND ` + id + ` > ? ORDER BY ` + id + ` ASC`)
		args = append(args, q.MinID)
	} else {
		b.WriteString(` ORDER BY ` + id + ` DESC`)
	}
	b.WriteString(` LIMIT ?`)
	args = append(args, limitOr(q.Limit, defaultTimelineLimit, maxTimelineLimit))
	return b.String(), args
}

// CountPosts implements chapter.PostStore.
func (db *DB) CountPosts(ctx context.Context, accountID int64) (int, error) {
	var n int
	var err error
	if accountID == 0 {
		err = db.readRow(ctx, nil, qCountLocal).Scan(&n)
	} else {
		err = db.readRow(ctx, nil, qCountPosts, accountID).Scan(&n)
	}
	return n, errf(err, "count posts of account %d", accountID)
}

// posts runs a query of postCols on the readers.
func (db *DB) posts(ctx context.Context, tx *sql.Tx, query string, args ...any) ([]*chapter.Post, error) {
	rows, err := db.read(ctx, tx, query, args...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var ps []*chapter.Post
	for rows.Next() {
		p := new(chapter.Post)
		if err := rows.Scan(postDest(p)...); err != nil {
			return nil, err
		}
		ps = append(ps, p)
	}
	return ps, rows.Err()
}
