package store

import (
	"context"
	"errors"
	"testing"

	"github.com/chapterhouse/chapterhouse/chapter"
)

func TestTokens(t *testing.T) {
	db := newTestDB(t)
	ctx := context.Background()
	alice := mustLocal(t, db, "alice")
	tests := []struct {
		name    string
		account int64
		hash    string
		want    error
	}{
		{"new", alice.ID, "h1", nil},
		{"second token", alice.ID, "h2", nil},
		{"taken hash", alice.ID, "h1", chapter.ErrConflict},
		{"missing account", 999, "h3", chapter.ErrNotFound},
		{"empty hash", alice.ID, "", chapter.ErrInvalid},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := db.CreateToken(ctx, tt.account, tt.hash)
			if !errors.Is(err, tt.want) || (tt.want == nil && err != nil) {
				t.Errorf("CreateToken: got %v, want %v", err, tt.want)
			}
		})
	}
	for _, h := range []string{"h1", "h2"} {
		if a, err := db.AccountByTokenHash(ctx, h); err != nil || a.ID != alice.ID {
			t.Errorf("AccountByTokenHash(%s): got %v, %v", h, a, err)
		}
	}
	if _, err := db.AccountByTokenHash(ctx, "nope"); !errors.Is(err, chapter.ErrNotFound) {
		t.Errorf("unknown token: got %v, want ErrNotFound", err)
	}
	if err := db.DeleteToken(ctx, "h1"); err != nil {
		t.Fatal(err)
	}
	if _, err := db.AccountByTokenHash(ctx, "h1"); !errors.Is(err, chapter.ErrNotFound) {
		t.Errorf("revoked token: got %v, want ErrNotFound", err)
	}
	if err := db.DeleteToken(ctx, "h1"); !errors.Is(err, chapter.ErrNotFound) {
		t.Errorf("DeleteToken twice: got %v, want ErrNotFound", err)
	}
}
