package chapter_test

import (
	"errors"
	"testing"

	"github.com/chapterhouse/chapterhouse/chapter"
)

func TestReceiveFollowUnlocked(t *testing.T) {
	f := newFixture(t)
	admin2 := f.member("admin2", chapter.RoleAdmin)
	alice := f.member("alice", chapter.RoleMember)
	bob := f.remote("bob", "remote.test")
	f.pub.take()
	before := f.deliveries()

	fl, err := f.svc.ReceiveFollow(f.ctx, bob, f.group, "https://remote.test/follows/1")
	if err != nil {
		t.Fatalf("ReceiveFollow: %v", err)
	}
	if got, want := fl.State, chapter.FollowAccepted; got != want {
		t.Errorf("returned State = %q, want %q", got, want)
	}
	stored := f.follow(bob, f.group)
	if stored == nil {
		t.Fatalf("no follow stored")
	}
	if got, want := stored.State, chapter.FollowAccepted; got != want {
		t.Errorf("stored State = %q, want %q", got, want)
	}
	if got, want := stored.ActivityIRI, "https://remote.test/follows/1"; got != want {
		t.Errorf("ActivityIRI = %q, want %q", got, want)
	}
	evs := f.pub.take()
	if got, want := eventTypes(evs), typesOf(chapter.EventFollowAccepted); got != want {
		t.Fatalf("events = %q, want %q", got, want)
	}
	if evs[0].Actor.ID != f.group.ID || evs[0].Object.ID != bob.ID || evs[0].Follow == nil {
		t.Errorf("Accept event = actor %d, object %d, follow %v; want group %d accepting bob %d",
			evs[0].Actor.ID, evs[0].Object.ID, evs[0].Follow, f.group.ID, bob.ID)
	}
	if got, want := f.deliveries(), before+1; got != want {
		t.Errorf("deliveries = %d, want %d", got, want)
	}
	for _, a := range []*chapter.Account{f.admin, admin2} {
		ns := f.notifications(a)
		if len(ns) != 1 || ns[0].Type != chapter.NotifyFollow || ns[0].FromID != bob.ID {
			t.Errorf("%s: notifications = %+v, want one %q from bob", a.Username, ns, chapter.NotifyFollow)
		}
	}
	if got := len(f.notifications(alice)); got != 0 {
		t.Errorf("alice (not an admin) has %d notifications, want 0", got)
	}
	if got := f.account(bob.ID).State; got != chapter.StateNone {
		t.Errorf("follower's State = %q: following an open chapter is not membership", got)
	}

	t.Run("repeated follow stays one follow and is accepted again", func(t *testing.T) {
		before := f.deliveries()
		if _, err := f.svc.ReceiveFollow(f.ctx, bob, f.group, "https://remote.test/follows/2"); err != nil {
			t.Fatalf("ReceiveFollow again: %v", err)
		}
		if got, want := eventTypes(f.pub.take()), typesOf(chapter.EventFollowAccepted); got != want {
			t.Errorf("events = %q, want %q", got, want)
		}
		if got, want := f.deliveries(), before+1; got != want {
			t.Errorf("deliveries = %d, want %d", got, want)
		}
		n, err := f.db.CountFollowers(f.ctx, f.group.ID)
		if err != nil {
			t.Fatalf("CountFollowers: %v", err)
		}
		if got, want := n, 1; got != want {
			t.Errorf("CountFollowers = %d, want %d", got, want)
		}
		if got, want := f.follow(bob, f.group).ActivityIRI, "https://remote.test/follows/2"; got != want {
			t.Errorf("ActivityIRI = %q, want the latest %q", got, want)
		}
		if got, want := f.notificationsOf(f.admin, chapter.NotifyFollow), 1; got != want {
			t.Errorf("admin has %d follow notifications, want %d", got, want)
		}
	})
}

func TestReceiveFollowOfMember(t *testing.T) {
	f := newFixture(t)
	alice := f.member("alice", chapter.RoleMember)
	bob := f.remote("bob", "remote.test")
	if _, err := f.svc.ReceiveFollow(f.ctx, bob, alice, "https://remote.test/follows/1"); err != nil {
		t.Fatalf("ReceiveFollow: %v", err)
	}
	if fl := f.follow(bob, alice); fl == nil || fl.State != chapter.FollowAccepted {
		t.Errorf("follow = %+v, want accepted", fl)
	}
	if got, want := eventTypes(f.pub.take()), typesOf(chapter.EventFollowAccepted); got != want {
		t.Errorf("events = %q, want %q", got, want)
	}
	if got, want := f.notificationsOf(alice, chapter.NotifyFollow), 1; got != want {
		t.Errorf("alice has %d follow notifications, want %d", got, want)
	}
	if got, want := len(f.notifications(f.admin)), 0; got != want {
		t.Errorf("admin has %d notifications about a member's follower, want %d", got, want)
	}
}

func TestReceiveFollowRefusals(t *testing.T) {
	f := newFixture(t)
	alice := f.member("alice", chapter.RoleMember)
	suspended := f.memberIn("suspended", chapter.StateSuspended)
	bob := f.remote("bob", "remote.test")
	carol := f.remote("carol", "other.test")
	tests := []struct {
		name     string
		follower *chapter.Account
		target   *chapter.Account
		want     error
	}{
		{"local follower", alice, f.group, chapter.ErrInvalid},
		{"remote target", bob, carol, chapter.ErrInvalid},
		{"suspended target", bob, suspended, chapter.ErrNotFound},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			before := f.deliveries()
			_, err := f.svc.ReceiveFollow(f.ctx, tt.follower, tt.target, "https://remote.test/follows/x")
			if !errors.Is(err, tt.want) {
				t.Fatalf("ReceiveFollow = %v, want %v", err, tt.want)
			}
			if got := eventTypes(f.pub.take()); got != "" {
				t.Errorf("events = %q, want none", got)
			}
			if got, want := f.deliveries(), before; got != want {
				t.Errorf("deliveries = %d, want %d", got, want)
			}
			if fl := f.follow(tt.follower, tt.target); fl != nil {
				t.Errorf("follow stored: %+v", fl)
			}
		})
	}
}

func TestReceiveFollowLocked(t *testing.T) {
	f := newFixture(t, locked)
	bob := f.remote("bob", "remote.test")
	carol := f.remote("carol", "other.test")
	f.pub.take()
	before := f.deliveries()

	fl, err := f.svc.ReceiveFollow(f.ctx, bob, f.group, "https://remote.test/follows/1")
	if err != nil {
		t.Fatalf("ReceiveFollow: %v", err)
	}
	if got, want := fl.State, chapter.FollowPending; got != want {
		t.Errorf("State = %q, want %q", got, want)
	}
	if stored := f.follow(bob, f.group); stored == nil || stored.State != chapter.FollowPending {
		t.Errorf("stored follow = %+v, want pending", stored)
	}
	if got := eventTypes(f.pub.take()); got != "" {
		t.Errorf("events = %q, want none while pending", got)
	}
	if got, want := f.deliveries(), before; got != want {
		t.Errorf("deliveries = %d, want %d", got, want)
	}
	if got, want := f.notificationsOf(f.admin, chapter.NotifyFollowReq), 1; got != want {
		t.Errorf("admin has %d follow requests, want %d", got, want)
	}
	if got, want := f.notificationsOf(f.admin, chapter.NotifyFollow), 0; got != want {
		t.Errorf("admin has %d follow notifications, want %d", got, want)
	}
	if n, err := f.db.CountFollowers(f.ctx, f.group.ID); err != nil || n != 0 {
		t.Errorf("CountFollowers = %d, %v; want 0 (pending follows do not count)", n, err)
	}
	pending, err := f.db.Followers(f.ctx, f.group.ID, chapter.FollowPending, 10, 0)
	if err != nil {
		t.Fatalf("Followers: %v", err)
	}
	if len(pending) != 1 || pending[0].ID != bob.ID {
		t.Errorf("pending followers = %v, want bob", pending)
	}

	t.Run("repeated request stays pending", func(t *testing.T) {
		if _, err := f.svc.ReceiveFollow(f.ctx, bob, f.group, "https://remote.test/follows/2"); err != nil {
			t.Fatalf("ReceiveFollow: %v", err)
		}
		if got := f.follow(bob, f.group).State; got != chapter.FollowPending {
			t.Errorf("State = %q, want pending", got)
		}
		if got := eventTypes(f.pub.take()); got != "" {
			t.Errorf("events = %q, want none", got)
		}
		if got, want := f.notificationsOf(f.admin, chapter.NotifyFollowReq), 1; got != want {
			t.Errorf("admin has %d follow requests, want %d", got, want)
		}
	})

	t.Run("approval accepts and makes a member", func(t *testing.T) {
		members, err := f.db.CountMembers(f.ctx)
		if err != nil {
			t.Fatalf("CountMembers: %v", err)
		}
		before := f.deliveries()
		fl, err := f.svc.ApproveFollower(f.ctx, f.group.ID, bob.ActorIRI)
		if err != nil {
			t.Fatalf("ApproveFollower: %v", err)
		}
		if got, want := fl.State, chapter.FollowAccepted; got != want {
			t.Errorf("State = %q, want %q", got, want)
		}
		if got := f.follow(bob, f.group).State; got != chapter.FollowAccepted {
			t.Errorf("stored State = %q, want accepted", got)
		}
		evs := f.pub.take()
		if got, want := eventTypes(evs), typesOf(chapter.EventFollowAccepted); got != want {
			t.Fatalf("events = %q, want %q", got, want)
		}
		if evs[0].Actor.ID != f.group.ID || evs[0].Object.ID != bob.ID {
			t.Errorf("Accept by %d of %d, want group %d accepting bob %d", evs[0].Actor.ID, evs[0].Object.ID, f.group.ID, bob.ID)
		}
		if got, want := f.deliveries(), before+1; got != want {
			t.Errorf("deliveries = %d, want %d", got, want)
		}
		if got, want := f.account(bob.ID).State, chapter.StateActive; got != want {
			t.Errorf("bob's State = %q, want %q", got, want)
		}
		n, err := f.db.CountMembers(f.ctx)
		if err != nil {
			t.Fatalf("CountMembers: %v", err)
		}
		if got, want := n, members+1; got != want {
			t.Errorf("CountMembers = %d, want %d", got, want)
		}
	})

	t.Run("accepted follower's repeated follow is accepted again", func(t *testing.T) {
		fl, err := f.svc.ReceiveFollow(f.ctx, bob, f.group, "https://remote.test/follows/3")
		if err != nil {
			t.Fatalf("ReceiveFollow: %v", err)
		}
		if got, want := fl.State, chapter.FollowAccepted; got != want {
			t.Errorf("State = %q, want %q", got, want)
		}
		if got, want := eventTypes(f.pub.take()), typesOf(chapter.EventFollowAccepted); got != want {
			t.Errorf("events = %q, want %q", got, want)
		}
	})

	t.Run("rejection removes the follow", func(t *testing.T) {
		if _, err := f.svc.ReceiveFollow(f.ctx, carol, f.group, "https://other.test/follows/1"); err != nil {
			t.Fatalf("ReceiveFollow: %v", err)
		}
		f.pub.take()
		before := f.deliveries()
		if err := f.svc.RejectFollower(f.ctx, f.group.ID, carol.ActorIRI); err != nil {
			t.Fatalf("RejectFollower: %v", err)
		}
		if fl := f.follow(carol, f.group); fl != nil {
			t.Errorf("follow after rejection = %+v, want none", fl)
		}
		evs := f.pub.take()
		if got, want := eventTypes(evs), typesOf(chapter.EventFollowRejected); got != want {
			t.Fatalf("events = %q, want %q", got, want)
		}
		if evs[0].Actor.ID != f.group.ID || evs[0].Object.ID != carol.ID || evs[0].Follow == nil {
			t.Errorf("Reject event = %+v, want the group rejecting carol's follow", evs[0])
		}
		if got, want := f.deliveries(), before+1; got != want {
			t.Errorf("deliveries = %d, want %d", got, want)
		}
		if got := f.account(carol.ID).State; got != chapter.StateNone {
			t.Errorf("carol's State = %q, want none", got)
		}
	})

	t.Run("refusals", func(t *testing.T) {
		dave := f.remote("dave", "remote.test")
		tests := []struct {
			name string
			call func() error
			want error
		}{
			{"approve without a follow", func() error {
				_, err := f.svc.ApproveFollower(f.ctx, f.group.ID, dave.ActorIRI)
				return err
			}, chapter.ErrNotFound},
			{"approve an unknown actor", func() error {
				_, err := f.svc.ApproveFollower(f.ctx, f.group.ID, "https://nowhere.test/users/x")
				return err
			}, chapter.ErrNotFound},
			{"approve for an unknown account", func() error {
				_, err := f.svc.ApproveFollower(f.ctx, 987654, bob.ActorIRI)
				return err
			}, chapter.ErrNotFound},
			{"reject without a follow", func() error {
				return f.svc.RejectFollower(f.ctx, f.group.ID, dave.ActorIRI)
			}, chapter.ErrNotFound},
			{"reject an unknown actor", func() error {
				return f.svc.RejectFollower(f.ctx, f.group.ID, "https://nowhere.test/users/x")
			}, chapter.ErrNotFound},
		}
		for _, tt := range tests {
			t.Run(tt.name, func(t *testing.T) {
				before := f.deliveries()
				if err := tt.call(); !errors.Is(err, tt.want) {
					t.Errorf("err = %v, want %v", err, tt.want)
				}
				if got, want := f.deliveries(), before; got != want {
					t.Errorf("deliveries = %d, want %d", got, want)
				}
				f.pub.take()
			})
		}
		if got := f.account(dave.ID).State; got != chapter.StateNone {
			t.Errorf("dave's State = %q, want none", got)
		}
	})
}

func TestApproveFollowerOfMember(t *testing.T) {
	f := newFixture(t)
	alice := f.member("alice", chapter.RoleMember)
	bob := f.remote("bob", "remote.test")
	// A pending follow of a member (members' follows are accepted on
	// receipt; this one was stored pending by hand).
	if err := f.db.PutFollow(f.ctx, &chapter.Follow{FollowerID: bob.ID, TargetID: alice.ID,
		State: chapter.FollowPending, ActivityIRI: "https://remote.test/follows/1"}, nil); err != nil {
		t.Fatalf("PutFollow: %v", err)
	}
	if _, err := f.svc.ApproveFollower(f.ctx, alice.ID, bob.ActorIRI); err != nil {
		t.Fatalf("ApproveFollower: %v", err)
	}
	if got := f.follow(bob, alice).State; got != chapter.FollowAccepted {
		t.Errorf("State = %q, want accepted", got)
	}
	if got := f.account(bob.ID).State; got != chapter.StateNone {
		t.Errorf("bob's State = %q: following a member is not membership of the chapter", got)
	}
}

func TestReceiveUnfollow(t *testing.T) {
	f := newFixture(t)
	bob := f.remote("bob", "remote.test")
	t.Run("of nothing", func(t *testing.T) {
		if err := f.svc.ReceiveUnfollow(f.ctx, bob, f.group); err != nil {
			t.Errorf("ReceiveUnfollow without a follow = %v, want nil", err)
		}
	})
	t.Run("of a follow", func(t *testing.T) {
		if _, err := f.svc.ReceiveFollow(f.ctx, bob, f.group, "https://remote.test/follows/1"); err != nil {
			t.Fatalf("ReceiveFollow: %v", err)
		}
		f.pub.take()
		if err := f.svc.ReceiveUnfollow(f.ctx, bob, f.group); err != nil {
			t.Fatalf("ReceiveUnfollow: %v", err)
		}
		if fl := f.follow(bob, f.group); fl != nil {
			t.Errorf("follow after Undo = %+v", fl)
		}
		if got := eventTypes(f.pub.take()); got != "" {
			t.Errorf("events = %q, want none", got)
		}
		if err := f.svc.ReceiveUnfollow(f.ctx, bob, f.group); err != nil {
			t.Errorf("second ReceiveUnfollow = %v, want nil", err)
		}
	})
}

func TestReceiveBlock(t *testing.T) {
	f := newFixture(t)
	bob := f.remote("bob", "remote.test")
	carol := f.remote("carol", "remote.test")
	t.Run("of nothing", func(t *testing.T) {
		if err := f.svc.ReceiveBlock(f.ctx, bob, f.group); err != nil {
			t.Errorf("ReceiveBlock without follows = %v, want nil", err)
		}
	})
	t.Run("removes both directions", func(t *testing.T) {
		if _, err := f.svc.ReceiveFollow(f.ctx, bob, f.group, "https://remote.test/follows/1"); err != nil {
			t.Fatalf("ReceiveFollow: %v", err)
		}
		if _, err := f.svc.FollowRemote(f.ctx, f.group.ID, "@bob@remote.test"); err != nil {
			t.Fatalf("FollowRemote: %v", err)
		}
		if err := f.svc.ReceiveFollowAnswer(f.ctx, bob, f.group, true); err != nil {
			t.Fatalf("ReceiveFollowAnswer: %v", err)
		}
		if _, err := f.svc.ReceiveFollow(f.ctx, carol, f.group, "https://remote.test/follows/2"); err != nil {
			t.Fatalf("ReceiveFollow: %v", err)
		}
		if err := f.svc.ReceiveBlock(f.ctx, bob, f.group); err != nil {
			t.Fatalf("ReceiveBlock: %v", err)
		}
		if fl := f.follow(bob, f.group); fl != nil {
			t.Errorf("bob still follows the group: %+v", fl)
		}
		if fl := f.follow(f.group, bob); fl != nil {
			t.Errorf("the group still follows bob: %+v", fl)
		}
		if fl := f.follow(carol, f.group); fl == nil {
			t.Errorf("carol's follow went with bob's block")
		}
	})
	t.Run("one direction", func(t *testing.T) {
		if _, err := f.svc.FollowRemote(f.ctx, f.group.ID, "@carol@remote.test"); err != nil {
			t.Fatalf("FollowRemote: %v", err)
		}
		if err := f.svc.ReceiveBlock(f.ctx, carol, f.group); err != nil {
			t.Fatalf("ReceiveBlock: %v", err)
		}
		if fl := f.follow(f.group, carol); fl != nil {
			t.Errorf("pending follow of carol survived her block: %+v", fl)
		}
		if fl := f.follow(carol, f.group); fl != nil {
			t.Errorf("carol's follow survived her block: %+v", fl)
		}
	})
}

func TestFollowRemote(t *testing.T) {
	t.Run("without federation", func(t *testing.T) {
		f := newFixture(t)
		svc := f.newService(f.node, nil)
		if _, err := svc.FollowRemote(f.ctx, f.group.ID, "@bob@remote.test"); !errors.Is(err, chapter.ErrInvalid) {
			t.Errorf("FollowRemote without resolver = %v, want ErrInvalid", err)
		}
	})
	t.Run("unknown handle", func(t *testing.T) {
		f := newFixture(t)
		if _, err := f.svc.FollowRemote(f.ctx, f.group.ID, "@ghost@nowhere.test"); !errors.Is(err, chapter.ErrNotFound) {
			t.Errorf("FollowRemote(ghost) = %v, want ErrNotFound", err)
		}
		if got := eventTypes(f.pub.take()); got != "" {
			t.Errorf("events = %q, want none", got)
		}
	})
	t.Run("pending until accepted", func(t *testing.T) {
		f := newFixture(t)
		bob := f.remote("bob", "remote.test")
		before := f.deliveries()
		fl, err := f.svc.FollowRemote(f.ctx, f.group.ID, "@bob@remote.test")
		if err != nil {
			t.Fatalf("FollowRemote: %v", err)
		}
		if got, want := fl.State, chapter.FollowPending; got != want {
			t.Errorf("State = %q, want %q", got, want)
		}
		evs := f.pub.take()
		if got, want := eventTypes(evs), typesOf(chapter.EventFollowRequested); got != want {
			t.Fatalf("events = %q, want %q", got, want)
		}
		if evs[0].Actor.ID != f.group.ID || evs[0].Object.ID != bob.ID {
			t.Errorf("Follow by %d of %d, want group %d following bob %d", evs[0].Actor.ID, evs[0].Object.ID, f.group.ID, bob.ID)
		}
		if got, want := f.deliveries(), before+1; got != want {
			t.Errorf("deliveries = %d, want %d", got, want)
		}
		if err := f.svc.ReceiveFollowAnswer(f.ctx, bob, f.group, true); err != nil {
			t.Fatalf("ReceiveFollowAnswer: %v", err)
		}
		if got := f.follow(f.group, bob).State; got != chapter.FollowAccepted {
			t.Errorf("State after Accept = %q, want accepted", got)
		}
		if _, err := f.svc.FollowRemote(f.ctx, f.group.ID, bob.ActorIRI); err != nil {
			t.Fatalf("FollowRemote again: %v", err)
		}
		if got := eventTypes(f.pub.take()); got != "" {
			t.Errorf("following an accepted follow again published %q", got)
		}
		if got := f.follow(f.group, bob).State; got != chapter.FollowAccepted {
			t.Errorf("State after second FollowRemote = %q, want accepted", got)
		}
	})
	t.Run("rejected", func(t *testing.T) {
		f := newFixture(t)
		bob := f.remote("bob", "remote.test")
		if _, err := f.svc.FollowRemote(f.ctx, f.group.ID, "bob@remote.test"); err != nil {
			t.Fatalf("FollowRemote: %v", err)
		}
		if err := f.svc.ReceiveFollowAnswer(f.ctx, bob, f.group, false); err != nil {
			t.Fatalf("ReceiveFollowAnswer: %v", err)
		}
		if fl := f.follow(f.group, bob); fl != nil {
			t.Errorf("follow after Reject = %+v, want none", fl)
		}
	})
	t.Run("answer without a follow", func(t *testing.T) {
		f := newFixture(t)
		bob := f.remote("bob", "remote.test")
		for _, accepted := range []bool{true, false} {
			if err := f.svc.ReceiveFollowAnswer(f.ctx, bob, f.group, accepted); !errors.Is(err, chapter.ErrNotFound) {
				t.Errorf("ReceiveFollowAnswer(accepted %v) without a follow = %v, want ErrNotFound", accepted, err)
			}
		}
		if fl := f.follow(f.group, bob); fl != nil {
			t.Errorf("an unsolicited Accept created a follow: %+v", fl)
		}
	})
}
