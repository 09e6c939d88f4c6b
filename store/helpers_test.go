package store

import (
	"context"
	"fmt"
	"sync/atomic"
	"testing"
	"time"

	"github.com/chapterhouse/chapterhouse/chapter"
)

// newTestDB opens a store in a fresh temporary directory.
func newTestDB(tb testing.TB) *DB {
	tb.Helper()
	db, err := Open(context.Background(), tb.TempDir())
	if err != nil {
		tb.Fatalf("Open: %v", err)
	}
	// Every writer statement must be in writeQueries.
	db.ws.strict = true
	tb.Cleanup(func() {
		if err := db.Close(); err != nil {
			tb.Errorf("Close: %v", err)
		}
	})
	return db
}

// ids hands out increasing post ids, like the snowflakes of the caller.
type ids struct{ n atomic.Int64 }

func (g *ids) next() int64 { return g.n.Add(1) }

// mustLocal creates a local account.
func mustLocal(tb testing.TB, db *DB, username string) *chapter.Account {
	tb.Helper()
	a := &chapter.Account{Username: username, Role: chapter.RoleMember, State: chapter.StateActive}
	if err := db.CreateAccount(context.Background(), a); err != nil {
		tb.Fatalf("CreateAccount(%s): %v", username, err)
	}
	return a
}

// mustRemote creates a remote account on host with a personal inbox and
// the host's shared inbox.
func mustRemote(tb testing.TB, db *DB, username, host string) *chapter.Account {
	tb.Helper()
	base := "https://" + host
	a := &chapter.Account{
		Username:       username,
		Host:           host,
		Kind:           chapter.KindPerson,
		ActorIRI:       base + "/users/" + username,
		InboxIRI:       base + "/users/" + username + "/inbox",
		SharedInboxIRI: base + "/inbox",
		PublicKeyID:    base + "/users/" + username + "#main-key",
	}
	if err := db.UpsertRemoteAccount(context.Background(), a); err != nil {
		tb.Fatalf("UpsertRemoteAccount(%s@%s): %v", username, host, err)
	}
	return a
}

// mustPost creates a public post by author.
func mustPost(tb testing.TB, db *DB, g *ids, author *chapter.Account, content string) *chapter.Post {
	tb.Helper()
	id := g.next()
	p := &chapter.Post{
		ID:         id,
		IRI:        fmt.Sprintf("https://node.example/posts/%d", id),
		AccountID:  author.ID,
		Content:    content,
		Visibility: chapter.VisibilityPublic,
		CreatedAt:  time.UnixMilli(1_700_000_000_000 + id),
	}
	if err := db.CreatePost(context.Background(), p, nil); err != nil {
		tb.Fatalf("CreatePost: %v", err)
	}
	return p
}
