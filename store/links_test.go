package store

import (
	"context"
	"errors"
	"slices"
	"testing"
	"time"

	"github.com/chapterhouse/chapterhouse/chapter"
)

// mustGroup upserts a remote Chapterhouse Group at host.
func mustGroup(tb testing.TB, db *DB, host string, level chapter.Level, parentIRI string) *chapter.Account {
	tb.Helper()
	base := "https://" + host
	a := &chapter.Account{
		Username:       "chapter",
		Host:           host,
		Kind:           chapter.KindGroup,
		ActorIRI:       base + "/users/chapter",
		InboxIRI:       base + "/users/chapter/inbox",
		SharedInboxIRI: base + "/inbox",
		Level:          level,
		ParentIRI:      parentIRI,
	}
	if err := db.UpsertRemoteAccount(context.Background(), a); err != nil {
		tb.Fatalf("UpsertRemoteAccount(%s): %v", a.ActorIRI, err)
	}
	return a
}

func TestPutLink(t *testing.T) {
	db := newTestDB(t)
	ctx := context.Background()
	city := mustGroup(t, db, "city.example", chapter.LevelCity, "https://national.example/users/chapter")
	t0 := time.UnixMilli(1_700_000_000_000).UTC()

	l := &chapter.Link{AccountID: city.ID, Role: chapter.RoleParent, State: chapter.LinkPending, CreatedAt: t0}
	if err := db.PutLink(ctx, l); err != nil {
		t.Fatal(err)
	}
	got, err := db.Link(ctx, city.ID)
	if err != nil {
		t.Fatal(err)
	}
	if got.AccountID != city.ID || got.Role != chapter.RoleParent || got.State != chapter.LinkPending ||
		!got.CreatedAt.Equal(t0) || !got.LastActivityAt.IsZero() {
		t.Errorf("Link: got %+v", got)
	}
	if got.Account == nil || got.Account.ID != city.ID || got.Account.ActorIRI != city.ActorIRI ||
		got.Account.Level != chapter.LevelCity || got.Account.ParentIRI != city.ParentIRI {
		t.Errorf("Link.Account: got %+v, want the city's Group", got.Account)
	}

	// An update changes role and state, keeps CreatedAt, and reads it back.
	seen := t0.Add(time.Hour)
	up := &chapter.Link{AccountID: city.ID, Role: chapter.RoleParent, State: chapter.LinkLinked,
		CreatedAt: t0.Add(2 * time.Hour), LastActivityAt: seen}
	if err := db.PutLink(ctx, up); err != nil {
		t.Fatal(err)
	}
	if !up.CreatedAt.Equal(t0) {
		t.Errorf("PutLink (update): CreatedAt read back %v, want %v", up.CreatedAt, t0)
	}
	// A zero LastActivityAt keeps the recorded one.
	again := &chapter.Link{AccountID: city.ID, Role: chapter.RoleParent, State: chapter.LinkLinked}
	if err := db.PutLink(ctx, again); err != nil {
		t.Fatal(err)
	}
	if !again.LastActivityAt.Equal(seen) || !again.CreatedAt.Equal(t0) {
		t.Errorf("PutLink (update, no activity): got created %v, activity %v; want %v, %v",
			again.CreatedAt, again.LastActivityAt, t0, seen)
	}
	got, err = db.Link(ctx, city.ID)
	if err != nil {
		t.Fatal(err)
	}
	if got.State != chapter.LinkLinked || !got.CreatedAt.Equal(t0) || !got.LastActivityAt.Equal(seen) {
		t.Errorf("Link after update: got %+v", got)
	}

	tests := []struct {
		name string
		l    chapter.Link
		want error
	}{
		{"unknown role", chapter.Link{AccountID: city.ID, Role: "sibling", State: chapter.LinkLinked}, chapter.ErrInvalid},
		{"no role", chapter.Link{AccountID: city.ID, State: chapter.LinkLinked}, chapter.ErrInvalid},
		{"unknown state", chapter.Link{AccountID: city.ID, Role: chapter.RoleChild, State: "maybe"}, chapter.ErrInvalid},
		{"missing account", chapter.Link{AccountID: 999, Role: chapter.RoleChild, State: chapter.LinkPending}, chapter.ErrNotFound},
		{"role changes", chapter.Link{AccountID: city.ID, Role: chapter.RoleChild, State: chapter.LinkPending}, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			l := tt.l
			err := db.PutLink(ctx, &l)
			if !errors.Is(err, tt.want) || (tt.want == nil && err != nil) {
				t.Fatalf("PutLink: got %v, want %v", err, tt.want)
			}
			if err != nil {
				return
			}
			got, err := db.Link(ctx, l.AccountID)
			if err != nil {
				t.Fatal(err)
			}
			if got.Role != l.Role || got.State != l.State {
				t.Errorf("Link: got %s/%s, want %s/%s", got.Role, got.State, l.Role, l.State)
			}
		})
	}
}

func TestLinksAndRemoveLink(t *testing.T) {
	db := newTestDB(t)
	ctx := context.Background()
	t0 := time.UnixMilli(1_700_000_000_000).UTC()
	parent := mustGroup(t, db, "national.example", chapter.LevelNational, "")
	east := mustGroup(t, db, "east.example", chapter.LevelChapter, "https://node.example/users/chapter")
	west := mustGroup(t, db, "west.example", chapter.LevelChapter, "https://node.example/users/chapter")
	north := mustGroup(t, db, "north.example", chapter.LevelChapter, "https://node.example/users/chapter")
	puts := []chapter.Link{
		{AccountID: parent.ID, Role: chapter.RoleParent, State: chapter.LinkLinked, CreatedAt: t0},
		// west asked first; east and north at the same moment (id order).
		{AccountID: north.ID, Role: chapter.RoleChild, State: chapter.LinkPending, CreatedAt: t0.Add(2 * time.Minute)},
		{AccountID: west.ID, Role: chapter.RoleChild, State: chapter.LinkLinked, CreatedAt: t0.Add(time.Minute)},
		{AccountID: east.ID, Role: chapter.RoleChild, State: chapter.LinkLinked, CreatedAt: t0.Add(2 * time.Minute)},
	}
	for _, l := range puts {
		if err := db.PutLink(ctx, &l); err != nil {
			t.Fatal(err)
		}
	}
	tests := []struct {
		name string
		role chapter.LinkRole
		want []int64
	}{
		{"parent", chapter.RoleParent, []int64{parent.ID}},
		{"children, any state, oldest first", chapter.RoleChild, []int64{west.ID, east.ID, north.ID}},
		{"unknown role", "sibling", nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ls, err := db.Links(ctx, tt.role)
			if err != nil {
				t.Fatal(err)
			}
			var got []int64
			for _, l := range ls {
				got = append(got, l.AccountID)
				if l.Role != tt.role || l.Account == nil || l.Account.ID != l.AccountID || l.Account.ActorIRI == "" {
					t.Errorf("link %d: got role %q, Account %+v", l.AccountID, l.Role, l.Account)
				}
			}
			if !slices.Equal(got, tt.want) {
				t.Errorf("Links(%s): got %v, want %v", tt.role, got, tt.want)
			}
		})
	}

	if err := db.RemoveLink(ctx, west.ID); err != nil {
		t.Fatalf("RemoveLink: %v", err)
	}
	errs := []struct {
		name string
		err  error
	}{
		{"RemoveLink again", db.RemoveLink(ctx, west.ID)},
		{"RemoveLink of an unlinked account", db.RemoveLink(ctx, mustRemote(t, db, "bob", "remote.example").ID)},
		{"RemoveLink of no account", db.RemoveLink(ctx, 999)},
	}
	for _, e := range errs {
		if !errors.Is(e.err, chapter.ErrNotFound) {
			t.Errorf("%s: got %v, want ErrNotFound", e.name, e.err)
		}
	}
	if l, err := db.Link(ctx, west.ID); !errors.Is(err, chapter.ErrNotFound) {
		t.Errorf("Link after RemoveLink: got %+v, %v; want ErrNotFound", l, err)
	}
	if _, err := db.Account(ctx, west.ID); err != nil {
		t.Errorf("RemoveLink removed the account: %v", err)
	}
	ls, err := db.Links(ctx, chapter.RoleChild)
	if err != nil || len(ls) != 2 {
		t.Errorf("Links(child) after RemoveLink: got %d, %v; want 2", len(ls), err)
	}
}

func TestTouchLink(t *testing.T) {
	db := newTestDB(t)
	ctx := context.Background()
	child := mustGroup(t, db, "east.example", chapter.LevelChapter, "")
	stranger := mustRemote(t, db, "bob", "remote.example")
	if err := db.PutLink(ctx, &chapter.Link{AccountID: child.ID, Role: chapter.RoleChild, State: chapter.LinkLinked}); err != nil {
		t.Fatal(err)
	}
	t0 := time.UnixMilli(1_700_000_000_000).UTC()
	tests := []struct {
		name      string
		accountID int64
		at        time.Time
		want      time.Time // the child's LastActivityAt afterwards
	}{
		{"first activity", child.ID, t0, t0},
		{"later", child.ID, t0.Add(time.Hour), t0.Add(time.Hour)},
		{"earlier, processed late, does not go back", child.ID, t0.Add(time.Minute), t0.Add(time.Hour)},
		{"an account without a link is not an error", stranger.ID, t0.Add(2 * time.Hour), t0.Add(time.Hour)},
		{"no account at all either", 999, t0.Add(2 * time.Hour), t0.Add(time.Hour)},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if err := db.TouchLink(ctx, tt.accountID, tt.at); err != nil {
				t.Fatalf("TouchLink: %v", err)
			}
			l, err := db.Link(ctx, child.ID)
			if err != nil {
				t.Fatal(err)
			}
			if !l.LastActivityAt.Equal(tt.want) {
				t.Errorf("LastActivityAt: got %v, want %v", l.LastActivityAt, tt.want)
			}
		})
	}
	if _, err := db.Link(ctx, stranger.ID); !errors.Is(err, chapter.ErrNotFound) {
		t.Errorf("TouchLink created a link: %v", err)
	}
	before := time.Now().Add(-time.Second)
	if err := db.TouchLink(ctx, child.ID, time.Time{}); err != nil {
		t.Fatal(err)
	}
	if l, err := db.Link(ctx, child.ID); err != nil || l.LastActivityAt.Before(before) {
		t.Errorf("TouchLink at the zero time: got %v, %v; want now", l.LastActivityAt, err)
	}
}

func TestLinkGoesWithItsAccount(t *testing.T) {
	db := newTestDB(t)
	ctx := context.Background()
	g := new(ids)
	child := mustGroup(t, db, "east.example", chapter.LevelChapter, "")
	other := mustGroup(t, db, "west.example", chapter.LevelChapter, "")
	for _, a := range []*chapter.Account{child, other} {
		if err := db.PutLink(ctx, &chapter.Link{AccountID: a.ID, Role: chapter.RoleChild, State: chapter.LinkLinked}); err != nil {
			t.Fatal(err)
		}
	}
	// A relayed post of the child's, with its post_via rows.
	p := &chapter.Post{ID: g.next(), IRI: "https://east.example/p/1", AccountID: child.ID,
		Via: []string{child.ActorIRI}}
	if err := db.CreatePost(ctx, p, nil); err != nil {
		t.Fatal(err)
	}
	if err := db.DeleteAccount(ctx, child.ID); err != nil {
		t.Fatal(err)
	}
	if _, err := db.Link(ctx, child.ID); !errors.Is(err, chapter.ErrNotFound) {
		t.Errorf("Link of a deleted account: got %v, want ErrNotFound", err)
	}
	ls, err := db.Links(ctx, chapter.RoleChild)
	if err != nil || len(ls) != 1 || ls[0].AccountID != other.ID {
		t.Errorf("Links(child) after the delete: got %d links, %v; want only the other", len(ls), err)
	}
	var n int
	if err := db.r.QueryRowContext(ctx, `SELECT count(*) FROM post_via`).Scan(&n); err != nil || n != 0 {
		t.Errorf("post_via rows of the deleted account's posts: got %d, %v; want 0", n, err)
	}
}
