package chapter_test

import (
	"errors"
	"testing"
	"time"

	"github.com/chapterhouse/chapterhouse/chapter"
)

// inboundFixture is a node with a local member alice and her public post,
// a remote member, a remote stranger, and an account the Group follows.
type inboundFixture struct {
	*fixture
	alice, carol *chapter.Account
	alicePost    *chapter.Post
	goneLocal    *chapter.Post
	remoteMem    *chapter.Account
	stranger     *chapter.Account
	followed     *chapter.Account
}

func newInboundFixture(t *testing.T) *inboundFixture {
	t.Helper()
	f := &inboundFixture{fixture: newFixture(t)}
	f.alice = f.member("alice", chapter.RoleMember)
	f.carol = f.member("carol", chapter.RoleMember)
	f.alicePost = f.post(f.alice, chapter.NewPost{Text: "Who is coming?"})
	f.goneLocal = f.post(f.alice, chapter.NewPost{Text: "Soon gone"})
	if _, err := f.svc.DeletePost(f.ctx, f.alice.ID, f.goneLocal.ID); err != nil {
		t.Fatalf("DeletePost: %v", err)
	}
	f.remoteMem = f.remoteMember("mem", "remote.test")
	f.stranger = f.remote("stranger", "remote.test")
	f.followed = f.remote("news", "news.test")
	if _, err := f.svc.FollowRemote(f.ctx, f.group.ID, f.followed.ActorIRI); err != nil {
		t.Fatalf("FollowRemote: %v", err)
	}
	if err := f.svc.ReceiveFollowAnswer(f.ctx, f.followed, f.group, true); err != nil {
		t.Fatalf("ReceiveFollowAnswer: %v", err)
	}
	f.pub.take()
	return f
}

func TestReceivePost(t *testing.T) {
	type want struct {
		stored    bool
		announced bool
		// replyTo is true when the post must be threaded under alice's post.
		replyTo bool
		// notified is how many notifications alice and carol get.
		alice, carol int
	}
	tests := []struct {
		name string
		// make builds the post and its audience.
		make func(f *inboundFixture) (*chapter.Post, []string)
		want want
	}{
		{"stranger's unrelated post", func(f *inboundFixture) (*chapter.Post, []string) {
			return remotePost(f.stranger, "1", "hello world", chapter.VisibilityPublic),
				[]string{"https://www.w3.org/ns/activitystreams#Public"}
		}, want{}},
		{"stranger's reply to a local post", func(f *inboundFixture) (*chapter.Post, []string) {
			p := remotePost(f.stranger, "1", "me!", chapter.VisibilityPublic)
			p.InReplyToIRI = f.alicePost.IRI
			return p, nil
		}, want{stored: true, replyTo: true, alice: 1}},
		{"stranger's reply that also mentions the author", func(f *inboundFixture) (*chapter.Post, []string) {
			p := remotePost(f.stranger, "1", "@alice me!", chapter.VisibilityPublic)
			p.InReplyToIRI = f.alicePost.IRI
			p.Mentions = []string{f.alice.ActorIRI}
			return p, nil
		}, want{stored: true, replyTo: true, alice: 1}},
		{"stranger's reply mentioning another member", func(f *inboundFixture) (*chapter.Post, []string) {
			p := remotePost(f.stranger, "1", "@carol look", chapter.VisibilityPublic)
			p.InReplyToIRI = f.alicePost.IRI
			p.Mentions = []string{f.carol.ActorIRI}
			return p, nil
		}, want{stored: true, replyTo: true, alice: 1, carol: 1}},
		{"stranger's reply to a deleted local post", func(f *inboundFixture) (*chapter.Post, []string) {
			p := remotePost(f.stranger, "1", "late", chapter.VisibilityPublic)
			p.InReplyToIRI = f.goneLocal.IRI
			return p, nil
		}, want{}},
		{"stranger's reply to an unknown post", func(f *inboundFixture) (*chapter.Post, []string) {
			p := remotePost(f.stranger, "1", "elsewhere", chapter.VisibilityPublic)
			p.InReplyToIRI = "https://elsewhere.test/notes/1"
			return p, nil
		}, want{}},
		{"stranger mentions a member", func(f *inboundFixture) (*chapter.Post, []string) {
			p := remotePost(f.stranger, "1", "@carol hi", chapter.VisibilityPublic)
			p.Mentions = []string{f.carol.ActorIRI}
			return p, nil
		}, want{stored: true, carol: 1}},
		{"stranger's direct message to a member", func(f *inboundFixture) (*chapter.Post, []string) {
			p := remotePost(f.stranger, "1", "@carol psst", chapter.VisibilityDirect)
			p.Mentions = []string{f.carol.ActorIRI}
			return p, []string{f.carol.ActorIRI}
		}, want{stored: true, carol: 1}},
		{"stranger addresses the group", func(f *inboundFixture) (*chapter.Post, []string) {
			return remotePost(f.stranger, "1", "boost me", chapter.VisibilityPublic),
				[]string{"https://www.w3.org/ns/activitystreams#Public", f.group.ActorIRI}
		}, want{stored: true}},
		{"stranger mentions the group", func(f *inboundFixture) (*chapter.Post, []string) {
			p := remotePost(f.stranger, "1", "@riverside boost me", chapter.VisibilityPublic)
			p.Mentions = []string{f.group.ActorIRI}
			return p, nil
		}, want{stored: true}},
		{"member's public post addressed to the group", func(f *inboundFixture) (*chapter.Post, []string) {
			return remotePost(f.remoteMem, "1", "for the chapter", chapter.VisibilityPublic),
				[]string{"https://www.w3.org/ns/activitystreams#Public", f.group.ActorIRI}
		}, want{stored: true, announced: true}},
		{"member's public post mentioning the group", func(f *inboundFixture) (*chapter.Post, []string) {
			p := remotePost(f.remoteMem, "1", "@riverside for the chapter", chapter.VisibilityPublic)
			p.Mentions = []string{f.group.ActorIRI}
			return p, nil
		}, want{stored: true, announced: true}},
		{"member's public reply to a local post addressed to the group", func(f *inboundFixture) (*chapter.Post, []string) {
			p := remotePost(f.remoteMem, "1", "count me in", chapter.VisibilityPublic)
			p.InReplyToIRI = f.alicePost.IRI
			return p, []string{f.group.ActorIRI}
		}, want{stored: true, announced: true, replyTo: true, alice: 1}},
		{"member's unlisted post addressed to the group", func(f *inboundFixture) (*chapter.Post, []string) {
			return remotePost(f.remoteMem, "1", "quietly", chapter.VisibilityUnlisted), []string{f.group.ActorIRI}
		}, want{stored: true}},
		{"member's followers-only post addressed to the group", func(f *inboundFixture) (*chapter.Post, []string) {
			return remotePost(f.remoteMem, "1", "friends", chapter.VisibilityFollowers), []string{f.group.ActorIRI}
		}, want{stored: true}},
		{"member's public post not addressed to the group", func(f *inboundFixture) (*chapter.Post, []string) {
			return remotePost(f.remoteMem, "1", "my lunch", chapter.VisibilityPublic),
				[]string{"https://www.w3.org/ns/activitystreams#Public"}
		}, want{stored: true}},
		{"followed account's post", func(f *inboundFixture) (*chapter.Post, []string) {
			return remotePost(f.followed, "1", "news", chapter.VisibilityPublic),
				[]string{"https://www.w3.org/ns/activitystreams#Public", f.followed.FollowersIRI}
		}, want{stored: true}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := newInboundFixture(t)
			p, audience := tt.make(f)
			before := f.deliveries()
			stored, err := f.svc.ReceivePost(f.ctx, p, audience)
			if err != nil {
				t.Fatalf("ReceivePost: %v", err)
			}
			if got, want := stored, tt.want.stored; got != want {
				t.Errorf("stored = %v, want %v", got, want)
			}
			got, err := f.db.PostByIRI(f.ctx, p.IRI)
			if !tt.want.stored {
				if !errors.Is(err, chapter.ErrNotFound) {
					t.Errorf("PostByIRI of a dropped post = %v, want ErrNotFound", err)
				}
			} else if err != nil {
				t.Fatalf("PostByIRI: %v", err)
			} else {
				if got, want := got.Announced, tt.want.announced; got != want {
					t.Errorf("Announced = %v, want %v", got, want)
				}
				if got, want := got.AccountID, p.Author.ID; got != want {
					t.Errorf("AccountID = %d, want %d", got, want)
				}
				if got.Local() {
					t.Errorf("remote post stored as local")
				}
				wantParent := int64(0)
				if tt.want.replyTo {
					wantParent = f.alicePost.ID
				}
				if got, want := got.InReplyToID, wantParent; got != want {
					t.Errorf("InReplyToID = %d, want %d", got, want)
				}
			}
			evs := f.pub.take()
			wantEvents := ""
			if tt.want.announced {
				wantEvents = typesOf(chapter.EventPostAnnounced)
			}
			if got := eventTypes(evs); got != wantEvents {
				t.Fatalf("events = %q, want %q", got, wantEvents)
			}
			if len(evs) > 0 {
				if got, want := evs[0].Actor.ID, f.group.ID; got != want {
					t.Errorf("Announce actor = %d, want the group %d", got, want)
				}
			}
			if got, want := f.deliveries(), before+len(evs); got != want {
				t.Errorf("deliveries = %d, want %d", got, want)
			}
			for _, c := range []struct {
				who  *chapter.Account
				want int
			}{{f.alice, tt.want.alice}, {f.carol, tt.want.carol}} {
				ns := f.notifications(c.who)
				if got := len(ns); got != c.want {
					t.Errorf("%s has %d notifications, want %d", c.who.Username, got, c.want)
				}
				for _, n := range ns {
					if n.Type != chapter.NotifyMention || n.FromID != p.Author.ID || n.PostID != p.ID {
						t.Errorf("%s: notification %+v, want a mention from %d about %d", c.who.Username, n, p.Author.ID, p.ID)
					}
				}
			}
			if got := len(f.notifications(f.admin)); got != 0 {
				t.Errorf("admin has %d notifications, want 0", got)
			}
		})
	}
}

func TestReceivePostRefusals(t *testing.T) {
	f := newInboundFixture(t)
	tests := []struct {
		name string
		p    *chapter.Post
	}{
		{"no author", &chapter.Post{IRI: "https://remote.test/notes/1", Content: "<p>x</p>"}},
		{"local author", &chapter.Post{IRI: "https://remote.test/notes/2", Author: f.alice, Content: "<p>x</p>"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if _, err := f.svc.ReceivePost(f.ctx, tt.p, []string{f.group.ActorIRI}); !errors.Is(err, chapter.ErrInvalid) {
				t.Errorf("ReceivePost = %v, want ErrInvalid", err)
			}
			if _, err := f.db.PostByIRI(f.ctx, tt.p.IRI); !errors.Is(err, chapter.ErrNotFound) {
				t.Errorf("refused post stored: %v", err)
			}
		})
	}
}

func TestReceivePostTwice(t *testing.T) {
	f := newInboundFixture(t)
	first := remotePost(f.remoteMem, "1", "@alice for the chapter", chapter.VisibilityPublic)
	first.Mentions = []string{f.alice.ActorIRI}
	if !f.receive(first, f.group.ActorIRI) {
		t.Fatalf("first delivery not stored")
	}
	if got, want := eventTypes(f.pub.take()), typesOf(chapter.EventPostAnnounced); got != want {
		t.Fatalf("events = %q, want %q", got, want)
	}
	before := f.deliveries()
	again := remotePost(f.remoteMem, "1", "@alice for the chapter", chapter.VisibilityPublic)
	again.Mentions = []string{f.alice.ActorIRI}
	if f.receive(again, f.group.ActorIRI) {
		t.Errorf("second delivery stored again")
	}
	if got := eventTypes(f.pub.take()); got != "" {
		t.Errorf("second delivery published %q", got)
	}
	if got, want := f.deliveries(), before; got != want {
		t.Errorf("deliveries = %d, want %d", got, want)
	}
	if n, err := f.db.CountPosts(f.ctx, f.remoteMem.ID); err != nil || n != 1 {
		t.Errorf("CountPosts = %d, %v; want 1", n, err)
	}
	if got, want := len(f.notifications(f.alice)), 1; got != want {
		t.Errorf("alice has %d notifications, want %d", got, want)
	}
}

func TestReceivePostTimes(t *testing.T) {
	f := newInboundFixture(t)
	past := time.Date(2024, 5, 1, 10, 0, 0, 0, time.UTC)
	future := time.Date(2099, 1, 1, 0, 0, 0, 0, time.UTC)
	tests := []struct {
		name    string
		created time.Time
		// keep says whether the post's own time is kept.
		keep bool
	}{
		{"past time kept", past, true},
		{"future time replaced by now", future, false},
		{"no time replaced by now", time.Time{}, false},
	}
	for i, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p := remotePost(f.remoteMem, string(rune('a'+i)), "x", chapter.VisibilityPublic)
			p.CreatedAt = tt.created
			if !f.receive(p, f.group.ActorIRI) {
				t.Fatalf("not stored")
			}
			got := f.stored(p.ID).CreatedAt
			if tt.keep && !got.Equal(tt.created) {
				t.Errorf("CreatedAt = %v, want %v", got, tt.created)
			}
			if !tt.keep && (got.IsZero() || got.After(time.Date(2030, 1, 1, 0, 0, 0, 0, time.UTC))) {
				t.Errorf("CreatedAt = %v, want the service clock", got)
			}
		})
	}
}

func TestReceivePostUpdate(t *testing.T) {
	f := newInboundFixture(t)
	p := remotePost(f.remoteMem, "1", "first", chapter.VisibilityPublic)
	f.receive(p, f.group.ActorIRI)
	tests := []struct {
		name        string
		actor       *chapter.Account
		iri         string
		want        error
		wantContent string
	}{
		{"by a stranger", f.stranger, p.IRI, chapter.ErrForbidden, "<p>first</p>"},
		{"by a local member", f.alice, p.IRI, chapter.ErrForbidden, "<p>first</p>"},
		{"of a post never kept", f.remoteMem, "https://remote.test/users/mem/statuses/404", nil, "<p>first</p>"},
		{"by the author", f.remoteMem, p.IRI, nil, "<p>edited</p>"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			edit := &chapter.Post{IRI: tt.iri, Content: "<p>edited</p>", Summary: "cw", Sensitive: true, Language: "de"}
			if err := f.svc.ReceivePostUpdate(f.ctx, tt.actor, edit); !errIs(err, tt.want) {
				t.Fatalf("ReceivePostUpdate = %v, want %v", err, tt.want)
			}
			if got, want := f.stored(p.ID).Content, tt.wantContent; got != want {
				t.Errorf("Content = %q, want %q", got, want)
			}
		})
	}
	stored := f.stored(p.ID)
	if stored.Summary != "cw" || !stored.Sensitive || stored.Language != "de" {
		t.Errorf("after the author's edit: summary %q, sensitive %v, language %q; want cw, true, de",
			stored.Summary, stored.Sensitive, stored.Language)
	}
	t.Run("of a deleted post", func(t *testing.T) {
		if err := f.svc.ReceiveDelete(f.ctx, f.remoteMem, p.IRI); err != nil {
			t.Fatalf("ReceiveDelete: %v", err)
		}
		if err := f.svc.ReceivePostUpdate(f.ctx, f.remoteMem, &chapter.Post{IRI: p.IRI, Content: "<p>zombie</p>"}); err != nil {
			t.Errorf("ReceivePostUpdate of a tombstone = %v, want nil", err)
		}
		if got := f.stored(p.ID); got.Content != "" || !got.Deleted() {
			t.Errorf("tombstone edited: %+v", got)
		}
	})
}

func TestReceiveDelete(t *testing.T) {
	f := newInboundFixture(t)
	p := remotePost(f.stranger, "1", "@alice hi", chapter.VisibilityPublic)
	p.Mentions = []string{f.alice.ActorIRI}
	f.receive(p)
	if got, want := len(f.notifications(f.alice)), 1; got != want {
		t.Fatalf("alice has %d notifications, want %d", got, want)
	}
	tests := []struct {
		name        string
		actor       *chapter.Account
		iri         string
		want        error
		wantDeleted bool
	}{
		{"by another remote actor", f.remoteMem, p.IRI, chapter.ErrForbidden, false},
		{"of a local post by a remote actor", f.stranger, f.alicePost.IRI, chapter.ErrForbidden, false},
		{"of an unknown post", f.stranger, "https://remote.test/users/stranger/statuses/404", nil, false},
		{"by the author", f.stranger, p.IRI, nil, true},
		{"again by the author", f.stranger, p.IRI, nil, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if err := f.svc.ReceiveDelete(f.ctx, tt.actor, tt.iri); !errIs(err, tt.want) {
				t.Fatalf("ReceiveDelete = %v, want %v", err, tt.want)
			}
			got := f.stored(p.ID)
			if got.Deleted() != tt.wantDeleted {
				t.Errorf("Deleted = %v, want %v", got.Deleted(), tt.wantDeleted)
			}
			if tt.wantDeleted && got.Content != "" {
				t.Errorf("tombstone keeps content %q", got.Content)
			}
			if f.stored(f.alicePost.ID).Deleted() {
				t.Errorf("alice's post deleted by a remote actor")
			}
			if got := eventTypes(f.pub.take()); got != "" {
				t.Errorf("events = %q, want none", got)
			}
		})
	}
	if got, want := len(f.notifications(f.alice)), 0; got != want {
		t.Errorf("after the delete alice has %d notifications, want %d", got, want)
	}
}

func TestReceiveDeleteActor(t *testing.T) {
	f := newInboundFixture(t)
	p := remotePost(f.stranger, "1", "me!", chapter.VisibilityPublic)
	p.InReplyToIRI = f.alicePost.IRI
	f.receive(p)
	if _, err := f.svc.ReceiveFollow(f.ctx, f.stranger, f.group, "https://remote.test/follows/1"); err != nil {
		t.Fatalf("ReceiveFollow: %v", err)
	}
	if err := f.svc.ReceiveInteraction(f.ctx, chapter.InteractionLike, f.stranger, f.alicePost.IRI, "https://remote.test/likes/1"); err != nil {
		t.Fatalf("ReceiveInteraction: %v", err)
	}
	if err := f.svc.ReceiveDelete(f.ctx, f.stranger, f.stranger.ActorIRI); err != nil {
		t.Fatalf("ReceiveDelete(actor): %v", err)
	}
	if _, err := f.db.Account(f.ctx, f.stranger.ID); !errors.Is(err, chapter.ErrNotFound) {
		t.Errorf("Account after actor delete = %v, want ErrNotFound", err)
	}
	if _, err := f.db.PostByIRI(f.ctx, p.IRI); !errors.Is(err, chapter.ErrNotFound) {
		t.Errorf("post of a deleted actor = %v, want ErrNotFound", err)
	}
	if fl := f.follow(f.stranger, f.group); fl != nil {
		t.Errorf("follow of a deleted actor survived: %+v", fl)
	}
	if n, err := f.db.CountInteractions(f.ctx, f.alicePost.ID, chapter.InteractionLike); err != nil || n != 0 {
		t.Errorf("likes after actor delete = %d, %v; want 0", n, err)
	}
	if got := len(f.notifications(f.alice)); got != 0 {
		t.Errorf("alice keeps %d notifications from a deleted actor", got)
	}
	if got := len(f.notifications(f.admin)); got != 0 {
		t.Errorf("admin keeps %d notifications from a deleted actor", got)
	}
	if f.stored(f.alicePost.ID).Deleted() {
		t.Errorf("alice's post went with the actor")
	}
	t.Run("again", func(t *testing.T) {
		if err := f.svc.ReceiveDelete(f.ctx, f.stranger, f.stranger.ActorIRI); err != nil {
			t.Errorf("second ReceiveDelete(actor) = %v, want nil", err)
		}
	})
}

func TestReceiveInteraction(t *testing.T) {
	tests := []struct {
		name     string
		kind     chapter.InteractionKind
		wantType chapter.NotificationType
	}{
		{"like", chapter.InteractionLike, chapter.NotifyFavourite},
		{"announce", chapter.InteractionAnnounce, chapter.NotifyReblog},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := newInboundFixture(t)
			for i, activity := range []string{
				"https://remote.test/activities/1",
				"https://remote.test/activities/1", // the same activity delivered twice
				"https://remote.test/activities/2", // the same reaction with a new id
			} {
				if err := f.svc.ReceiveInteraction(f.ctx, tt.kind, f.stranger, f.alicePost.IRI, activity); err != nil {
					t.Fatalf("ReceiveInteraction #%d: %v", i+1, err)
				}
			}
			if n, err := f.db.CountInteractions(f.ctx, f.alicePost.ID, tt.kind); err != nil || n != 1 {
				t.Errorf("CountInteractions = %d, %v; want 1", n, err)
			}
			ns := f.notifications(f.alice)
			if len(ns) != 1 {
				t.Fatalf("alice has %d notifications, want 1", len(ns))
			}
			if ns[0].Type != tt.wantType || ns[0].FromID != f.stranger.ID || ns[0].PostID != f.alicePost.ID {
				t.Errorf("notification = %+v, want %q from %d about %d", ns[0], tt.wantType, f.stranger.ID, f.alicePost.ID)
			}
			if got := eventTypes(f.pub.take()); got != "" {
				t.Errorf("events = %q, want none", got)
			}

			// A second person's reaction is a second notification.
			if err := f.svc.ReceiveInteraction(f.ctx, tt.kind, f.remoteMem, f.alicePost.IRI, "https://remote.test/activities/3"); err != nil {
				t.Fatalf("ReceiveInteraction: %v", err)
			}
			if got, want := f.notificationsOf(f.alice, tt.wantType), 2; got != want {
				t.Errorf("alice has %d %q notifications, want %d", got, tt.wantType, want)
			}

			if err := f.svc.ReceiveUndoInteraction(f.ctx, tt.kind, f.stranger, f.alicePost.IRI); err != nil {
				t.Fatalf("ReceiveUndoInteraction: %v", err)
			}
			if n, err := f.db.CountInteractions(f.ctx, f.alicePost.ID, tt.kind); err != nil || n != 1 {
				t.Errorf("CountInteractions after Undo = %d, %v; want 1 (the other person's)", n, err)
			}
			if err := f.svc.ReceiveUndoInteraction(f.ctx, tt.kind, f.stranger, f.alicePost.IRI); err != nil {
				t.Errorf("second ReceiveUndoInteraction = %v, want nil", err)
			}
			if err := f.svc.ReceiveUndoInteraction(f.ctx, tt.kind, f.stranger, "https://remote.test/notes/404"); err != nil {
				t.Errorf("ReceiveUndoInteraction of an unknown post = %v, want nil", err)
			}
		})
	}
}

func TestReceiveInteractionIgnored(t *testing.T) {
	f := newInboundFixture(t)
	remote := remotePost(f.remoteMem, "1", "mine", chapter.VisibilityPublic)
	f.receive(remote, f.group.ActorIRI)
	tests := []struct {
		name string
		iri  string
		post int64
	}{
		{"remote post", remote.IRI, remote.ID},
		{"deleted local post", f.goneLocal.IRI, f.goneLocal.ID},
		{"unknown post", "https://remote.test/notes/404", 0},
	}
	for _, tt := range tests {
		for _, kind := range []chapter.InteractionKind{chapter.InteractionLike, chapter.InteractionAnnounce} {
			t.Run(tt.name+"/"+string(kind), func(t *testing.T) {
				if err := f.svc.ReceiveInteraction(f.ctx, kind, f.stranger, tt.iri, "https://remote.test/x/"+tt.name+string(kind)); err != nil {
					t.Fatalf("ReceiveInteraction = %v, want nil", err)
				}
				if tt.post != 0 {
					if n, err := f.db.CountInteractions(f.ctx, tt.post, kind); err != nil || n != 0 {
						t.Errorf("CountInteractions = %d, %v; want 0", n, err)
					}
				}
			})
		}
	}
	for _, a := range []*chapter.Account{f.alice, f.carol, f.admin} {
		if got := len(f.notifications(a)); got != 0 {
			t.Errorf("%s has %d notifications, want 0", a.Username, got)
		}
	}
}
