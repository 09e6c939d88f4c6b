package store

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/chapterhouse/chapterhouse/chapter"
)

func TestOpenCreatesPrivateFiles(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "data", "nested")
	db, err := Open(context.Background(), dir)
	if err != nil {
		t.Fatalf("Open: %v", err)
	}
	defer db.Close()
	// A write, so that the -wal file certainly exists.
	mustLocal(t, db, "alice")

	tests := []struct {
		name string
		path string
		want os.FileMode
	}{
		{"data dir", dir, 0o700 | os.ModeDir},
		{"database", filepath.Join(dir, FileName), 0o600},
		{"wal", filepath.Join(dir, FileName+"-wal"), 0o600},
		{"shm", filepath.Join(dir, FileName+"-shm"), 0o600},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			fi, err := os.Stat(tt.path)
			if err != nil {
				t.Fatal(err)
			}
			if got := fi.Mode() &^ (os.ModeType &^ os.ModeDir); got != tt.want {
				t.Errorf("mode of %s: got %v, want %v", tt.path, got, tt.want)
			}
		})
	}
	if got, want := db.Path(), filepath.Join(dir, FileName); got != want {
		t.Errorf("Path: got %q, want %q", got, want)
	}
}

func TestMigrationsRunOnceAcrossReopen(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	ms, err := migrations()
	if err != nil {
		t.Fatal(err)
	}
	latest := ms[len(ms)-1].version

	var created int64
	for i := range 3 {
		db, err := Open(ctx, dir)
		if err != nil {
			t.Fatalf("Open #%d: %v", i+1, err)
		}
		v, err := db.SchemaVersion(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if v != latest {
			t.Errorf("open #%d: schema version: got %d, want %d", i+1, v, latest)
		}
		var n int
		if err := db.r.QueryRowContext(ctx, `SELECT count(*) FROM schema_migrations`).Scan(&n); err != nil {
			t.Fatal(err)
		}
		if n != len(ms) {
			t.Errorf("open #%d: schema_migrations rows: got %d, want %d", i+1, n, len(ms))
		}
		// Data survives reopening.
		if i == 0 {
			created = mustLocal(t, db, "alice").ID
		} else if a, err := db.AccountByUsername(ctx, "alice"); err != nil || a.ID != created {
			t.Errorf("open #%d: alice: got %v, %v; want id %d", i+1, a, err, created)
		}
		if err := db.Close(); err != nil {
			t.Fatal(err)
		}
	}
}

func TestOpenRefusesNewerSchema(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	db, err := Open(ctx, dir)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := db.w.ExecContext(ctx, `INSERT INTO schema_migrations (version, applied_at) VALUES (9999, 0)`); err != nil {
		t.Fatal(err)
	}
	db.Close()
	if db, err := Open(ctx, dir); err == nil {
		db.Close()
		t.Fatal("Open of a database from a newer program: got no error")
	}
}

func TestMigrationFiles(t *testing.T) {
	ms, err := migrations()
	if err != nil {
		t.Fatal(err)
	}
	for i, m := range ms {
		if got, want := m.version, i+1; got != want {
			t.Errorf("migration %s: version %d, want %d (no gaps)", m.name, got, want)
		}
	}
}

func TestPragmas(t *testing.T) {
	db := newTestDB(t)
	ctx := context.Background()
	tests := []struct {
		pragma string
		want   string
	}{
		{"journal_mode", "wal"},
		{"foreign_keys", "1"},
		{"busy_timeout", "5000"},
		{"synchronous", "1"}, // NORMAL
	}
	pools := []struct {
		name string
		run  func(q string) (string, error)
	}{
		{"writer", func(q string) (s string, err error) { return s, db.w.QueryRowContext(ctx, q).Scan(&s) }},
		{"reader", func(q string) (s string, err error) { return s, db.r.QueryRowContext(ctx, q).Scan(&s) }},
	}
	for _, p := range pools {
		for _, tt := range tests {
			t.Run(p.name+"/"+tt.pragma, func(t *testing.T) {
				got, err := p.run("PRAGMA " + tt.pragma)
				if err != nil {
					t.Fatal(err)
				}
				if got != tt.want {
					t.Errorf("PRAGMA %s: got %q, want %q", tt.pragma, got, tt.want)
				}
			})
		}
	}
	if _, err := db.r.ExecContext(ctx, `DELETE FROM accounts`); err == nil {
		t.Error("a write on the reader pool: got no error, want query_only to refuse it")
	}
}

func TestErrorMapping(t *testing.T) {
	db := newTestDB(t)
	ctx := context.Background()
	mustLocal(t, db, "alice")
	tests := []struct {
		name string
		err  error
		want error
	}{
		{"missing row", func() error { _, err := db.Account(ctx, 999); return err }(), chapter.ErrNotFound},
		{"unique", db.CreateAccount(ctx, &chapter.Account{Username: "alice"}), chapter.ErrConflict},
		{"foreign key", db.CreateToken(ctx, 999, "hash"), chapter.ErrNotFound},
		{"invalid", db.CreateAccount(ctx, &chapter.Account{}), chapter.ErrInvalid},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if !errors.Is(tt.err, tt.want) {
				t.Errorf("got %v, want %v", tt.err, tt.want)
			}
		})
	}
	_, err := db.Account(ctx, 999)
	if got, want := err.Error(), "store: account 999: not found"; got != want {
		t.Errorf("message: got %q, want %q", got, want)
	}
}

func TestCancelledContext(t *testing.T) {
	db := newTestDB(t)
	g := new(ids)
	alice := mustLocal(t, db, "alice")
	mustPost(t, db, g, alice, "first")

	cancelled, cancel := context.WithCancel(context.Background())
	cancel()
	calls := []struct {
		name string
		call func(ctx context.Context) error
	}{
		{"read", func(ctx context.Context) error { _, err := db.Account(ctx, alice.ID); return err }},
		{"timeline", func(ctx context.Context) error { _, err := db.Timeline(ctx, chapter.TimelineQuery{}); return err }},
		{"write", func(ctx context.Context) error {
			return db.CreateAccount(ctx, &chapter.Account{Username: "bob"})
		}},
		{"transaction", func(ctx context.Context) error {
			return db.CreatePost(ctx, &chapter.Post{ID: g.next(), AccountID: alice.ID}, nil)
		}},
		{"read transaction", func(ctx context.Context) error { _, err := db.Notifications(ctx, alice.ID, 0, 10); return err }},
		{"inbox", func(ctx context.Context) error {
			_, err := db.SaveInbox(ctx, &chapter.InboxItem{ActivityIRI: "https://x.example/1"})
			return err
		}},
	}
	for _, c := range calls {
		t.Run(c.name, func(t *testing.T) {
			if err := c.call(cancelled); !errors.Is(err, context.Canceled) {
				t.Errorf("with a cancelled context: got %v, want context.Canceled", err)
			}
			// The connection the call used still works.
			for i := range 3 {
				if err := c.call(context.Background()); err != nil && !errors.Is(err, chapter.ErrConflict) {
					t.Fatalf("call #%d after cancellation: %v", i+1, err)
				}
			}
		})
	}
}

func TestCancelDuringTransaction(t *testing.T) {
	db := newTestDB(t)
	ctx := context.Background()
	signer := mustLocal(t, db, "group")
	inboxes := make([]string, 20000)
	for i := range inboxes {
		inboxes[i] = fmt.Sprintf("https://s%d.example/inbox", i)
	}
	for _, delay := range []time.Duration{0, 100 * time.Microsecond, time.Millisecond, 5 * time.Millisecond} {
		t.Run(delay.String(), func(t *testing.T) {
			cctx, cancel := context.WithCancel(ctx)
			iri := "https://node.example/activities/" + delay.String()
			done := make(chan error, 1)
			go func() {
				done <- db.Enqueue(cctx, []chapter.Outgoing{{ActivityIRI: iri, SignerID: signer.ID, Inboxes: inboxes}})
			}()
			time.Sleep(delay)
			cancel()
			err := <-done
			var acts int
			if err := db.r.QueryRowContext(ctx, `SELECT count(*) FROM activities WHERE activity_iri = ?`, iri).Scan(&acts); err != nil {
				t.Fatal(err)
			}
			// All or nothing.
			if err != nil {
				if !errors.Is(err, context.Canceled) {
					t.Errorf("cancelled Enqueue: got %v, want context.Canceled", err)
				}
				if acts != 0 {
					t.Errorf("cancelled Enqueue (%v) left its activity", err)
				}
			} else if acts != 1 {
				t.Errorf("Enqueue succeeded but the activity is missing")
			}
			// Clean up and check the writer still works.
			if _, err := db.w.ExecContext(ctx, `DELETE FROM activities`); err != nil {
				t.Fatalf("writer after cancellation: %v", err)
			}
			if _, err := db.AccountByUsername(ctx, "group"); err != nil {
				t.Fatalf("reader after cancellation: %v", err)
			}
		})
	}
}

func TestConcurrentWriters(t *testing.T) {
	db := newTestDB(t)
	ctx := context.Background()
	g := new(ids)
	group := mustLocal(t, db, "group")
	const workers, each = 8, 25
	var wg sync.WaitGroup
	errs := make(chan error, workers*each*4)
	for w := range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range each {
				a := &chapter.Account{Username: fmt.Sprintf("m%d_%d", w, i), State: chapter.StateActive}
				if err := db.CreateAccount(ctx, a); err != nil {
					errs <- err
					continue
				}
				id := g.next()
				p := &chapter.Post{ID: id, IRI: fmt.Sprintf("https://node.example/p/%d", id), AccountID: a.ID, Content: "hi"}
				out := []chapter.Outgoing{{ActivityIRI: fmt.Sprintf("https://node.example/a/%d", id), SignerID: a.ID,
					Inboxes: []string{"https://a.example/inbox", "https://b.example/inbox"}}}
				if err := db.CreatePost(ctx, p, out); err != nil {
					errs <- err
				}
				if _, err := db.AddNotification(ctx, &chapter.Notification{AccountID: group.ID, Type: chapter.NotifyMention,
					FromID: a.ID, PostID: id, DedupingKey: fmt.Sprint("mention:", id)}); err != nil {
					errs <- err
				}
				if _, err := db.SaveInbox(ctx, &chapter.InboxItem{ActivityIRI: fmt.Sprintf("https://r.example/%d/%d", w, i)}); err != nil {
					errs <- err
				}
				if _, err := db.Timeline(ctx, chapter.TimelineQuery{NodeOnly: true}); err != nil {
					errs <- err
				}
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
	checks := []struct {
		name string
		got  func() (int, error)
		want int
	}{
		{"members", func() (int, error) { return db.CountMembers(ctx) }, workers*each + 1}, // and the group
		{"posts", func() (int, error) { return db.CountPosts(ctx, 0) }, workers * each},
		{"deliveries", func() (int, error) { return db.CountDeliveries(ctx) }, workers * each * 2},
		{"pending inbox", func() (int, error) { items, err := db.PendingInbox(ctx, 1000); return len(items), err }, workers * each},
		{"notifications", func() (int, error) { ns, err := db.Notifications(ctx, group.ID, 0, 200); return len(ns), err }, workers * each},
	}
	for _, c := range checks {
		got, err := c.got()
		if err != nil {
			t.Fatal(err)
		}
		if got != c.want {
			t.Errorf("%s: got %d, want %d", c.name, got, c.want)
		}
	}
}

func TestCallsAfterClose(t *testing.T) {
	db, err := Open(context.Background(), t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	if err := db.Close(); err != nil {
		t.Fatal(err)
	}
	if _, err := db.SaveInbox(context.Background(), &chapter.InboxItem{ActivityIRI: "x"}); err == nil {
		t.Error("SaveInbox after Close: got no error")
	}
	if _, err := db.Account(context.Background(), 1); err == nil {
		t.Error("Account after Close: got no error")
	}
}
