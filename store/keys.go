package store

import (
	"context"
	"database/sql"
	"fmt"

	"github.com/chapterhouse/chapterhouse/chapter"
)

const (
	qKeyAccount = `UPDATE accounts SET public_key_pem = ? WHERE id = ?`
	qKeyUpsert  = `INSERT INTO keys (account_id, private_pem, public_pem) VALUES (?, ?, ?)
		ON CONFLICT (account_id) DO UPDATE SET private_pem = excluded.private_pem, public_pem = excluded.public_pem`
	qPrivateKey         = `SELECT private_pem FROM keys WHERE account_id = ?`
	qAccountsWithoutKey = `SELECT a.id FROM accounts a
		WHERE a.host = '' AND NOT EXISTS (SELECT 1 FROM keys k WHERE k.account_id = a.id)
		ORDER BY a.id LIMIT ?`
)

// SetKey implements chapter.KeyStore: it replaces the account's key pair
// and copies the public half to the account's PublicKeyPEM.
func (db *DB) SetKey(ctx context.Context, accountID int64, privatePEM, publicPEM string) error {
	if privatePEM == "" || publicPEM == "" {
		return fmt.Errorf("store: set key of account %d: empty PEM: %w", accountID, chapter.ErrInvalid)
	}
	return db.withTx(ctx, func(tx *sql.Tx) error {
		res, err := db.exec(ctx, tx, qKeyAccount, publicPEM, accountID)
		if err == nil {
			err = notFoundIfNone(res)
		}
		if err == nil {
			_, err = db.exec(ctx, tx, qKeyUpsert, accountID, privatePEM, publicPEM)
		}
		return errf(err, "set key of account %d", accountID)
	})
}

// PrivateKey implements chapter.KeyStore.
func (db *DB) PrivateKey(ctx context.Context, accountID int64) (string, error) {
	var pem string
	err := db.readRow(ctx, nil, qPrivateKey, accountID).Scan(&pem)
	return pem, errf(err, "private key of account %d", accountID)
}

// AccountsWithoutKey implements chapter.KeyStore, oldest accounts first;
// limit defaults to 100.
func (db *DB) AccountsWithoutKey(ctx context.Context, limit int) ([]int64, error) {
	ids, err := db.int64s(ctx, nil, qAccountsWithoutKey, limitOr(limit, 100, 10000))
	return ids, errf(err, "accounts without key")
}

// int64s runs a query of one integer column on the readers.
func (db *DB) int64s(ctx context.Context, tx *sql.Tx, query string, args ...any) ([]int64, error) {
	rows, err := db.read(ctx, tx, query, args...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var vs []int64
	for rows.Next() {
		var v int64
		if err := rows.Scan(&v); err != nil {
			return nil, err
		}
		vs = append(vs, v)
	}
	return vs, rows.Err()
}

// texts runs a query of one text column on the readers.
func (db *DB) texts(ctx context.Context, tx *sql.Tx, query string, args ...any) ([]string, error) {
	rows, err := db.read(ctx, tx, query, args...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var vs []string
	for rows.Next() {
		var v string
		if err := rows.Scan(&v); err != nil {
			return nil, err
		}
		vs = append(vs, v)
	}
	return vs, rows.Err()
}
