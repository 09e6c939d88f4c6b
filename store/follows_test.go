package store

import (
	"context"
	"errors"
	"slices"
	"testing"
	"time"

	"github.com/chapterhouse/chapterhouse/chapter"
)

func TestPutFollow(t *testing.T) {
	db := newTestDB(t)
	ctx := context.Background()
	group := mustLocal(t, db, "group")
	bob := mustRemote(t, db, "bob", "remote.example")
	created := time.UnixMilli(1_700_000_000_000).UTC()
	f := &chapter.Follow{FollowerID: bob.ID, TargetID: group.ID, State: chapter.FollowPending,
		ActivityIRI: "https://remote.example/follows/1", CreatedAt: created}
	if err := db.PutFollow(ctx, f, nil); err != nil {
		t.Fatal(err)
	}
	// Accepting updates the state, keeps when it started, and queues the Accept.
	accept := &chapter.Follow{FollowerID: bob.ID, TargetID: group.ID, State: chapter.FollowAccepted,
		ActivityIRI: f.ActivityIRI}
	out := []chapter.Outgoing{{ActivityIRI: "https://node.example/accept/1", SignerID: group.ID,
		Inboxes: []string{bob.InboxIRI}}}
	if err := db.PutFollow(ctx, accept, out); err != nil {
		t.Fatal(err)
	}
	if !accept.CreatedAt.Equal(created) {
		t.Errorf("CreatedAt after the update: got %v, want %v", accept.CreatedAt, created)
	}
	got, err := db.Follow(ctx, bob.ID, group.ID)
	if err != nil {
		t.Fatal(err)
	}
	if got.State != chapter.FollowAccepted || got.ActivityIRI != f.ActivityIRI || !got.CreatedAt.Equal(created) {
		t.Errorf("Follow: got %+v", got)
	}
	if byIRI, err := db.FollowByActivityIRI(ctx, f.ActivityIRI); err != nil || byIRI.FollowerID != bob.ID {
		t.Errorf("FollowByActivityIRI: got %+v, %v", byIRI, err)
	}
	if n, _ := db.CountDeliveries(ctx); n != 1 {
		t.Errorf("Accept queued: got %d deliveries, want 1", n)
	}

	tests := []struct {
		name string
		f    chapter.Follow
		want error
	}{
		{"self", chapter.Follow{FollowerID: bob.ID, TargetID: bob.ID, State: chapter.FollowPending}, chapter.ErrInvalid},
		{"bad state", chapter.Follow{FollowerID: bob.ID, TargetID: group.ID, State: "maybe"}, chapter.ErrInvalid},
		{"missing account", chapter.Follow{FollowerID: 999, TargetID: group.ID, State: chapter.FollowPending}, chapter.ErrNotFound},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := tt.f
			if err := db.PutFollow(ctx, &f, nil); !errors.Is(err, tt.want) {
				t.Errorf("got %v, want %v", err, tt.want)
			}
		})
	}

	if err := db.RemoveFollow(ctx, bob.ID, group.ID, nil); err != nil {
		t.Fatal(err)
	}
	if _, err := db.Follow(ctx, bob.ID, group.ID); !errors.Is(err, chapter.ErrNotFound) {
		t.Errorf("Follow after RemoveFollow: got %v, want ErrNotFound", err)
	}
	if err := db.RemoveFollow(ctx, bob.ID, group.ID, nil); !errors.Is(err, chapter.ErrNotFound) {
		t.Errorf("RemoveFollow twice: got %v, want ErrNotFound", err)
	}
}

func TestFollowersAndFollowing(t *testing.T) {
	db := newTestDB(t)
	ctx := context.Background()
	group := mustLocal(t, db, "group")
	alice := mustLocal(t, db, "alice")
	var remotes []*chapter.Account
	for _, name := range []string{"r1", "r2", "r3", "r4"} {
		remotes = append(remotes, mustRemote(t, db, name, "remote.example"))
	}
	base := time.UnixMilli(1_700_000_000_000)
	put := func(follower, target int64, state chapter.FollowState, minute int) {
		t.Helper()
		f := &chapter.Follow{FollowerID: follower, TargetID: target, State: state,
			CreatedAt: base.Add(time.Duration(minute) * time.Minute)}
		if err := db.PutFollow(ctx, f, nil); err != nil {
			t.Fatal(err)
		}
	}
	// Follow order differs from id order on purpose.
	put(remotes[2].ID, group.ID, chapter.FollowAccepted, 1)
	put(remotes[0].ID, group.ID, chapter.FollowAccepted, 2)
	put(alice.ID, group.ID, chapter.FollowAccepted, 3)
	put(remotes[1].ID, group.ID, chapter.FollowPending, 4)
	put(group.ID, remotes[3].ID, chapter.FollowAccepted, 5)
	put(group.ID, remotes[0].ID, chapter.FollowPending, 6)

	tests := []struct {
		name string
		list func() ([]*chapter.Account, error)
		want []int64
	}{
		{"accepted followers, oldest first", func() ([]*chapter.Account, error) {
			return db.Followers(ctx, group.ID, chapter.FollowAccepted, 0, 0)
		}, []int64{remotes[2].ID, remotes[0].ID, alice.ID}},
		{"followers page 2", func() ([]*chapter.Account, error) {
			return db.Followers(ctx, group.ID, chapter.FollowAccepted, 2, 2)
		}, []int64{alice.ID}},
		{"follow requests", func() ([]*chapter.Account, error) {
			return db.Followers(ctx, group.ID, chapter.FollowPending, 10, 0)
		}, []int64{remotes[1].ID}},
		{"following", func() ([]*chapter.Account, error) {
			return db.Following(ctx, group.ID, chapter.FollowAccepted, 10, 0)
		}, []int64{remotes[3].ID}},
		{"following, pending", func() ([]*chapter.Account, error) {
			return db.Following(ctx, group.ID, chapter.FollowPending, 10, 0)
		}, []int64{remotes[0].ID}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			as, err := tt.list()
			if err != nil {
				t.Fatal(err)
			}
			if got := accountIDs(as); !equalIDs(got, tt.want) {
				t.Errorf("got %v, want %v", got, tt.want)
			}
		})
	}
	if n, err := db.CountFollowers(ctx, group.ID); err != nil || n != 3 {
		t.Errorf("CountFollowers: got %d, %v; want 3", n, err)
	}
	if n, err := db.CountFollowing(ctx, group.ID); err != nil || n != 1 {
		t.Errorf("CountFollowing: got %d, %v; want 1", n, err)
	}
}

func TestFollowerInboxes(t *testing.T) {
	db := newTestDB(t)
	ctx := context.Background()
	group := mustLocal(t, db, "group")
	alice := mustLocal(t, db, "alice")
	follow := func(a *chapter.Account, state chapter.FollowState) {
		t.Helper()
		if err := db.PutFollow(ctx, &chapter.Follow{FollowerID: a.ID, TargetID: group.ID, State: state}, nil); err != nil {
			t.Fatal(err)
		}
	}
	// Three people on one server with a shared inbox, one on a server
	// without, one pending, and a local member.
	for _, name := range []string{"a", "b", "c"} {
		follow(mustRemote(t, db, name, "big.example"), chapter.FollowAccepted)
	}
	solo := &chapter.Account{Username: "solo", Host: "small.example", ActorIRI: "https://small.example/solo",
		InboxIRI: "https://small.example/solo/inbox"}
	if err := db.UpsertRemoteAccount(ctx, solo); err != nil {
		t.Fatal(err)
	}
	follow(solo, chapter.FollowAccepted)
	follow(mustRemote(t, db, "p", "pending.example"), chapter.FollowPending)
	follow(alice, chapter.FollowAccepted)

	got, err := db.FollowerInboxes(ctx, group.ID)
	if err != nil {
		t.Fatal(err)
	}
	slices.Sort(got)
	if want := []string{"https://big.example/inbox", "https://small.example/solo/inbox"}; !slices.Equal(got, want) {
		t.Errorf("FollowerInboxes: got %v, want %v", got, want)
	}
}

func TestRemoveFollowersAt(t *testing.T) {
	db := newTestDB(t)
	ctx := context.Background()
	group := mustLocal(t, db, "group")
	a := mustRemote(t, db, "a", "gone.example")
	b := mustRemote(t, db, "b", "gone.example")
	c := mustRemote(t, db, "c", "alive.example")
	for _, f := range []chapter.Follow{
		{FollowerID: a.ID, TargetID: group.ID, State: chapter.FollowAccepted},
		{FollowerID: b.ID, TargetID: group.ID, State: chapter.FollowAccepted},
		{FollowerID: c.ID, TargetID: group.ID, State: chapter.FollowAccepted},
		{FollowerID: group.ID, TargetID: b.ID, State: chapter.FollowAccepted},
	} {
		if err := db.PutFollow(ctx, &f, nil); err != nil {
			t.Fatal(err)
		}
	}
	tests := []struct {
		name      string
		inbox     string
		removed   int
		followers int
	}{
		{"personal inbox", a.InboxIRI, 1, 2},
		{"shared inbox", "https://gone.example/inbox", 2, 1},
		{"unknown inbox", "https://nowhere.example/inbox", 0, 1},
		{"empty", "", 0, 1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			n, err := db.RemoveFollowersAt(ctx, tt.inbox)
			if err != nil {
				t.Fatal(err)
			}
			if n != tt.removed {
				t.Errorf("removed: got %d, want %d", n, tt.removed)
			}
			if got, _ := db.CountFollowers(ctx, group.ID); got != tt.followers {
				t.Errorf("followers left: got %d, want %d", got, tt.followers)
			}
		})
	}
}
