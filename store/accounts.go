package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"

	"github.com/chapterhouse/chapterhouse/chapter"
)

// accountCols are the columns accountDest scans, for a table aliased a.
const accountCols = `a.id, a.username, a.host, a.kind, a.display_name, a.bio, a.role, a.state,
	a.actor_iri, a.inbox_iri, a.shared_inbox_iri, a.followers_iri, a.url, a.avatar_url,
	a.public_key_id, a.public_key_pem, a.locked, a.email, a.region, a.application,
	a.level, a.parent_iri, a.created_at, a.updated_at, a.fetched_at`

// accountDest lists where accountCols go in a.
func accountDest(a *chapter.Account) []any {
	return []any{&a.ID, &a.Username, &a.Host, &a.Kind, &a.DisplayName, &a.Bio, &a.Role, &a.State,
		&a.ActorIRI, &a.InboxIRI, &a.SharedInboxIRI, &a.FollowersIRI, &a.URL, &a.AvatarURL,
		&a.PublicKeyID, &a.PublicKeyPEM, &a.Locked, &a.Email, &a.Region, &a.Application,
		&a.Level, &a.ParentIRI, timeDest{&a.CreatedAt}, timeDest{&a.UpdatedAt}, timeDest{&a.FetchedAt}}
}

const (
	qAccountInsert = `INSERT INTO accounts (username, host, kind, display_name, bio,
		role, state, actor_iri, inbox_iri, shared_inbox_iri, followers_iri, url, avatar_url,
		public_key_id, public_key_pem, locked, email, region, application,
		level, parent_iri, created_at, updated_at, fetched_at)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) RETURNING id`
	qAccountUpdate = `UPDATE accounts SET kind = ?, display_name = ?, bio = ?,
		role = ?, state = ?, actor_iri = ?, inbox_iri = ?, shared_inbox_iri = ?, followers_iri = ?,
		url = ?, avatar_url = ?, public_key_id = ?, public_key_pem = ?, locked = ?,
		email = ?, region = ?, application = ?, level = ?, parent_iri = ?, updated_at = ?, fetched_at = ?
		WHERE id = ?`
	// The DO UPDATE keeps role, state, created_at and what only this node
	// records (email, region, application), and refuses to turn a local
	// account (whose IRI a remote document claims) into a remote one. A new
	// remote actor gets no email or application: it never applied here.
	qAccountUpsertRemote = `INSERT INTO accounts (username, host, kind, display_name, bio,
		role, state, actor_iri, inbox_iri, shared_inbox_iri, followers_iri, url, avatar_url,
		public_key_id, public_key_pem, locked, region, level, parent_iri, created_at, updated_at, fetched_at)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
		ON CONFLICT (actor_iri) WHERE actor_iri <> '' DO UPDATE SET
			username = excluded.username, host = excluded.host, kind = excluded.kind,
			display_name = excluded.display_name, bio = excluded.bio,
			inbox_iri = excluded.inbox_iri, shared_inbox_iri = excluded.shared_inbox_iri,
			followers_iri = excluded.followers_iri, url = excluded.url,
			avatar_url = excluded.avatar_url, public_key_id = excluded.public_key_id,
			public_key_pem = excluded.public_key_pem, locked = excluded.locked,
			level = excluded.level, parent_iri = excluded.parent_iri,
			updated_at = excluded.updated_at,
			fetched_at = COALESCE(excluded.fetched_at, fetched_at)
		WHERE accounts.host <> ''
		RETURNING id, role, state, email, region, application, created_at`
	qAccountHost          = `SELECT host FROM accounts WHERE id = ?`
	qAccountDetachReplies = `UPDATE posts SET in_reply_to_id = NULL
		WHERE in_reply_to_id IN (SELECT id FROM posts WHERE account_id = ?)`
	qAccountDelete = `DELETE FROM accounts WHERE id = ?`

	qAccountByID       = `SELECT ` + accountCols + ` FROM accounts a WHERE a.id = ?`
	qAccountByUsername = `SELECT ` + accountCols + ` FROM accounts a WHERE a.username = ? AND a.host = ''`
	qAccountByHandle   = `SELECT ` + accountCols + ` FROM accounts a WHERE a.username = ? AND a.host = ?`
	qAccountByIRI      = `SELECT ` + accountCols + ` FROM accounts a WHERE a.actor_iri = ? AND a.actor_iri <> ''`
	qAccountByKeyID    = `SELECT ` + accountCols + ` FROM accounts a
		WHERE a.public_key_id = ? AND a.public_key_id <> '' ORDER BY a.id LIMIT 1`
	qMembers = `SELECT ` + accountCols + ` FROM accounts a
		WHERE a.state = ? ORDER BY a.id LIMIT ? OFFSET ?`
	qCountMembers = `SELECT count(*) FROM accounts WHERE state = ? AND NOT (host = '' AND kind = 'Group')`
)

// CreateAccount implements chapter.AccountStore. It sets CreatedAt and
// UpdatedAt when unset, and Kind to Person.
func (db *DB) CreateAccount(ctx context.Context, a *chapter.Account) error {
	if a.Username == "" {
		return fmt.Errorf("store: create account: empty username: %w", chapter.ErrInvalid)
	}
	a.CreatedAt = orNow(a.CreatedAt)
	if a.UpdatedAt.IsZero() {
		a.UpdatedAt = a.CreatedAt
	}
	if a.Kind == "" {
		a.Kind = chapter.KindPerson
	}
	err := db.execRow(ctx, nil, qAccountInsert,
		a.Username, a.Host, a.Kind, a.DisplayName, a.Bio, a.Role, a.State,
		a.ActorIRI, a.InboxIRI, a.SharedInboxIRI, a.FollowersIRI, a.URL, a.AvatarURL,
		a.PublicKeyID, a.PublicKeyPEM, a.Locked, a.Email, a.Region, a.Application, a.Level, a.ParentIRI,
		a.CreatedAt.UnixMilli(), a.UpdatedAt.UnixMilli(), millis(a.FetchedAt)).Scan(&a.ID)
	return errf(err, "create account %q", a.Acct())
}

// UpdateAccount implements chapter.AccountStore. The username and host
// never change; every other field is saved, UpdatedAt set to now when unset.
func (db *DB) UpdateAccount(ctx context.Context, a *chapter.Account, out []chapter.Outgoing) error {
	a.UpdatedAt = orNow(a.UpdatedAt)
	return db.withTx(ctx, func(tx *sql.Tx) error {
		res, err := db.exec(ctx, tx, qAccountUpdate,
			a.Kind, a.DisplayName, a.Bio, a.Role, a.State,
			a.ActorIRI, a.InboxIRI, a.SharedInboxIRI, a.FollowersIRI, a.URL, a.AvatarURL,
			a.PublicKeyID, a.PublicKeyPEM, a.Locked, a.Email, a.Region, a.Application, a.Level, a.ParentIRI,
			a.UpdatedAt.UnixMilli(), millis(a.FetchedAt), a.ID)
		if err == nil {
			err = notFoundIfNone(res)
		}
		if err != nil {
			return errf(err, "update account %d", a.ID)
		}
		return db.enqueue(ctx, tx, out)
	})
}

// UpsertRemoteAccount implements chapter.AccountStore. It refreshes every
// field but the Role, State, CreatedAt, Email, Region and Application this
// node recorded (read back into a); a new actor is stored with a.Region
// but no Email or Application. ActorIRI and Host are required (ErrInvalid); an IRI that is a
// local account's, or a handle taken by another actor, is ErrConflict.
func (db *DB) UpsertRemoteAccount(ctx context.Context, a *chapter.Account) error {
	if a.ActorIRI == "" || a.Host == "" {
		return fmt.Errorf("store: upsert remote account %q: actor IRI and host are required: %w",
			a.Username, chapter.ErrInvalid)
	}
	now := time.Now().Truncate(time.Millisecond)
	if a.CreatedAt.IsZero() {
		a.CreatedAt = now
	}
	a.UpdatedAt = orNow(a.UpdatedAt)
	if a.Kind == "" {
		a.Kind = chapter.KindPerson
	}
	var created int64
	err := db.execRow(ctx, nil, qAccountUpsertRemote,
		a.Username, a.Host, a.Kind, a.DisplayName, a.Bio, a.Role, a.State,
		a.ActorIRI, a.InboxIRI, a.SharedInboxIRI, a.FollowersIRI, a.URL, a.AvatarURL,
		a.PublicKeyID, a.PublicKeyPEM, a.Locked, a.Region, a.Level, a.ParentIRI,
		a.CreatedAt.UnixMilli(), a.UpdatedAt.UnixMilli(), millis(a.FetchedAt),
	).Scan(&a.ID, &a.Role, &a.State, &a.Email, &a.Region, &a.Application, &created)
	if errors.Is(err, sql.ErrNoRows) {
		return fmt.Errorf("store: upsert remote account %q: the IRI is a local account's: %w",
			a.ActorIRI, chapter.ErrConflict)
	}
	if err != nil {
		return errf(err, "upsert remote account %q", a.ActorIRI)
	}
	a.CreatedAt = fromMillis(created)
	return nil
}

// DeleteAccount implements chapter.AccountStore. Local accounts are not
// deleted this way (ErrInvalid). The foreign keys cascade to the posts,
// follows both ways, interactions, notifications from the account and
// those about its posts; replies to its posts keep their parent's IRI but
// lose its id.
func (db *DB) DeleteAccount(ctx context.Context, id int64) error {
	return db.withTx(ctx, func(tx *sql.Tx) error {
		var host string
		if err := db.execRow(ctx, tx, qAccountHost, id).Scan(&host); err != nil {
			return errf(err, "delete account %d", id)
		}
		if host == "" {
			return fmt.Errorf("store: delete account %d: a local account: %w", id, chapter.ErrInvalid)
		}
		if _, err := db.exec(ctx, tx, qAccountDetachReplies, id); err != nil {
			return errf(err, "delete account %d", id)
		}
		_, err := db.exec(ctx, tx, qAccountDelete, id)
		return errf(err, "delete account %d", id)
	})
}

// account reads the one account a query of accountCols returns.
func (db *DB) account(ctx context.Context, query string, args ...any) (*chapter.Account, error) {
	a := new(chapter.Account)
	if err := db.readRow(ctx, nil, query, args...).Scan(accountDest(a)...); err != nil {
		return nil, err
	}
	return a, nil
}

// Account implements chapter.AccountStore.
func (db *DB) Account(ctx context.Context, id int64) (*chapter.Account, error) {
	a, err := db.account(ctx, qAccountByID, id)
	return a, errf(err, "account %d", id)
}

// AccountByUsername implements chapter.AccountStore, case-insensitively.
func (db *DB) AccountByUsername(ctx context.Context, username string) (*chapter.Account, error) {
	a, err := db.account(ctx, qAccountByUsername, username)
	return a, errf(err, "account %q", username)
}

// AccountByHandle implements chapter.AccountStore. Usernames and hosts
// compare case-insensitively.
func (db *DB) AccountByHandle(ctx context.Context, username, host string) (*chapter.Account, error) {
	a, err := db.account(ctx, qAccountByHandle, username, host)
	return a, errf(err, "account %s@%s", username, host)
}

// AccountByIRI implements chapter.AccountStore.
func (db *DB) AccountByIRI(ctx context.Context, iri string) (*chapter.Account, error) {
	a, err := db.account(ctx, qAccountByIRI, iri)
	return a, errf(err, "account %s", iri)
}

// AccountByKeyID implements chapter.AccountStore.
func (db *DB) AccountByKeyID(ctx context.Context, keyID string) (*chapter.Account, error) {
	a, err := db.account(ctx, qAccountByKeyID, keyID)
	return a, errf(err, "account with key %s", keyID)
}

// Members implements chapter.AccountStore. limit defaults to 100, at most
// 1000.
func (db *DB) Members(ctx context.Context, state chapter.State, limit, offset int) ([]*chapter.Account, error) {
	as, err := db.accounts(ctx, nil, qMembers, state, limitOr(limit, 100, 1000), max(offset, 0))
	return as, errf(err, "members %q", state)
}

// CountMembers implements chapter.AccountStore.
func (db *DB) CountMembers(ctx context.Context) (int, error) {
	var n int
	err := db.readRow(ctx, nil, qCountMembers, chapter.StateActive).Scan(&n)
	return n, errf(err, "count members")
}

// accounts runs a query of accountCols on the readers.
func (db *DB) accounts(ctx context.Context, tx *sql.Tx, query string, args ...any) ([]*chapter.Account, error) {
	rows, err := db.read(ctx, tx, query, args...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var as []*chapter.Account
	for rows.Next() {
		a := new(chapter.Account)
		if err := rows.Scan(accountDest(a)...); err != nil {
			return nil, err
		}
		as = append(as, a)
	}
	return as, rows.Err()
}
