package store

import (
	"context"
	"errors"
	"slices"
	"testing"
	"time"

	"github.com/chapterhouse/chapterhouse/chapter"
)

func TestCreatePost(t *testing.T) {
	db := newTestDB(t)
	ctx := context.Background()
	g := new(ids)
	alice := mustLocal(t, db, "alice")
	p := &chapter.Post{
		ID: g.next(), IRI: "https://node.example/p/1", URL: "https://node.example/@alice/1",
		AccountID: alice.ID, Content: "<p>hi</p>", Source: "hi", Summary: "cw", Sensitive: true,
		Language: "en", Visibility: chapter.VisibilityFollowers,
		Mentions: []string{"https://remote.example/users/bob", "https://remote.example/users/carol"},
	}
	out := []chapter.Outgoing{{ActivityIRI: "https://node.example/p/1/activity", SignerID: alice.ID,
		Body: []byte(`{"type":"Create"}`), Inboxes: []string{"https://remote.example/inbox"}}}
	if err := db.CreatePost(ctx, p, out); err != nil {
		t.Fatal(err)
	}
	got, err := db.Post(ctx, p.ID)
	if err != nil {
		t.Fatal(err)
	}
	if got.IRI != p.IRI || got.URL != p.URL || got.Content != p.Content || got.Source != p.Source ||
		got.Summary != p.Summary || !got.Sensitive || got.Language != "en" ||
		got.Visibility != chapter.VisibilityFollowers || !slices.Equal(got.Mentions, p.Mentions) ||
		!got.CreatedAt.Equal(p.CreatedAt) || !got.UpdatedAt.Equal(p.CreatedAt) || got.Deleted() {
		t.Errorf("Post: got %+v, want %+v", got, p)
	}
	if got.Author == nil || got.Author.ID != alice.ID || !got.Local() {
		t.Errorf("Post.Author: got %+v, want alice", got.Author)
	}
	if byIRI, err := db.PostByIRI(ctx, p.IRI); err != nil || byIRI.ID != p.ID {
		t.Errorf("PostByIRI: got %v, %v", byIRI, err)
	}
	if n, _ := db.CountDeliveries(ctx); n != 1 {
		t.Errorf("deliveries queued with the post: got %d, want 1", n)
	}

	tests := []struct {
		name string
		p    chapter.Post
		want error
	}{
		{"same IRI", chapter.Post{ID: g.next(), IRI: p.IRI, AccountID: alice.ID}, chapter.ErrConflict},
		{"same id", chapter.Post{ID: p.ID, IRI: "https://node.example/other", AccountID: alice.ID}, chapter.ErrConflict},
		{"no id", chapter.Post{IRI: "https://node.example/noid", AccountID: alice.ID}, chapter.ErrInvalid},
		{"unknown author", chapter.Post{ID: g.next(), IRI: "https://node.example/x", AccountID: 999}, chapter.ErrNotFound},
		{"no IRI twice is fine", chapter.Post{ID: g.next(), AccountID: alice.ID}, nil},
		{"no IRI twice is fine, again", chapter.Post{ID: g.next(), AccountID: alice.ID}, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			q := tt.p
			out := []chapter.Outgoing{{ActivityIRI: "https://node.example/act/" + tt.name, SignerID: alice.ID,
				Inboxes: []string{"https://remote.example/inbox"}}}
			before, _ := db.CountDeliveries(ctx)
			err := db.CreatePost(ctx, &q, out)
			if !errors.Is(err, tt.want) || (tt.want == nil && err != nil) {
				t.Fatalf("CreatePost: got %v, want %v", err, tt.want)
			}
			after, _ := db.CountDeliveries(ctx)
			if wantQueued := map[bool]int{true: 0, false: 1}[err != nil]; after-before != wantQueued {
				t.Errorf("deliveries queued: got %d, want %d (the post and its activities are one transaction)",
					after-before, wantQueued)
			}
		})
	}
	if _, err := db.PostByIRI(ctx, ""); !errors.Is(err, chapter.ErrNotFound) {
		t.Errorf("PostByIRI(\"\"): got %v, want ErrNotFound", err)
	}
}

func TestRepliesAndOrphans(t *testing.T) {
	db := newTestDB(t)
	ctx := context.Background()
	g := new(ids)
	alice := mustLocal(t, db, "alice")
	bob := mustRemote(t, db, "bob", "remote.example")
	parentIRI := "https://remote.example/notes/parent"

	// Two replies arrive before their parent.
	var orphans []int64
	for _, name := range []string{"r1", "r2"} {
		r := &chapter.Post{ID: g.next(), IRI: "https://remote.example/notes/" + name,
			AccountID: bob.ID, InReplyToIRI: parentIRI}
		if err := db.CreatePost(ctx, r, nil); err != nil {
			t.Fatal(err)
		}
		if r.InReplyToID != 0 {
			t.Errorf("orphan reply got parent %d", r.InReplyToID)
		}
		orphans = append(orphans, r.ID)
	}
	parent := &chapter.Post{ID: g.next(), IRI: parentIRI, AccountID: bob.ID}
	if err := db.CreatePost(ctx, parent, nil); err != nil {
		t.Fatal(err)
	}
	// A reply after the parent finds it by IRI.
	late := &chapter.Post{ID: g.next(), IRI: "https://node.example/late", AccountID: alice.ID, InReplyToIRI: parentIRI}
	if err := db.CreatePost(ctx, late, nil); err != nil {
		t.Fatal(err)
	}
	if late.InReplyToID != parent.ID {
		t.Errorf("reply after its parent: InReplyToID %d, want %d", late.InReplyToID, parent.ID)
	}
	for _, id := range orphans {
		p, err := db.Post(ctx, id)
		if err != nil {
			t.Fatal(err)
		}
		if p.InReplyToID != parent.ID {
			t.Errorf("orphan %d: InReplyToID %d, want %d", id, p.InReplyToID, parent.ID)
		}
	}
	rs, err := db.Replies(ctx, parent.ID)
	if err != nil {
		t.Fatal(err)
	}
	if got, want := postIDs(rs), append(slices.Clone(orphans), late.ID); !equalIDs(got, want) {
		t.Errorf("Replies: got %v, want %v (oldest first)", got, want)
	}
	if err := db.DeletePost(ctx, orphans[0], time.Time{}, nil); err != nil {
		t.Fatal(err)
	}
	rs, err = db.Replies(ctx, parent.ID)
	if err != nil {
		t.Fatal(err)
	}
	if got, want := postIDs(rs), []int64{orphans[1], late.ID}; !equalIDs(got, want) {
		t.Errorf("Replies after a delete: got %v, want %v", got, want)
	}
}

func TestUpdatePost(t *testing.T) {
	db := newTestDB(t)
	ctx := context.Background()
	g := new(ids)
	alice := mustLocal(t, db, "alice")
	p := mustPost(t, db, g, alice, "v1")
	p.Content, p.Source, p.Summary, p.Sensitive, p.Language, p.Announced = "v2", "v2 src", "cw", true, "de", true
	p.Mentions = []string{"https://remote.example/users/bob"}
	p.UpdatedAt = p.CreatedAt.Add(time.Hour)
	if err := db.UpdatePost(ctx, p, nil); err != nil {
		t.Fatal(err)
	}
	got, err := db.Post(ctx, p.ID)
	if err != nil {
		t.Fatal(err)
	}
	if got.Content != "v2" || got.Source != "v2 src" || got.Summary != "cw" || !got.Sensitive ||
		got.Language != "de" || !got.Announced || !got.UpdatedAt.Equal(p.UpdatedAt) ||
		!slices.Equal(got.Mentions, p.Mentions) || !got.CreatedAt.Equal(p.CreatedAt) {
		t.Errorf("after UpdatePost: got %+v", got)
	}
	if err := db.UpdatePost(ctx, &chapter.Post{ID: 999}, nil); !errors.Is(err, chapter.ErrNotFound) {
		t.Errorf("UpdatePost of a missing post: got %v, want ErrNotFound", err)
	}
}

func TestDeletePostTombstone(t *testing.T) {
	db := newTestDB(t)
	ctx := context.Background()
	g := new(ids)
	alice := mustLocal(t, db, "alice")
	bob := mustRemote(t, db, "bob", "remote.example")
	p := mustPost(t, db, g, alice, "secret plans")
	p.Source, p.Summary = "src", "cw"
	if err := db.UpdatePost(ctx, p, nil); err != nil {
		t.Fatal(err)
	}
	other := mustPost(t, db, g, alice, "still here")
	if _, err := db.AddInteraction(ctx, &chapter.Interaction{Kind: chapter.InteractionLike, AccountID: bob.ID, PostID: p.ID}); err != nil {
		t.Fatal(err)
	}
	for _, n := range []chapter.Notification{
		{AccountID: alice.ID, Type: chapter.NotifyFavourite, FromID: bob.ID, PostID: p.ID, DedupingKey: "fav"},
		{AccountID: alice.ID, Type: chapter.NotifyFollow, FromID: bob.ID, DedupingKey: "follow"},
	} {
		if _, err := db.AddNotification(ctx, &n); err != nil {
			t.Fatal(err)
		}
	}
	at := time.UnixMilli(1_800_000_000_000).UTC()
	out := []chapter.Outgoing{{ActivityIRI: p.IRI + "#delete", SignerID: alice.ID, Inboxes: []string{"https://remote.example/inbox"}}}
	if err := db.DeletePost(ctx, p.ID, at, out); err != nil {
		t.Fatal(err)
	}

	for _, get := range []struct {
		name string
		get  func() (*chapter.Post, error)
	}{
		{"Post", func() (*chapter.Post, error) { return db.Post(ctx, p.ID) }},
		{"PostByIRI", func() (*chapter.Post, error) { return db.PostByIRI(ctx, p.IRI) }},
	} {
		t.Run(get.name, func(t *testing.T) {
			ts, err := get.get()
			if err != nil {
				t.Fatalf("the tombstone: %v", err)
			}
			if !ts.Deleted() || !ts.DeletedAt.Equal(at) || ts.Content != "" || ts.Source != "" || ts.Summary != "" ||
				ts.IRI != p.IRI || ts.AccountID != alice.ID || ts.Author == nil {
				t.Errorf("tombstone: got %+v", ts)
			}
		})
	}
	tl, err := db.Timeline(ctx, chapter.TimelineQuery{})
	if err != nil {
		t.Fatal(err)
	}
	if got, want := postIDs(tl), []int64{other.ID}; !equalIDs(got, want) {
		t.Errorf("timeline: got %v, want %v", got, want)
	}
	if n, _ := db.CountPosts(ctx, alice.ID); n != 1 {
		t.Errorf("CountPosts: got %d, want 1", n)
	}
	if n, _ := db.CountInteractions(ctx, p.ID, chapter.InteractionLike); n != 0 {
		t.Errorf("likes of the tombstone: got %d, want 0", n)
	}
	ns, err := db.Notifications(ctx, alice.ID, 0, 0)
	if err != nil {
		t.Fatal(err)
	}
	if len(ns) != 1 || ns[0].Type != chapter.NotifyFollow {
		t.Errorf("notifications after the delete: got %d, want only the follow", len(ns))
	}
	if n, _ := db.CountDeliveries(ctx); n != 1 {
		t.Errorf("Delete activity queued: got %d deliveries, want 1", n)
	}
	tests := []struct {
		name string
		err  error
		want error
	}{
		{"delete again", db.DeletePost(ctx, p.ID, at, nil), chapter.ErrGone},
		{"update a tombstone", db.UpdatePost(ctx, &chapter.Post{ID: p.ID, Content: "back"}, nil), chapter.ErrGone},
		{"delete a missing post", db.DeletePost(ctx, 999, at, nil), chapter.ErrNotFound},
	}
	for _, tt := range tests {
		if !errors.Is(tt.err, tt.want) {
			t.Errorf("%s: got %v, want %v", tt.name, tt.err, tt.want)
		}
	}
	if ts, _ := db.Post(ctx, p.ID); ts.Content != "" {
		t.Errorf("UpdatePost revived the tombstone: %q", ts.Content)
	}
}

func TestTimeline(t *testing.T) {
	db := newTestDB(t)
	ctx := context.Background()
	alice := mustLocal(t, db, "alice")
	bob := mustRemote(t, db, "bob", "remote.example")
	// Posts 1..30: alice writes the odd ones (every 5th is unlisted),
	// bob the even ones (every 4th announced by the Group, 6 and 18
	// replies).
	for id := int64(1); id <= 30; id++ {
		p := &chapter.Post{ID: id, IRI: "https://x.example/" + string(rune('A'+id)), Visibility: chapter.VisibilityPublic}
		if id%2 == 1 {
			p.AccountID = alice.ID
			if id%5 == 0 {
				p.Visibility = chapter.VisibilityUnlisted
			}
		} else {
			p.AccountID = bob.ID
			p.Announced = id%4 == 0
			if id == 6 || id == 18 {
				p.InReplyToIRI = "https://x.example/B" // post 1
			}
		}
		if err := db.CreatePost(ctx, p, nil); err != nil {
			t.Fatal(err)
		}
	}
	if err := db.DeletePost(ctx, 29, time.Time{}, nil); err != nil {
		t.Fatal(err)
	}
	span := func(from, to, step int64) []int64 {
		var s []int64
		for id := from; (step > 0 && id <= to) || (step < 0 && id >= to); id += step {
			if id != 29 {
				s = append(s, id)
			}
		}
		return s
	}
	tests := []struct {
		name string
		q    chapter.TimelineQuery
		want []int64
	}{
		{"default limit 20, newest first", chapter.TimelineQuery{}, span(30, 10, -1)},
		{"limit", chapter.TimelineQuery{Limit: 3}, []int64{30, 28, 27}},
		{"limit capped at 200", chapter.TimelineQuery{Limit: 1000}, span(30, 1, -1)},
		{"max_id", chapter.TimelineQuery{MaxID: 10, Limit: 3}, []int64{9, 8, 7}},
		{"since_id: newest first", chapter.TimelineQuery{SinceID: 25, Limit: 3}, []int64{30, 28, 27}},
		{"min_id: oldest first", chapter.TimelineQuery{MinID: 25, Limit: 3}, []int64{26, 27, 28}},
		{"min_id past the deleted", chapter.TimelineQuery{MinID: 27}, []int64{28, 30}},
		{"max_id and since_id", chapter.TimelineQuery{MaxID: 10, SinceID: 6}, []int64{9, 8, 7}},
		{"account", chapter.TimelineQuery{AccountID: alice.ID, Limit: 4}, []int64{27, 25, 23, 21}},
		{"node only: local and announced", chapter.TimelineQuery{NodeOnly: true, MaxID: 13},
			[]int64{12, 11, 9, 8, 7, 5, 4, 3, 1}},
		{"visibilities", chapter.TimelineQuery{Visibilities: []chapter.Visibility{chapter.VisibilityUnlisted}},
			[]int64{25, 15, 5}},
		{"exclude replies", chapter.TimelineQuery{ExcludeReplies: true, AccountID: bob.ID, MaxID: 20},
			[]int64{16, 14, 12, 10, 8, 4, 2}},
		{"nothing newer", chapter.TimelineQuery{MinID: 30}, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ps, err := db.Timeline(ctx, tt.q)
			if err != nil {
				t.Fatal(err)
			}
			if got := postIDs(ps); !equalIDs(got, tt.want) {
				t.Errorf("got %v, want %v", got, tt.want)
			}
			for _, p := range ps {
				if p.Author == nil || p.Author.ID != p.AccountID {
					t.Errorf("post %d: Author %+v", p.ID, p.Author)
				}
			}
		})
	}
	counts := []struct {
		name    string
		account int64
		want    int
	}{
		{"alice", alice.ID, 14},
		{"bob", bob.ID, 15},
		{"all local", 0, 14},
		{"nobody", 999, 0},
	}
	for _, c := range counts {
		if n, err := db.CountPosts(ctx, c.account); err != nil || n != c.want {
			t.Errorf("CountPosts(%s): got %d, %v; want %d", c.name, n, err, c.want)
		}
	}
}

func postIDs(ps []*chapter.Post) []int64 {
	var ids []int64
	for _, p := range ps {
		ids = append(ids, p.ID)
	}
	return ids
}
