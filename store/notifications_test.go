package store

import (
	"context"
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/chapterhouse/chapterhouse/chapter"
)

func TestAddNotificationDedupes(t *testing.T) {
	db := newTestDB(t)
	ctx := context.Background()
	g := new(ids)
	alice := mustLocal(t, db, "alice")
	bob := mustRemote(t, db, "bob", "remote.example")
	p := mustPost(t, db, g, alice, "hello")
	tests := []struct {
		name    string
		n       chapter.Notification
		created bool
		err     error
	}{
		{"first", chapter.Notification{AccountID: alice.ID, Type: chapter.NotifyFavourite, FromID: bob.ID,
			PostID: p.ID, DedupingKey: "fav:1"}, true, nil},
		{"repeat", chapter.Notification{AccountID: alice.ID, Type: chapter.NotifyFavourite, FromID: bob.ID,
			PostID: p.ID, DedupingKey: "fav:1"}, false, nil},
		{"no key", chapter.Notification{AccountID: alice.ID, Type: chapter.NotifyFollow, FromID: bob.ID}, true, nil},
		{"no key again", chapter.Notification{AccountID: alice.ID, Type: chapter.NotifyFollow, FromID: bob.ID}, true, nil},
		{"missing account", chapter.Notification{AccountID: 999, Type: chapter.NotifyFollow, FromID: bob.ID,
			DedupingKey: "x"}, false, chapter.ErrNotFound},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			n := tt.n
			created, err := db.AddNotification(ctx, &n)
			if !errors.Is(err, tt.err) || (tt.err == nil && err != nil) {
				t.Fatalf("AddNotification: got %v, want %v", err, tt.err)
			}
			if created != tt.created {
				t.Errorf("created: got %v, want %v", created, tt.created)
			}
			if created && n.ID == 0 {
				t.Error("ID not set")
			}
			if !created && n.ID != 0 {
				t.Errorf("ID set to %d on a repeat", n.ID)
			}
		})
	}
}

func TestNotifications(t *testing.T) {
	db := newTestDB(t)
	ctx := context.Background()
	g := new(ids)
	alice := mustLocal(t, db, "alice")
	other := mustLocal(t, db, "other")
	bob := mustRemote(t, db, "bob", "remote.example")
	mine := mustPost(t, db, g, alice, "mine")
	mention := mustPost(t, db, g, bob, "@alice hi")
	doomed := mustPost(t, db, g, bob, "@alice bye")

	add := func(n chapter.Notification) int64 {
		t.Helper()
		if _, err := db.AddNotification(ctx, &n); err != nil {
			t.Fatal(err)
		}
		return n.ID
	}
	follow := add(chapter.Notification{AccountID: alice.ID, Type: chapter.NotifyFollow, FromID: bob.ID, DedupingKey: "f"})
	fav := add(chapter.Notification{AccountID: alice.ID, Type: chapter.NotifyFavourite, FromID: bob.ID, PostID: mine.ID, DedupingKey: "l"})
	add(chapter.Notification{AccountID: alice.ID, Type: chapter.NotifyMention, FromID: bob.ID, PostID: doomed.ID, DedupingKey: "d"})
	men := add(chapter.Notification{AccountID: alice.ID, Type: chapter.NotifyMention, FromID: bob.ID, PostID: mention.ID, DedupingKey: "m"})
	add(chapter.Notification{AccountID: other.ID, Type: chapter.NotifyFollow, FromID: bob.ID, DedupingKey: "o"})

	if err := db.DeletePost(ctx, doomed.ID, time.Time{}, nil); err != nil {
		t.Fatal(err)
	}
	// Also a notification whose post was deleted without DeletePost's
	// cleanup must stay hidden.
	hidden := add(chapter.Notification{AccountID: alice.ID, Type: chapter.NotifyMention, FromID: bob.ID, PostID: doomed.ID, DedupingKey: "late"})

	tests := []struct {
		name  string
		maxID int64
		limit int
		want  []int64
	}{
		{"newest first, deleted post hidden", 0, 0, []int64{men, fav, follow}},
		{"limit", 0, 2, []int64{men, fav}},
		{"max_id", men, 10, []int64{fav, follow}},
		{"max_id, hidden skipped", hidden + 1, 1, []int64{men}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ns, err := db.Notifications(ctx, alice.ID, tt.maxID, tt.limit)
			if err != nil {
				t.Fatal(err)
			}
			var got []int64
			for _, n := range ns {
				got = append(got, n.ID)
				if n.AccountID != alice.ID {
					t.Errorf("notification %d of account %d", n.ID, n.AccountID)
				}
			}
			if !equalIDs(got, tt.want) {
				t.Errorf("got %v, want %v", got, tt.want)
			}
		})
	}
	ns, err := db.Notifications(ctx, alice.ID, 0, 0)
	if err != nil {
		t.Fatal(err)
	}
	for _, n := range ns {
		if n.From == nil || n.From.ID != bob.ID {
			t.Errorf("notification %d: From %+v, want bob", n.ID, n.From)
		}
		switch n.ID {
		case follow:
			if n.Post != nil {
				t.Errorf("follow notification has a post: %+v", n.Post)
			}
		case fav:
			if n.Post == nil || n.Post.ID != mine.ID || n.Post.Author == nil || n.Post.Author.ID != alice.ID {
				t.Errorf("favourite notification: Post %+v", n.Post)
			}
		case men:
			if n.Post == nil || n.Post.Content != "@alice hi" || n.Post.Author.ID != bob.ID {
				t.Errorf("mention notification: Post %+v", n.Post)
			}
		}
	}

	marked, err := db.MarkNotificationsRead(ctx, alice.ID, fav, time.Time{})
	if err != nil || marked != 2 {
		t.Errorf("MarkNotificationsRead: got %d, %v; want 2", marked, err)
	}
	ns, _ = db.Notifications(ctx, alice.ID, 0, 0)
	for _, n := range ns {
		if got, want := !n.ReadAt.IsZero(), n.ID <= fav; got != want {
			t.Errorf("notification %d read: got %v, want %v", n.ID, got, want)
		}
	}
}

func TestNotificationsPageSize(t *testing.T) {
	db := newTestDB(t)
	ctx := context.Background()
	alice := mustLocal(t, db, "alice")
	bob := mustRemote(t, db, "bob", "remote.example")
	for i := range 250 {
		if _, err := db.AddNotification(ctx, &chapter.Notification{AccountID: alice.ID, Type: chapter.NotifyFollow,
			FromID: bob.ID, DedupingKey: fmt.Sprint(i)}); err != nil {
			t.Fatal(err)
		}
	}
	for _, tt := range []struct {
		limit, want int
	}{{0, 40}, {10, 10}, {1000, 200}} {
		ns, err := db.Notifications(ctx, alice.ID, 0, tt.limit)
		if err != nil {
			t.Fatal(err)
		}
		if len(ns) != tt.want {
			t.Errorf("limit %d: got %d, want %d", tt.limit, len(ns), tt.want)
		}
	}
}
