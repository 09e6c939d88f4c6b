package chapter_test

import (
	"errors"
	"fmt"
	"slices"
	"strings"
	"testing"

	"github.com/chapterhouse/chapterhouse/chapter"
)

func TestCreatePostRefusals(t *testing.T) {
	f := newFixture(t)
	alice := f.member("alice", chapter.RoleMember)
	f.member("bob", chapter.RoleMember)
	carol := f.member("carol", chapter.RoleMember)
	pending := f.memberIn("pending", chapter.StatePending)
	suspended := f.memberIn("suspended", chapter.StateSuspended)
	remote := f.remote("rem", "remote.test")
	gone := f.post(alice, chapter.NewPost{Text: "soon gone"})
	if _, err := f.svc.DeletePost(f.ctx, alice.ID, gone.ID); err != nil {
		t.Fatalf("DeletePost: %v", err)
	}
	secret := f.post(alice, chapter.NewPost{Text: "@bob just between us", Visibility: chapter.VisibilityDirect})
	f.pub.take()

	tests := []struct {
		name   string
		author int64
		np     chapter.NewPost
		want   error
	}{
		{"pending member", pending.ID, chapter.NewPost{Text: "hello"}, chapter.ErrForbidden},
		{"suspended member", suspended.ID, chapter.NewPost{Text: "hello"}, chapter.ErrForbidden},
		{"remote account", remote.ID, chapter.NewPost{Text: "hello"}, chapter.ErrForbidden},
		{"the group", f.group.ID, chapter.NewPost{Text: "hello"}, chapter.ErrForbidden},
		{"unknown author", 987654, chapter.NewPost{Text: "hello"}, chapter.ErrNotFound},
		{"empty text", alice.ID, chapter.NewPost{Text: ""}, chapter.ErrInvalid},
		{"only white space", alice.ID, chapter.NewPost{Text: " \n\t\r\n "}, chapter.ErrInvalid},
		{"too long", alice.ID, chapter.NewPost{Text: strings.Repeat("é", chapter.MaxPostLength+1)}, chapter.ErrInvalid},
		{"unknown visibility", alice.ID, chapter.NewPost{Text: "hello", Visibility: "friends"}, chapter.ErrInvalid},
		{"limited visibility", alice.ID, chapter.NewPost{Text: "hello", Visibility: "limited"}, chapter.ErrInvalid},
		{"reply to an unknown post", alice.ID, chapter.NewPost{Text: "hello", InReplyToID: 987654}, chapter.ErrNotFound},
		{"reply to a deleted post", alice.ID, chapter.NewPost{Text: "hello", InReplyToID: gone.ID}, chapter.ErrNotFound},
		// A direct post is hidden from carol (ErrNotFound "or hidden"):
		// replying must not reveal that it exists, nor notify and
		// mention its author, nor thread a public reply under it.
		{"reply to a post the author cannot see", carol.ID, chapter.NewPost{Text: "hello", InReplyToID: secret.ID}, chapter.ErrNotFound},
		{"pending member replying", pending.ID, chapter.NewPost{Text: "hello", InReplyToID: secret.ID}, chapter.ErrForbidden},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			posts, err := f.db.CountPosts(f.ctx, 0)
			if err != nil {
				t.Fatalf("CountPosts: %v", err)
			}
			deliveries := f.deliveries()
			aliceNotes := len(f.notifications(alice))
			p, err := f.svc.CreatePost(f.ctx, tt.author, tt.np)
			evs := f.pub.take()
			if !errors.Is(err, tt.want) {
				t.Fatalf("CreatePost = post %+v, error %v; want %v", p, err, tt.want)
			}
			if got := eventTypes(evs); got != "" {
				t.Errorf("refused post published %q", got)
			}
			if got, want := f.deliveries(), deliveries; got != want {
				t.Errorf("deliveries = %d, want %d", got, want)
			}
			n, err := f.db.CountPosts(f.ctx, 0)
			if err != nil {
				t.Fatalf("CountPosts: %v", err)
			}
			if got, want := n, posts; got != want {
				t.Errorf("local posts = %d, want %d", got, want)
			}
			if got, want := len(f.notifications(alice)), aliceNotes; got != want {
				t.Errorf("alice has %d notifications, want %d", got, want)
			}
		})
	}
}

func TestCreatePostLength(t *testing.T) {
	f := newFixture(t)
	alice := f.member("alice", chapter.RoleMember)
	// Characters, not bytes: 5000 two-byte letters fit.
	text := strings.Repeat("é", chapter.MaxPostLength)
	p := f.post(alice, chapter.NewPost{Text: "  " + text + "\n"})
	if got, want := f.stored(p.ID).Source, text; got != want {
		t.Errorf("Source has %d characters, want the trimmed %d", len([]rune(got)), len([]rune(want)))
	}
}

func TestCreatePostEvents(t *testing.T) {
	tests := []struct {
		name          string
		visibility    chapter.Visibility
		wantVis       chapter.Visibility
		wantEvents    string
		wantAnnounced bool
	}{
		{"default is public", "", chapter.VisibilityPublic,
			typesOf(chapter.EventPostCreated, chapter.EventPostAnnounced), true},
		{"public", chapter.VisibilityPublic, chapter.VisibilityPublic,
			typesOf(chapter.EventPostCreated, chapter.EventPostAnnounced), true},
		{"public in capitals", "PUBLIC", chapter.VisibilityPublic,
			typesOf(chapter.EventPostCreated, chapter.EventPostAnnounced), true},
		{"unlisted", chapter.VisibilityUnlisted, chapter.VisibilityUnlisted,
			typesOf(chapter.EventPostCreated), false},
		{"private", chapter.VisibilityFollowers, chapter.VisibilityFollowers,
			typesOf(chapter.EventPostCreated), false},
		{"followers alias", "followers", chapter.VisibilityFollowers,
			typesOf(chapter.EventPostCreated), false},
		{"direct", chapter.VisibilityDirect, chapter.VisibilityDirect,
			typesOf(chapter.EventPostCreated), false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := newFixture(t)
			alice := f.member("alice", chapter.RoleMember)
			f.pub.take()
			before := f.deliveries()
			p := f.post(alice, chapter.NewPost{Text: "Meeting on Tuesday", Visibility: tt.visibility})
			evs := f.pub.take()
			if got, want := eventTypes(evs), tt.wantEvents; got != want {
				t.Fatalf("events = %q, want %q", got, want)
			}
			if got, want := evs[0].Actor.ID, alice.ID; got != want {
				t.Errorf("Create actor = %d, want alice %d", got, want)
			}
			if got, want := evs[0].Post.ID, p.ID; got != want {
				t.Errorf("Create post = %d, want %d", got, want)
			}
			if len(evs) > 1 {
				if got, want := evs[1].Actor.ID, f.group.ID; got != want {
					t.Errorf("Announce actor = %d, want the group %d", got, want)
				}
				if got, want := evs[1].Post.ID, p.ID; got != want {
					t.Errorf("Announce post = %d, want %d", got, want)
				}
			}
			if got, want := f.deliveries(), before+len(evs); got != want {
				t.Errorf("deliveries = %d, want %d (one per event)", got, want)
			}
			stored := f.stored(p.ID)
			if got, want := stored.Visibility, tt.wantVis; got != want {
				t.Errorf("Visibility = %q, want %q", got, want)
			}
			if got, want := stored.Announced, tt.wantAnnounced; got != want {
				t.Errorf("Announced = %v, want %v", got, want)
			}
			if got, want := stored.IRI, fmt.Sprintf("https://chapter.test/users/alice/statuses/%d", p.ID); got != want {
				t.Errorf("IRI = %q, want %q", got, want)
			}
			if got, want := stored.URL, fmt.Sprintf("https://chapter.test/@alice/%d", p.ID); got != want {
				t.Errorf("URL = %q, want %q", got, want)
			}
			if got, want := stored.Source, "Meeting on Tuesday"; got != want {
				t.Errorf("Source = %q, want %q", got, want)
			}
			if got, want := stored.Content, "<p>Meeting on Tuesday</p>"; got != want {
				t.Errorf("Content = %q, want %q", got, want)
			}
			if !stored.Local() {
				t.Errorf("stored post is not local")
			}
		})
	}
}

func TestCreatePostPublishFailureStoresNothing(t *testing.T) {
	for _, typ := range []chapter.EventType{chapter.EventPostCreated, chapter.EventPostAnnounced} {
		t.Run(string(typ), func(t *testing.T) {
			f := newFixture(t)
			alice := f.member("alice", chapter.RoleMember)
			before := f.deliveries()
			f.pub.fail = typ
			if _, err := f.svc.CreatePost(f.ctx, alice.ID, chapter.NewPost{Text: "hello"}); err == nil {
				t.Fatalf("CreatePost with a failing publisher succeeded")
			}
			if n, err := f.db.CountPosts(f.ctx, alice.ID); err != nil || n != 0 {
				t.Errorf("CountPosts = %d, %v; want 0", n, err)
			}
			if got, want := f.deliveries(), before; got != want {
				t.Errorf("deliveries = %d, want %d", got, want)
			}
		})
	}
}

func TestCreatePostMentions(t *testing.T) {
	f := newFixture(t)
	alice := f.member("alice", chapter.RoleMember)
	carol := f.member("carol", chapter.RoleMember)
	bob := f.remote("bob", "remote.test")
	bobPost := remotePost(bob, "1", "hello @alice", chapter.VisibilityPublic)
	bobPost.Mentions = []string{alice.ActorIRI}
	f.receive(bobPost)

	carolLink := `<span class="h-card"><a href="https://chapter.test/users/carol" class="u-url mention">@<span>carol</span></a></span>`
	bobLink := `<span class="h-card"><a href="https://remote.test/@bob" class="u-url mention">@<span>bob</span></a></span>`
	tests := []struct {
		name         string
		np           chapter.NewPost
		wantMentions []string
		wantContent  string
	}{
		{"local mention", chapter.NewPost{Text: "hi @carol"},
			[]string{carol.ActorIRI}, "<p>hi " + carolLink + "</p>"},
		{"local mention in capitals", chapter.NewPost{Text: "hi @CAROL!"},
			[]string{carol.ActorIRI}, "<p>hi " + carolLink + "!</p>"},
		{"local mention with our host", chapter.NewPost{Text: "hi @carol@chapter.test"},
			[]string{carol.ActorIRI}, "<p>hi " + carolLink + "</p>"},
		{"remote mention through the resolver", chapter.NewPost{Text: "hi @bob@remote.test"},
			[]string{bob.ActorIRI}, "<p>hi " + bobLink + "</p>"},
		{"local and remote, in order, once each", chapter.NewPost{Text: "@bob@remote.test and @carol, @carol again"},
			[]string{bob.ActorIRI, carol.ActorIRI}, "<p>" + bobLink + " and " + carolLink + ", " + carolLink + " again</p>"},
		{"unknown local name stays text", chapter.NewPost{Text: "hi @nobody"},
			nil, "<p>hi @nobody</p>"},
		{"unresolvable remote handle stays text", chapter.NewPost{Text: "hi @ghost@nowhere.test"},
			nil, "<p>hi @ghost@nowhere.test</p>"},
		{"e-mail address is no mention", chapter.NewPost{Text: "write to x@carol.example"},
			nil, "<p>write to x@carol.example</p>"},
		{"mention inside a link is no mention", chapter.NewPost{Text: "see https://remote.test/@bob"},
			nil, `<p>see <a href="https://remote.test/@bob" rel="nofollow noopener noreferrer" target="_blank">https://remote.test/@bob</a></p>`},
		{"self mention is kept", chapter.NewPost{Text: "note to @alice"},
			[]string{alice.ActorIRI}, `<p>note to <span class="h-card"><a href="https://chapter.test/users/alice" class="u-url mention">@<span>alice</span></a></span></p>`},
		{"reply mentions the parent's remote author", chapter.NewPost{Text: "thanks", InReplyToID: bobPost.ID},
			[]string{bob.ActorIRI}, "<p>thanks</p>"},
		{"reply that names the parent's author mentions once", chapter.NewPost{Text: "@bob@remote.test thanks", InReplyToID: bobPost.ID},
			[]string{bob.ActorIRI}, "<p>" + bobLink + " thanks</p>"},
		// Someone else who happens to share a local username: the text
		// must not become a link to our member, nor lose its host.
		{"same username on another server stays text", chapter.NewPost{Text: "@carol meet @carol@elsewhere.test"},
			[]string{carol.ActorIRI}, "<p>" + carolLink + " meet @carol@elsewhere.test</p>"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p := f.post(alice, tt.np)
			stored := f.stored(p.ID)
			if got, want := stored.Mentions, tt.wantMentions; !slices.Equal(got, want) {
				t.Errorf("Mentions = %q, want %q", got, want)
			}
			if got, want := stored.Content, tt.wantContent; got != want {
				t.Errorf("Content =\n%s\nwant\n%s", got, want)
			}
		})
	}
}

func TestCreatePostText(t *testing.T) {
	f := newFixture(t)
	alice := f.member("alice", chapter.RoleMember)
	link := func(u string) string {
		return `<a href="` + u + `" rel="nofollow noopener noreferrer" target="_blank">` + u + `</a>`
	}
	tests := []struct {
		name string
		text string
		want string
	}{
		{"script escaped", `<script>alert("x")</script>`, `<p>&lt;script&gt;alert(&#34;x&#34;)&lt;/script&gt;</p>`},
		{"attribute injection escaped", `<img src=x onerror=alert(1)>`, `<p>&lt;img src=x onerror=alert(1)&gt;</p>`},
		{"ampersand and quotes", `Tom & Jerry's "show"`, `<p>Tom &amp; Jerry&#39;s &#34;show&#34;</p>`},
		{"paragraphs", "one\n\ntwo", "<p>one</p><p>two</p>"},
		{"line break", "one\ntwo", "<p>one<br>two</p>"},
		{"windows line ends", "one\r\n\r\ntwo\r\nthree", "<p>one</p><p>two<br>three</p>"},
		{"extra blank lines", "one\n\n\n\ntwo", "<p>one</p><p>two</p>"},
		{"link", "see https://example.org/a?b=1&c=2.", "<p>see " + link("https://example.org/a?b=1&amp;c=2") + ".</p>"},
		{"link in parentheses", "(https://example.org/x)", "<p>(" + link("https://example.org/x") + ")</p>"},
		{"quote ends a link", `https://example.org/"onmouseover="alert(1)`,
			"<p>" + link("https://example.org/") + `&#34;onmouseover=&#34;alert(1)</p>`},
		{"javascript is not linked", "javascript:alert(1)", "<p>javascript:alert(1)</p>"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p := f.post(alice, chapter.NewPost{Text: tt.text})
			if got, want := f.stored(p.ID).Content, tt.want; got != want {
				t.Errorf("Content =\n%s\nwant\n%s", got, want)
			}
			if got, want := f.stored(p.ID).Source, strings.TrimSpace(tt.text); got != want {
				t.Errorf("Source = %q, want %q", got, want)
			}
		})
	}
}

func TestCreatePostWarningsAndLanguage(t *testing.T) {
	f := newFixture(t)
	alice := f.member("alice", chapter.RoleMember)
	tests := []struct {
		name          string
		np            chapter.NewPost
		wantSummary   string
		wantSensitive bool
		wantLanguage  string
	}{
		{"content warning makes it sensitive", chapter.NewPost{Text: "x", Summary: "  spoilers "}, "spoilers", true, "en"},
		{"sensitive without warning", chapter.NewPost{Text: "x", Sensitive: true}, "", true, "en"},
		{"blank warning is no warning", chapter.NewPost{Text: "x", Summary: "   "}, "", false, "en"},
		{"neither", chapter.NewPost{Text: "x"}, "", false, "en"},
		{"region dropped", chapter.NewPost{Text: "x", Language: "en-GB"}, "", false, "en"},
		{"underscore region and capitals", chapter.NewPost{Text: "x", Language: "PT_br"}, "", false, "pt"},
		{"three letters", chapter.NewPost{Text: "x", Language: "fil"}, "", false, "fil"},
		{"nonsense falls back", chapter.NewPost{Text: "x", Language: "klingon"}, "", false, "en"},
		{"digits fall back", chapter.NewPost{Text: "x", Language: "e1"}, "", false, "en"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p := f.stored(f.post(alice, tt.np).ID)
			if got, want := p.Summary, tt.wantSummary; got != want {
				t.Errorf("Summary = %q, want %q", got, want)
			}
			if got, want := p.Sensitive, tt.wantSensitive; got != want {
				t.Errorf("Sensitive = %v, want %v", got, want)
			}
			if got, want := p.Language, tt.wantLanguage; got != want {
				t.Errorf("Language = %q, want %q", got, want)
			}
		})
	}
}

func TestReplyNotifications(t *testing.T) {
	tests := []struct {
		name string
		// by is who writes; reply says whether it replies to alice's post.
		by    string
		reply bool
		text  string
		// want is the notifications each member gets about the new post.
		want map[string]int
	}{
		{"reply without a mention", "bob", true, "agreed", map[string]int{"alice": 1, "bob": 0, "carol": 0}},
		{"reply with a mention", "bob", true, "@alice agreed", map[string]int{"alice": 1, "bob": 0, "carol": 0}},
		{"reply mentioning twice, with our host", "bob", true, "@alice @alice@chapter.test @ALICE",
			map[string]int{"alice": 1, "bob": 0, "carol": 0}},
		{"reply mentioning someone else", "bob", true, "@carol look", map[string]int{"alice": 1, "bob": 0, "carol": 1}},
		{"reply to oneself", "alice", true, "and another thing", map[string]int{"alice": 0, "bob": 0, "carol": 0}},
		{"reply to oneself mentioning oneself", "alice", true, "@alice note", map[string]int{"alice": 0, "bob": 0, "carol": 0}},
		{"mention without a reply", "bob", false, "hi @alice", map[string]int{"alice": 1, "bob": 0, "carol": 0}},
		{"direct mention", "bob", false, "psst @carol", map[string]int{"alice": 0, "bob": 0, "carol": 1}},
		{"mentioning the group notifies no one", "bob", false, "@" + nodeHandle + " hi", map[string]int{"alice": 0, "bob": 0, "carol": 0}},
		{"plain post", "bob", false, "hello", map[string]int{"alice": 0, "bob": 0, "carol": 0}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := newFixture(t)
			members := map[string]*chapter.Account{}
			for _, n := range []string{"alice", "bob", "carol"} {
				members[n] = f.member(n, chapter.RoleMember)
			}
			parent := f.post(members["alice"], chapter.NewPost{Text: "Who is coming?"})
			np := chapter.NewPost{Text: tt.text}
			if tt.reply {
				np.InReplyToID = parent.ID
			}
			p := f.post(members[tt.by], np)
			for name, want := range tt.want {
				var got int
				for _, n := range f.notifications(members[name]) {
					if n.PostID != p.ID {
						continue
					}
					got++
					if n.Type != chapter.NotifyMention {
						t.Errorf("%s: notification type %q, want %q", name, n.Type, chapter.NotifyMention)
					}
					if n.FromID != members[tt.by].ID {
						t.Errorf("%s: notification from %d, want %d", name, n.FromID, members[tt.by].ID)
					}
					if n.From == nil || n.Post == nil {
						t.Errorf("%s: notification without From or Post: %+v", name, n)
					}
				}
				if got != want {
					t.Errorf("%s has %d notifications about the post, want %d", name, got, want)
				}
			}
			if tt.reply {
				stored := f.stored(p.ID)
				if got, want := stored.InReplyToID, parent.ID; got != want {
					t.Errorf("InReplyToID = %d, want %d", got, want)
				}
				if got, want := stored.InReplyToIRI, parent.IRI; got != want {
					t.Errorf("InReplyToIRI = %q, want %q", got, want)
				}
				if tt.by != "alice" && !slices.Contains(stored.Mentions, members["alice"].ActorIRI) {
					t.Errorf("Mentions = %q, want the parent's author", stored.Mentions)
				}
			}
		})
	}
}

func TestNotificationGoesWithDeletedReply(t *testing.T) {
	f := newFixture(t)
	alice := f.member("alice", chapter.RoleMember)
	bob := f.member("bob", chapter.RoleMember)
	parent := f.post(alice, chapter.NewPost{Text: "Who is coming?"})
	reply := f.reply(bob, parent, "me, and @alice knows")
	if got, want := len(f.notifications(alice)), 1; got != want {
		t.Fatalf("alice has %d notifications, want %d", got, want)
	}
	if _, err := f.svc.DeletePost(f.ctx, bob.ID, reply.ID); err != nil {
		t.Fatalf("DeletePost: %v", err)
	}
	if got, want := len(f.notifications(alice)), 0; got != want {
		t.Errorf("after the reply's deletion alice has %d notifications, want %d", got, want)
	}
}

func TestDeletePost(t *testing.T) {
	tests := []struct {
		name string
		// by names who deletes: "author", "admin" or "other".
		by   string
		want error
	}{
		{"author", "author", nil},
		{"admin", "admin", nil},
		{"another member", "other", chapter.ErrForbidden},
		{"a remote account", "remote", chapter.ErrForbidden},
		{"unknown account", "unknown", chapter.ErrNotFound},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := newFixture(t)
			alice := f.member("alice", chapter.RoleMember)
			actors := map[string]int64{
				"author":  alice.ID,
				"admin":   f.admin.ID,
				"other":   f.member("bob", chapter.RoleMember).ID,
				"remote":  f.remote("rem", "remote.test").ID,
				"unknown": 987654,
			}
			p := f.post(alice, chapter.NewPost{Text: "to be deleted"})
			f.pub.take()
			before := f.deliveries()
			_, err := f.svc.DeletePost(f.ctx, actors[tt.by], p.ID)
			if !errIs(err, tt.want) {
				t.Fatalf("DeletePost = %v, want %v", err, tt.want)
			}
			evs := f.pub.take()
			if err != nil {
				if len(evs) != 0 {
					t.Errorf("refused delete published %q", eventTypes(evs))
				}
				if got, err := f.svc.Post(f.ctx, nil, p.ID); err != nil || got.Deleted() {
					t.Errorf("post after refused delete: %v", err)
				}
				return
			}
			if got, want := eventTypes(evs), typesOf(chapter.EventPostDeleted); got != want {
				t.Fatalf("events = %q, want %q", got, want)
			}
			if got, want := evs[0].Actor.ID, alice.ID; got != want {
				t.Errorf("Delete actor = %d, want the author %d", got, want)
			}
			if got, want := f.deliveries(), before+1; got != want {
				t.Errorf("deliveries = %d, want %d", got, want)
			}
			got, err := f.svc.Post(f.ctx, alice, p.ID)
			if !errors.Is(err, chapter.ErrGone) {
				t.Fatalf("Post after delete = %v, want ErrGone", err)
			}
			if got == nil || !got.Deleted() || got.Content != "" || got.IRI != p.IRI {
				t.Errorf("tombstone = %+v, want deleted, no content, same IRI", got)
			}
			if f.svc.CanSee(alice, got) {
				t.Errorf("CanSee(author, tombstone) = true")
			}
			if _, err := f.svc.DeletePost(f.ctx, alice.ID, p.ID); !errors.Is(err, chapter.ErrNotFound) {
				t.Errorf("second DeletePost = %v, want ErrNotFound", err)
			}
			timeline, err := f.svc.PublicTimeline(f.ctx, chapter.TimelineQuery{})
			if err != nil {
				t.Fatalf("PublicTimeline: %v", err)
			}
			if slices.Contains(ids(timeline), p.ID) {
				t.Errorf("deleted post still on the public timeline")
			}
		})
	}
}

func TestDeletePostRefusals(t *testing.T) {
	f := newFixture(t)
	alice := f.member("alice", chapter.RoleMember)
	if _, err := f.svc.DeletePost(f.ctx, alice.ID, 987654); !errors.Is(err, chapter.ErrNotFound) {
		t.Errorf("DeletePost(unknown post) = %v, want ErrNotFound", err)
	}
	t.Run("admin deletes a remote post without federating", func(t *testing.T) {
		bob := f.remote("bob", "remote.test")
		rp := remotePost(bob, "1", "hi @alice", chapter.VisibilityPublic)
		rp.Mentions = []string{alice.ActorIRI}
		if !f.receive(rp) {
			t.Fatalf("remote post mentioning alice not stored")
		}
		before := f.deliveries()
		if _, err := f.svc.DeletePost(f.ctx, f.admin.ID, rp.ID); err != nil {
			t.Fatalf("DeletePost: %v", err)
		}
		if got := eventTypes(f.pub.take()); got != "" {
			t.Errorf("events = %q, want none for a remote post", got)
		}
		if got, want := f.deliveries(), before; got != want {
			t.Errorf("deliveries = %d, want %d", got, want)
		}
		if !f.stored(rp.ID).Deleted() {
			t.Errorf("remote post not deleted")
		}
	})
}

func TestCanSee(t *testing.T) {
	f := newFixture(t)
	author := f.member("author", chapter.RoleMember)
	mentioned := f.member("mentioned", chapter.RoleMember)
	member := f.member("member", chapter.RoleMember)
	pending := f.memberIn("pending", chapter.StatePending)
	suspended := f.memberIn("suspended", chapter.StateSuspended)
	remoteMentioned := f.remote("bob", "remote.test")
	stranger := f.remote("stranger", "remote.test")
	remoteMember := f.remoteMember("rm", "remote.test")

	posts := map[chapter.Visibility]*chapter.Post{}
	for _, v := range []chapter.Visibility{chapter.VisibilityPublic, chapter.VisibilityUnlisted,
		chapter.VisibilityFollowers, chapter.VisibilityDirect} {
		posts[v] = f.stored(f.post(author, chapter.NewPost{
			Text: "hello @mentioned and @bob@remote.test", Visibility: v}).ID)
	}
	deleted := f.post(author, chapter.NewPost{Text: "gone @mentioned"})
	if _, err := f.svc.DeletePost(f.ctx, author.ID, deleted.ID); err != nil {
		t.Fatalf("DeletePost: %v", err)
	}
	tomb := f.stored(deleted.ID)

	viewers := []struct {
		name   string
		viewer *chapter.Account
		// want is per visibility: public, unlisted, private, direct.
		want [4]bool
	}{
		{"anonymous", nil, [4]bool{true, true, false, false}},
		{"author", author, [4]bool{true, true, true, true}},
		{"mentioned member", mentioned, [4]bool{true, true, true, true}},
		{"other member", member, [4]bool{true, true, true, false}},
		{"pending member", pending, [4]bool{true, true, false, false}},
		{"suspended member", suspended, [4]bool{true, true, false, false}},
		{"mentioned remote person", remoteMentioned, [4]bool{true, true, true, true}},
		{"remote stranger", stranger, [4]bool{true, true, false, false}},
		{"remote member", remoteMember, [4]bool{true, true, false, false}},
	}
	vis := []chapter.Visibility{chapter.VisibilityPublic, chapter.VisibilityUnlisted,
		chapter.VisibilityFollowers, chapter.VisibilityDirect}
	for _, tt := range viewers {
		for i, v := range vis {
			t.Run(tt.name+"/"+string(v), func(t *testing.T) {
				p := posts[v]
				if got, want := f.svc.CanSee(tt.viewer, p), tt.want[i]; got != want {
					t.Errorf("CanSee = %v, want %v", got, want)
				}
				_, err := f.svc.Post(f.ctx, tt.viewer, p.ID)
				if tt.want[i] && err != nil {
					t.Errorf("Post = %v, want the post", err)
				}
				if !tt.want[i] && !errors.Is(err, chapter.ErrNotFound) {
					t.Errorf("Post = %v, want ErrNotFound", err)
				}
			})
		}
		t.Run(tt.name+"/deleted", func(t *testing.T) {
			if f.svc.CanSee(tt.viewer, tomb) {
				t.Errorf("CanSee(tombstone) = true")
			}
			if _, err := f.svc.Post(f.ctx, tt.viewer, tomb.ID); !errors.Is(err, chapter.ErrGone) {
				t.Errorf("Post(tombstone) = %v, want ErrGone", err)
			}
		})
	}
}

// TestCanSeeRemoteFollowersOnly: a remote followers-only post reaches this
// node because it mentions one member; that makes the member an addressee,
// not the whole chapter. Only local members' followers-only posts belong
// to the chapter's circle.
func TestCanSeeRemoteFollowersOnly(t *testing.T) {
	f := newFixture(t)
	alice := f.member("alice", chapter.RoleMember)
	carol := f.member("carol", chapter.RoleMember)
	stranger := f.remote("stranger", "remote.test")
	rp := remotePost(stranger, "1", "@alice only my followers and you", chapter.VisibilityFollowers)
	rp.Mentions = []string{alice.ActorIRI}
	if !f.receive(rp) {
		t.Fatalf("post mentioning alice not stored")
	}
	p := f.stored(rp.ID)
	if !f.svc.CanSee(alice, p) {
		t.Errorf("CanSee(mentioned alice) = false, want true")
	}
	if f.svc.CanSee(carol, p) {
		t.Errorf("CanSee(carol) = true: a stranger's followers-only post addressed to alice is shown to every member")
	}
}

func TestContext(t *testing.T) {
	f := newFixture(t)
	alice := f.member("alice", chapter.RoleMember)
	bob := f.member("bob", chapter.RoleMember)
	carol := f.member("carol", chapter.RoleMember)
	dave := f.member("dave", chapter.RoleMember)
	rem := f.remote("rem", "remote.test")

	// root                      alice, public
	// ├─ r1                     bob, public
	// │  ├─ r1a                 carol, public
	// │  │  └─ r1a1             alice, direct to carol
	// │  └─ r1b                 rem (remote), public
	// ├─ r2                     carol, direct to alice
	// │  └─ r2a                 alice, public
	// └─ r3                     bob, unlisted
	root := f.post(alice, chapter.NewPost{Text: "root"})
	r1 := f.reply(bob, root, "r1")
	r1a := f.reply(carol, r1, "r1a")
	r1a1 := f.post(alice, chapter.NewPost{Text: "r1a1", InReplyToID: r1a.ID, Visibility: chapter.VisibilityDirect})
	rp := remotePost(rem, "r1b", "r1b", chapter.VisibilityPublic)
	rp.InReplyToIRI = r1.IRI
	if !f.receive(rp) {
		t.Fatalf("remote reply not stored")
	}
	r1b := f.stored(rp.ID)
	r2 := f.post(carol, chapter.NewPost{Text: "@alice r2", InReplyToID: root.ID, Visibility: chapter.VisibilityDirect})
	r2a := f.reply(alice, r2, "r2a")
	r3 := f.post(bob, chapter.NewPost{Text: "r3", InReplyToID: root.ID, Visibility: chapter.VisibilityUnlisted})

	all := func(ps ...*chapter.Post) []int64 { return ids(ps) }
	tests := []struct {
		name            string
		viewer          *chapter.Account
		of              *chapter.Post
		wantAncestors   []int64
		wantDescendants []int64
	}{
		{"root for alice", alice, root, nil, all(r1, r1a, r1a1, r1b, r2, r2a, r3)},
		{"root for carol", carol, root, nil, all(r1, r1a, r1a1, r1b, r2, r2a, r3)},
		{"root for anonymous", nil, root, nil, all(r1, r1a, r1b, r2a, r3)},
		{"root for dave", dave, root, nil, all(r1, r1a, r1b, r2a, r3)},
		{"deepest for alice", alice, r1a1, all(root, r1, r1a), nil},
		{"middle for anonymous", nil, r1a, all(root, r1), nil},
		{"middle for carol", carol, r1a, all(root, r1), all(r1a1)},
		{"remote reply", nil, r1b, all(root, r1), nil},
		{"under a hidden parent for anonymous", nil, r2a, all(root), nil},
		{"under a visible parent for alice", alice, r2a, all(root, r2), nil},
		{"r1 subtree for bob", bob, r1, all(root), all(r1a, r1b)},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			anc, desc, err := f.svc.Context(f.ctx, tt.viewer, tt.of.ID)
			if err != nil {
				t.Fatalf("Context: %v", err)
			}
			if got, want := ids(anc), tt.wantAncestors; !slices.Equal(got, want) {
				t.Errorf("ancestors = %v, want %v", got, want)
			}
			if got, want := ids(desc), tt.wantDescendants; !slices.Equal(got, want) {
				t.Errorf("descendants = %v, want %v", got, want)
			}
		})
	}
	t.Run("hidden post", func(t *testing.T) {
		if _, _, err := f.svc.Context(f.ctx, dave, r2.ID); !errors.Is(err, chapter.ErrNotFound) {
			t.Errorf("Context of a hidden post = %v, want ErrNotFound", err)
		}
	})
	t.Run("unknown post", func(t *testing.T) {
		if _, _, err := f.svc.Context(f.ctx, alice, 987654); !errors.Is(err, chapter.ErrNotFound) {
			t.Errorf("Context of an unknown post = %v, want ErrNotFound", err)
		}
	})
	t.Run("deleted post", func(t *testing.T) {
		if _, err := f.svc.DeletePost(f.ctx, bob.ID, r3.ID); err != nil {
			t.Fatalf("DeletePost: %v", err)
		}
		if _, _, err := f.svc.Context(f.ctx, bob, r3.ID); !errors.Is(err, chapter.ErrGone) {
			t.Errorf("Context of a deleted post = %v, want ErrGone", err)
		}
		_, desc, err := f.svc.Context(f.ctx, alice, root.ID)
		if err != nil {
			t.Fatalf("Context: %v", err)
		}
		if slices.Contains(ids(desc), r3.ID) {
			t.Errorf("deleted reply still among the descendants")
		}
	})
	t.Run("deleted ancestor is skipped", func(t *testing.T) {
		if _, err := f.svc.DeletePost(f.ctx, carol.ID, r1a.ID); err != nil {
			t.Fatalf("DeletePost: %v", err)
		}
		anc, _, err := f.svc.Context(f.ctx, alice, r1a1.ID)
		if err != nil {
			t.Fatalf("Context: %v", err)
		}
		if got, want := ids(anc), all(root, r1); !slices.Equal(got, want) {
			t.Errorf("ancestors = %v, want %v", got, want)
		}
	})
}

func TestPublicTimeline(t *testing.T) {
	f := newFixture(t)
	alice := f.member("alice", chapter.RoleMember)
	member := f.remoteMember("rm", "remote.test")
	stranger := f.remote("stranger", "remote.test")

	public := f.post(alice, chapter.NewPost{Text: "public"})
	f.post(alice, chapter.NewPost{Text: "unlisted", Visibility: chapter.VisibilityUnlisted})
	f.post(alice, chapter.NewPost{Text: "private", Visibility: chapter.VisibilityFollowers})
	f.post(alice, chapter.NewPost{Text: "direct", Visibility: chapter.VisibilityDirect})
	announced := remotePost(member, "1", "for the chapter", chapter.VisibilityPublic)
	f.receive(announced, f.group.ActorIRI)
	notAnnounced := remotePost(stranger, "2", "for the chapter too", chapter.VisibilityPublic)
	f.receive(notAnnounced, f.group.ActorIRI)
	reply := f.reply(alice, public, "public reply")

	got, err := f.svc.PublicTimeline(f.ctx, chapter.TimelineQuery{})
	if err != nil {
		t.Fatalf("PublicTimeline: %v", err)
	}
	if got, want := ids(got), []int64{reply.ID, announced.ID, public.ID}; !slices.Equal(got, want) {
		t.Errorf("PublicTimeline = %v, want %v (newest first)", got, want)
	}
	got, err = f.svc.PublicTimeline(f.ctx, chapter.TimelineQuery{ExcludeReplies: true, Limit: 1})
	if err != nil {
		t.Fatalf("PublicTimeline: %v", err)
	}
	if got, want := ids(got), []int64{announced.ID}; !slices.Equal(got, want) {
		t.Errorf("PublicTimeline without replies, limit 1 = %v, want %v", got, want)
	}
}
