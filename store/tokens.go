package store

import (
	"context"
	"fmt"
	"time"

	"github.com/chapterhouse/chapterhouse/chapter"
)

const (
	qTokenInsert  = `INSERT INTO tokens (hash, account_id, created_at) VALUES (?, ?, ?)`
	qTokenDelete  = `DELETE FROM tokens WHERE hash = ?`
	qTokensRevoke = `DELETE FROM tokens WHERE account_id = ?`
	qTokenAccount = `SELECT ` + accountCols + ` FROM tokens t JOIN accounts a ON a.id = t.account_id WHERE t.hash = ?`
)

// CreateToken implements chapter.TokenStore: ErrConflict when the hash is
// taken, ErrNotFound when the account does not exist.
func (db *DB) CreateToken(ctx context.Context, accountID int64, hash string) error {
	if hash == "" {
		return fmt.Errorf("store: create token: empty hash: %w", chapter.ErrInvalid)
	}
	_, err := db.exec(ctx, nil, qTokenInsert, hash, accountID, time.Now().UnixMilli())
	return errf(err, "create token for account %d", accountID)
}

// AccountByTokenHash implements chapter.TokenStore.
func (db *DB) AccountByTokenHash(ctx context.Context, hash string) (*chapter.Account, error) {
	a, err := db.account(ctx, qTokenAccount, hash)
	return a, errf(err, "account by token")
}

// DeleteToken implements chapter.MembershipStore: it revokes a token;
// ErrNotFound when there is none.
func (db *DB) DeleteToken(ctx context.Context, hash string) error {
	res, err := db.exec(ctx, nil, qTokenDelete, hash)
	if err == nil {
		err = notFoundIfNone(res)
	}
	return errf(err, "delete token")
}

// RevokeTokens implements chapter.MembershipStore: every API token and
// session of an account goes, and returns how many there were.
func (db *DB) RevokeTokens(ctx context.Context, accountID int64) (int, error) {
	res, err := db.exec(ctx, nil, qTokensRevoke, accountID)
	if err != nil {
		return 0, errf(err, "revoke tokens of account %d", accountID)
	}
	n, err := res.RowsAffected()
	return int(n), errf(err, "revoke tokens of account %d", accountID)
}
