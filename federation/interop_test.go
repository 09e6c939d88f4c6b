package federation_test

import (
	"context"
	"crypto/x509"
	"encoding/json"
	"encoding/pem"
	"errors"
	"io"
	"maps"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/chapterhouse/chapterhouse/chapter"
	"github.com/chapterhouse/chapterhouse/federation/fedtest"
)

// interopDir holds the fixtures: activities shaped as each server sends
// them, with {{PLACEHOLDERS}} for the addresses known only at run time
// (see its README.md).
var interopDir = filepath.Join("..", "testdata", "interop")

// interopEnv is the world of one case: a node whose admin alice wrote a
// public post, and a remote that speaks the fixture's dialect.
type interopEnv struct {
	ctx    context.Context
	node   *testNode
	remote *fedtest.Remote
	alice  *chapter.Account
	post   *chapter.Post
	vars   map[string]string
	// before is node.counts just before the fixture was delivered.
	before map[string]int
	// mark is a time a setup step noted for the check.
	mark time.Time
}

func newInteropEnv(t *testing.T, remoteName string, opts ...fedtest.Option) *interopEnv {
	t.Helper()
	return newEnv(t, nil, remoteName, opts...)
}

// newEnv is newInteropEnv for fuzzers too, with options for the node.
func newEnv(t testing.TB, nodeOpts []nodeOption, remoteName string, opts ...fedtest.Option) *interopEnv {
	t.Helper()
	n := newNode(t, nodeOpts...)
	alice := n.addMember(t, "alice", chapter.RoleAdmin)
	post := n.post(t, alice, "Canvassing on Saturday: meet at the library at 10.")
	remote := newRemote(t, remoteName, opts...)
	der, err := x509.MarshalPKIXPublicKey(&remote.Key.PublicKey)
	if err != nil {
		t.Fatal(err)
	}
	return &interopEnv{
		ctx: context.Background(), node: n, remote: remote, alice: alice, post: post,
		vars: map[string]string{
			"REMOTE":         remote.ActorID,
			"REMOTE_BASE":    remote.URL,
			"REMOTE_HOST":    remote.Host,
			"REMOTE_KEY_PEM": string(pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: der})),
			"NODE":           n.URL,
			"NODE_HOST":      n.Host,
			"GROUP":          n.Group.ActorIRI,
			"MEMBER":         alice.ActorIRI,
			"POST":           post.IRI,
		},
	}
}

var placeholderRE = regexp.MustCompile(`\{\{([A-Z_]+)\}\}`)

// substitute replaces the placeholders of a fixture with vars, escaped for
// a JSON string; it reports the first placeholder it has no value for.
func substitute(body []byte, vars map[string]string) ([]byte, error) {
	var missing error
	out := placeholderRE.ReplaceAllFunc(body, func(m []byte) []byte {
		name := string(m[2 : len(m)-2])
		v, ok := vars[name]
		if !ok {
			if missing == nil {
				missing = errors.New("no value for {{" + name + "}}")
			}
			return m
		}
		b, _ := json.Marshal(v) // a string always marshals
		return b[1 : len(b)-1]
	})
	return out, missing
}

// fixture reads a fixture with its placeholders substituted and returns it
// decoded, after mutate (when not nil) changed it.
func (e *interopEnv) fixture(t *testing.T, name string, mutate func(map[string]any)) map[string]any {
	t.Helper()
	raw, err := os.ReadFile(filepath.Join(interopDir, name))
	if err != nil {
		t.Fatal(err)
	}
	body, err := substitute(raw, e.vars)
	if err != nil {
		t.Fatalf("%s: %v", name, err)
	}
	var m map[string]any
	if err := json.Unmarshal(body, &m); err != nil {
		t.Fatalf("%s: %v", name, err)
	}
	if mutate != nil {
		mutate(m)
	}
	return m
}

// send delivers a fixture from the remote, signed, to inbox; requires 202;
// waits until the node processed it and returns the activity id and the
// processing error ("" when applied or ignored cleanly).
func (e *interopEnv) send(t *testing.T, name, inbox string, mutate func(map[string]any)) (id, errText string) {
	t.Helper()
	act := e.fixture(t, name, mutate)
	body, err := json.Marshal(act)
	if err != nil {
		t.Fatal(err)
	}
	if got := post(t, e.remote, inbox, body); got != http.StatusAccepted {
		t.Fatalf("%s to %s: status %d, want 202", name, inbox, got)
	}
	id, _ = act["id"].(string)
	return id, e.node.waitProcessed(t, id)
}

// sendClean is send for an activity that must be processed without error.
func (e *interopEnv) sendClean(t *testing.T, name, inbox string) string {
	t.Helper()
	id, errText := e.send(t, name, inbox, nil)
	if errText != "" {
		t.Fatalf("%s: processing failed: %s", name, errText)
	}
	return id
}

// post delivers body from remote to inbox and returns the status.
func post(t testing.TB, remote *fedtest.Remote, inbox string, body []byte) int {
	t.Helper()
	resp, err := remote.Post(context.Background(), inbox, body)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	_, _ = io.Copy(io.Discard, resp.Body)
	return resp.StatusCode
}

// remoteAccount is the node's stored account of the remote.
func (e *interopEnv) remoteAccount(t *testing.T) *chapter.Account {
	t.Helper()
	a, err := e.node.DB.AccountByIRI(e.ctx, e.remote.ActorID)
	if err != nil {
		t.Fatalf("remote account %q: %v", e.remote.ActorID, err)
	}
	return a
}

// prime makes the node know the remote before the fixture arrives, so that
// an activity that must change nothing is not blamed for the account its
// signature check stored.
func (e *interopEnv) prime(t testing.TB) {
	t.Helper()
	if _, err := e.node.Fed.Resolve(e.ctx, e.remote.ActorID); err != nil {
		t.Fatalf("resolve remote: %v", err)
	}
}

// follow has the remote follow the chapter and waits for the Accept.
func (e *interopEnv) follow(t *testing.T) {
	t.Helper()
	id := e.sendClean(t, "mastodon-follow.json", e.node.inbox("chapter"))
	waitAccept(t, e.remote, e.node.Group.ActorIRI, id)
}

// waitAccept waits until remote received the Accept of its Follow id, sent
// by actor and verified by the remote's strict inbox.
func waitAccept(t *testing.T, remote *fedtest.Remote, actor, followID string) {
	t.Helper()
	remote.WaitFor(t, func(rs []fedtest.Received) bool {
		for _, r := range rs {
			obj, _ := r.Activity["object"].(map[string]any)
			if r.Activity["type"] == "Accept" && r.Activity["actor"] == actor && obj["id"] == followID {
				return true
			}
		}
		return false
	}, 10*time.Second)
}

// reply checks that iri was stored as a reply to the case's post, written
// by the remote, mentioning alice, with visibility vis, and that alice was
// notified of it exactly once.
func (e *interopEnv) reply(t *testing.T, iri string, vis chapter.Visibility) *chapter.Post {
	t.Helper()
	p, err := e.node.DB.PostByIRI(e.ctx, iri)
	if err != nil {
		t.Fatalf("reply %q not stored: %v", iri, err)
	}
	if p.InReplyToID != e.post.ID || p.InReplyToIRI != e.post.IRI {
		t.Errorf("reply in_reply_to = %d %q, want %d %q", p.InReplyToID, p.InReplyToIRI, e.post.ID, e.post.IRI)
	}
	if p.Author == nil || p.Author.ActorIRI != e.remote.ActorID {
		t.Errorf("reply author = %+v, want %s", p.Author, e.remote.ActorID)
	}
	if p.Visibility != vis {
		t.Errorf("reply visibility = %q, want %q", p.Visibility, vis)
	}
	if !slices.Contains(p.Mentions, e.alice.ActorIRI) {
		t.Errorf("reply mentions = %q, want %s among them", p.Mentions, e.alice.ActorIRI)
	}
	if got := e.postNotifications(t, p.ID); got != 1 {
		t.Errorf("alice has %d notifications of the reply, want 1", got)
	}
	return p
}

// postNotifications counts alice's notifications about a post.
func (e *interopEnv) postNotifications(t *testing.T, postID int64) int {
	t.Helper()
	c := 0
	for _, n := range e.node.notifications(t, e.alice.ID) {
		if n.PostID == postID {
			c++
		}
	}
	return c
}

// notified counts alice's notifications of a type from the remote.
func (e *interopEnv) notified(t *testing.T, typ chapter.NotificationType) int {
	t.Helper()
	c := 0
	for _, n := range e.node.notifications(t, e.alice.ID) {
		if n.Type == typ && n.From != nil && n.From.ActorIRI == e.remote.ActorID {
			c++
		}
	}
	return c
}

// interactions counts the likes or boosts of the case's post.
func (e *interopEnv) interactions(t *testing.T, kind chapter.InteractionKind) int {
	t.Helper()
	c, err := e.node.DB.CountInteractions(e.ctx, e.post.ID, kind)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// unchanged checks that the node's state is what it was before delivery.
func (e *interopEnv) unchanged(t *testing.T) {
	t.Helper()
	if after := e.node.counts(t); !maps.Equal(after, e.before) {
		t.Errorf("state changed: before %v, after %v", e.before, after)
	}
}

// followState is the state of the remote's follow of the chapter, "" when
// there is none.
func (e *interopEnv) followState(t *testing.T) chapter.FollowState {
	t.Helper()
	f, err := e.node.DB.Follow(e.ctx, e.remoteAccount(t).ID, e.node.Group.ID)
	if errors.Is(err, chapter.ErrNotFound) {
		return ""
	}
	if err != nil {
		t.Fatal(err)
	}
	return f.State
}

const (
	mastodonNote = "/statuses/114163502877410021" // under {{REMOTE}}
	publicIRI    = "https://www.w3.org/ns/activitystreams#Public"
)

// interopCase delivers one fixture and checks its effect.
type interopCase struct {
	name    string
	fixture string
	// remote is the remote's username ("bob" when empty) and options.
	remote     string
	remoteOpts []fedtest.Option
	// inbox is where the fixture goes: "shared", "group" or "member".
	inbox string
	// setup runs before delivery (earlier activities, membership, …).
	setup func(t *testing.T, e *interopEnv)
	// mutate changes the decoded fixture before it is sent.
	mutate func(e *interopEnv, m map[string]any)
	// wantErr is a substring of the expected processing error; "" means
	// the activity must be processed without error.
	wantErr string
	check   func(t *testing.T, e *interopEnv, id string)
}

func (c interopCase) inboxURL(e *interopEnv) string {
	switch c.inbox {
	case "group":
		return e.node.inbox("chapter")
	case "member":
		return e.node.inbox("alice")
	}
	return e.node.sharedInbox()
}

// TestInterop delivers activities shaped as each fediverse server sends
// them, signed as that server signs, and checks what the node did with them
// through the store: the status alone proves only that they were stored.
func TestInterop(t *testing.T) {
	for _, c := range interopCases() {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			name := c.remote
			if name == "" {
				name = "bob"
			}
			e := newInteropEnv(t, name, c.remoteOpts...)
			if c.setup != nil {
				c.setup(t, e)
			}
			e.before = e.node.counts(t)
			id, errText := e.send(t, c.fixture, c.inboxURL(e), func(m map[string]any) {
				if c.mutate != nil {
					c.mutate(e, m)
				}
			})
			switch {
			case c.wantErr == "" && errText != "":
				t.Fatalf("processing failed: %s", errText)
			case c.wantErr != "" && !strings.Contains(errText, c.wantErr):
				t.Fatalf("processing error = %q, want one containing %q", errText, c.wantErr)
			}
			if c.check != nil {
				c.check(t, e, id)
			}
		})
	}
}

func interopCases() []interopCase {
	return []interopCase{
		{
			name: "mastodon/follow", fixture: "mastodon-follow.json", inbox: "group",
			check: func(t *testing.T, e *interopEnv, id string) {
				waitAccept(t, e.remote, e.node.Group.ActorIRI, id)
				f, err := e.node.DB.Follow(e.ctx, e.remoteAccount(t).ID, e.node.Group.ID)
				if err != nil {
					t.Fatalf("follow not recorded: %v", err)
				}
				if f.State != chapter.FollowAccepted || f.ActivityIRI != id {
					t.Errorf("follow = %s %q, want accepted %q", f.State, f.ActivityIRI, id)
				}
				if got := e.notified(t, chapter.NotifyFollow); got != 1 {
					t.Errorf("admin notified of the follow %d times, want 1", got)
				}
				// A repeat of the same activity is accepted and not applied again.
				body, _ := json.Marshal(e.fixture(t, "mastodon-follow.json", nil))
				if got := post(t, e.remote, e.node.inbox("chapter"), body); got != http.StatusAccepted {
					t.Errorf("repeated Follow: status %d, want 202", got)
				}
				if got := e.node.counts(t)["follows"]; got != e.before["follows"]+1 {
					t.Errorf("follows = %d after a repeat, want %d", got, e.before["follows"]+1)
				}
			},
		},
		{
			name: "mastodon/undo-follow", fixture: "mastodon-undo-follow.json", inbox: "group",
			setup: func(t *testing.T, e *interopEnv) { e.follow(t) },
			check: func(t *testing.T, e *interopEnv, _ string) {
				if st := e.followState(t); st != "" {
					t.Errorf("follow still %q after Undo{Follow}", st)
				}
			},
		},
		{
			name: "mastodon/create-note-reply", fixture: "mastodon-create-note-reply.json",
			check: func(t *testing.T, e *interopEnv, _ string) {
				p := e.reply(t, e.remote.ActorID+mastodonNote, chapter.VisibilityUnlisted)
				if !strings.Contains(p.Content, "Klemmbretter") {
					t.Errorf("content = %q", p.Content)
				}
				if p.URL != e.remote.URL+"/@bob/114163502877410021" {
					t.Errorf("url = %q, want the remote's page", p.URL)
				}
				// The same Note again, in an activity with another id (a
				// forwarded copy): stored once, notified once.
				_, errText := e.send(t, "mastodon-create-note-reply.json", e.node.sharedInbox(), func(m map[string]any) {
					m["id"] = m["id"].(string) + "-again"
				})
				if errText != "" {
					t.Fatalf("second copy: %s", errText)
				}
				if got := e.node.counts(t)["posts"]; got != e.before["posts"]+1 {
					t.Errorf("posts = %d after a second copy, want %d", got, e.before["posts"]+1)
				}
				if got := e.postNotifications(t, p.ID); got != 1 {
					t.Errorf("alice notified %d times after a second copy, want 1", got)
				}
			},
		},
		{
			name: "mastodon/like", fixture: "mastodon-like.json", inbox: "member",
			check: func(t *testing.T, e *interopEnv, _ string) {
				if got := e.interactions(t, chapter.InteractionLike); got != 1 {
					t.Errorf("likes = %d, want 1", got)
				}
				if got := e.notified(t, chapter.NotifyFavourite); got != 1 {
					t.Errorf("favourite notifications = %d, want 1", got)
				}
			},
		},
		{
			name: "mastodon/announce", fixture: "mastodon-announce.json",
			check: func(t *testing.T, e *interopEnv, _ string) {
				if got := e.interactions(t, chapter.InteractionAnnounce); got != 1 {
					t.Errorf("boosts = %d, want 1", got)
				}
				if got := e.notified(t, chapter.NotifyReblog); got != 1 {
					t.Errorf("reblog notifications = %d, want 1", got)
				}
			},
		},
		{
			name: "mastodon/delete-tombstone", fixture: "mastodon-delete-tombstone.json",
			setup: func(t *testing.T, e *interopEnv) {
				e.sendClean(t, "mastodon-create-note-reply.json", e.node.sharedInbox())
				e.reply(t, e.remote.ActorID+mastodonNote, chapter.VisibilityUnlisted)
			},
			check: func(t *testing.T, e *interopEnv, _ string) {
				p, err := e.node.DB.PostByIRI(e.ctx, e.remote.ActorID+mastodonNote)
				if err != nil {
					t.Fatal(err)
				}
				if !p.Deleted() || p.Content != "" {
					t.Errorf("post after Delete: deleted %v, content %q; want a tombstone", p.Deleted(), p.Content)
				}
				if got := e.postNotifications(t, p.ID); got != 0 {
					t.Errorf("alice still has %d notifications of the deleted reply", got)
				}
			},
		},
		{
			name: "mastodon/delete-tombstone/of-a-local-post-is-refused", fixture: "mastodon-delete-tombstone.json",
			// The forged Delete names alice's post.
			mutate: func(e *interopEnv, m map[string]any) {
				obj := m["object"].(map[string]any)
				obj["id"], obj["atomUri"] = e.post.IRI, e.post.IRI
			},
			wantErr: chapter.ErrForbidden.Error(),
			check: func(t *testing.T, e *interopEnv, _ string) {
				p, err := e.node.DB.Post(e.ctx, e.post.ID)
				if err != nil {
					t.Fatal(err)
				}
				if p.Deleted() {
					t.Error("a remote actor deleted alice's post")
				}
			},
		},
		{
			name: "mastodon/update-note", fixture: "mastodon-update-note.json",
			setup: func(t *testing.T, e *interopEnv) {
				e.sendClean(t, "mastodon-create-note-reply.json", e.node.sharedInbox())
			},
			check: func(t *testing.T, e *interopEnv, _ string) {
				p, err := e.node.DB.PostByIRI(e.ctx, e.remote.ActorID+mastodonNote)
				if err != nil {
					t.Fatal(err)
				}
				if !strings.Contains(p.Content, "200 Flyer") || p.Summary != "Logistik" || !p.Sensitive {
					t.Errorf("after Update: content %q, summary %q, sensitive %v", p.Content, p.Summary, p.Sensitive)
				}
			},
		},
		{
			name: "mastodon/update-person", fixture: "mastodon-update-person.json",
			setup: func(t *testing.T, e *interopEnv) {
				e.prime(t)
				e.mark = e.remoteAccount(t).FetchedAt
				time.Sleep(5 * time.Millisecond)
			},
			check: func(t *testing.T, e *interopEnv, _ string) {
				before := e.mark
				// The embedded copy is not trusted: the actor is fetched again.
				if after := e.remoteAccount(t).FetchedAt; !after.After(before) {
					t.Errorf("actor fetched at %v, before the Update at %v: not refetched", after, before)
				}
			},
		},
		{
			name: "mastodon/update-person/of-another-actor-is-refused", fixture: "mastodon-update-person.json",
			mutate: func(e *interopEnv, m map[string]any) {
				m["object"].(map[string]any)["id"] = e.alice.ActorIRI
			},
			wantErr: chapter.ErrForbidden.Error(),
			check: func(t *testing.T, e *interopEnv, _ string) {
				a, err := e.node.DB.Account(e.ctx, e.alice.ID)
				if err != nil {
					t.Fatal(err)
				}
				if a.DisplayName != e.alice.DisplayName || a.Bio != e.alice.Bio {
					t.Errorf("alice changed by a remote Update: %q %q", a.DisplayName, a.Bio)
				}
			},
		},
		{
			name: "mastodon/block", fixture: "mastodon-block.json", inbox: "group",
			setup: func(t *testing.T, e *interopEnv) { e.follow(t) },
			check: func(t *testing.T, e *interopEnv, _ string) {
				if st := e.followState(t); st != "" {
					t.Errorf("follow still %q after Block", st)
				}
			},
		},
		{
			name: "mastodon/accept-follow", fixture: "mastodon-accept-follow.json", inbox: "group",
			setup: func(t *testing.T, e *interopEnv) {
				f, err := e.node.Svc.FollowRemote(e.ctx, e.node.Group.ID, e.remote.ActorID)
				if err != nil {
					t.Fatal(err)
				}
				e.node.Fed.Wake()
				e.remote.WaitFor(t, func(rs []fedtest.Received) bool {
					for _, r := range rs {
						if r.Activity["type"] == "Follow" && r.Activity["id"] == f.ActivityIRI {
							return true
						}
					}
					return false
				}, 10*time.Second)
				e.vars["FOLLOW"] = f.ActivityIRI
			},
			check: func(t *testing.T, e *interopEnv, _ string) {
				f, err := e.node.DB.Follow(e.ctx, e.node.Group.ID, e.remoteAccount(t).ID)
				if err != nil {
					t.Fatal(err)
				}
				if f.State != chapter.FollowAccepted {
					t.Errorf("the Group's follow is %s after Accept, want accepted", f.State)
				}
			},
		},
		{
			name: "misskey/create-note", fixture: "misskey-create-note.json",
			check: func(t *testing.T, e *interopEnv, _ string) {
				p := e.reply(t, e.remote.URL+"/notes/a3k9x2m7q1", chapter.VisibilityPublic)
				// HTML content is shown; the MFM source is not.
				if strings.Contains(p.Content, "$[") || !strings.Contains(p.Content, "<b>printed</b>") {
					t.Errorf("content = %q, want the HTML rendering", p.Content)
				}
			},
		},
		{
			name: "misskey/like-reaction", fixture: "misskey-like-reaction.json",
			check: func(t *testing.T, e *interopEnv, _ string) {
				if got := e.interactions(t, chapter.InteractionLike); got != 1 {
					t.Errorf("likes = %d, want 1 (a reaction counts as a favourite)", got)
				}
				if got := e.notified(t, chapter.NotifyFavourite); got != 1 {
					t.Errorf("favourite notifications = %d, want 1", got)
				}
			},
		},
		{
			name: "pleroma/create-note", fixture: "pleroma-create-note.json",
			check: func(t *testing.T, e *interopEnv, _ string) {
				p := e.reply(t, e.remote.URL+"/objects/e5a1b7c3-2d48-4f9e-a0c6-81d3f5e7b924", chapter.VisibilityPublic)
				if !strings.Contains(p.Content, "community room") {
					t.Errorf("content = %q", p.Content)
				}
			},
		},
		{
			name: "akkoma/emojireact-is-ignored", fixture: "akkoma-emojireact.json",
			setup: func(t *testing.T, e *interopEnv) { e.prime(t) },
			check: func(t *testing.T, e *interopEnv, _ string) { e.unchanged(t) },
		},
		{
			name: "lemmy/create-note-comment-without-context", fixture: "lemmy-create-note-comment.json",
			check: func(t *testing.T, e *interopEnv, _ string) {
				p := e.reply(t, e.remote.URL+"/comment/90417", chapter.VisibilityPublic)
				if !strings.Contains(p.Content, "<strong>rent strike</strong>") {
					t.Errorf("content = %q, want the HTML, not the Markdown source", p.Content)
				}
			},
		},
		{
			name: "lemmy/like-with-only-audience", fixture: "lemmy-like.json",
			check: func(t *testing.T, e *interopEnv, _ string) {
				if got := e.interactions(t, chapter.InteractionLike); got != 1 {
					t.Errorf("likes = %d, want 1", got)
				}
			},
		},
		{
			name: "lemmy/announce-create-page-from-group", fixture: "lemmy-announce-create-page.json",
			remote: "tenants_union",
			setup:  func(t *testing.T, e *interopEnv) { e.prime(t) },
			check: func(t *testing.T, e *interopEnv, _ string) {
				// The chapter does not follow the community: nothing to keep,
				// and the Announce of a Create is no boost of a post.
				e.unchanged(t)
				if _, err := e.node.DB.PostByIRI(e.ctx, e.remote.URL+"/post/3308"); !errors.Is(err, chapter.ErrNotFound) {
					t.Errorf("page of an unfollowed community: %v, want not found", err)
				}
			},
		},
		{
			name: "lemmy/create-page-to-group-by-member", fixture: "lemmy-create-page-to-group.json", inbox: "group",
			setup: func(t *testing.T, e *interopEnv) {
				if _, err := e.node.Svc.ApproveRemoteMember(e.ctx, e.remote.ActorID); err != nil {
					t.Fatal(err)
				}
			},
			check: func(t *testing.T, e *interopEnv, _ string) {
				iri := e.remote.URL + "/post/3342"
				p, err := e.node.DB.PostByIRI(e.ctx, iri)
				if err != nil {
					t.Fatalf("page not stored: %v", err)
				}
				if !p.Announced || p.Visibility != chapter.VisibilityPublic || !strings.Contains(p.Content, "Carpool") {
					t.Errorf("page: announced %v, visibility %q, content %q", p.Announced, p.Visibility, p.Content)
				}
				// The Group boosts it, and the author hears of it.
				e.remote.WaitFor(t, func(rs []fedtest.Received) bool {
					for _, r := range rs {
						if r.Activity["type"] == "Announce" && r.Activity["actor"] == e.node.Group.ActorIRI &&
							r.Activity["object"] == iri {
							return true
						}
					}
					return false
				}, 10*time.Second)
			},
		},
		{
			name: "gotosocial/create-note-string-to-single-tag", fixture: "gotosocial-create-note.json",
			remoteOpts: []fedtest.Option{fedtest.WithGoToSocialKeys()},
			check: func(t *testing.T, e *interopEnv, _ string) {
				p := e.reply(t, e.remote.ActorID+"/statuses/01JPB4Q8ZK3M6RTW9XC2VDNE5H", chapter.VisibilityPublic)
				// The tag is trusted, not the HTML link (to @someone_else).
				if want := []string{e.alice.ActorIRI}; !slices.Equal(p.Mentions, want) {
					t.Errorf("mentions = %q, want %q", p.Mentions, want)
				}
				if got := e.remoteAccount(t).PublicKeyID; got != e.remote.KeyID {
					t.Errorf("stored key id = %q, want %q", got, e.remote.KeyID)
				}
			},
		},
		{
			name: "peertube/create-video-by-member-is-ignored", fixture: "peertube-create-video.json",
			setup: func(t *testing.T, e *interopEnv) {
				// A member's posts are all kept: the case where a Video
				// would show if it were taken for a post.
				if _, err := e.node.Svc.ApproveRemoteMember(e.ctx, e.remote.ActorID); err != nil {
					t.Fatal(err)
				}
			},
			check: func(t *testing.T, e *interopEnv, _ string) {
				iri := e.remote.URL + "/videos/watch/4b1d7e39-c02a-4f5e-9d86-a7e3c1b05f92"
				if p, err := e.node.DB.PostByIRI(e.ctx, iri); !errors.Is(err, chapter.ErrNotFound) {
					t.Errorf("a PeerTube Video was stored as a post (err %v, content %q); "+
						"a Video is not a post the node shows", err, contentOf(p))
				}
				e.unchanged(t)
			},
		},
		{
			name: "mobilizon/join-event-is-ignored", fixture: "mobilizon-join-event.json",
			setup: func(t *testing.T, e *interopEnv) { e.prime(t) },
			check: func(t *testing.T, e *interopEnv, _ string) { e.unchanged(t) },
		},
		{
			name: "mobilizon/follow-with-pkcs1-key", fixture: "mobilizon-follow.json", inbox: "group",
			remoteOpts: []fedtest.Option{fedtest.WithPKCS1Key()},
			check: func(t *testing.T, e *interopEnv, id string) {
				waitAccept(t, e.remote, e.node.Group.ActorIRI, id)
				if st := e.followState(t); st != chapter.FollowAccepted {
					t.Errorf("follow = %q, want accepted", st)
				}
				if pemText := e.remoteAccount(t).PublicKeyPEM; !strings.Contains(pemText, "RSA PUBLIC KEY") {
					t.Errorf("stored key is not the PKCS#1 one the actor published: %q", pemText)
				}
			},
		},
	}
}

func contentOf(p *chapter.Post) string {
	if p == nil {
		return ""
	}
	return p.Content
}

// TestInteropKeepsContentMapLanguage checks that the language a post was
// written in, which Mastodon and GoToSocial send only as the key of
// contentMap next to a plain content, is kept with the post.
func TestInteropKeepsContentMapLanguage(t *testing.T) {
	for _, c := range []struct {
		name, fixture, note string
		opts                []fedtest.Option
		want                string
	}{
		{name: "mastodon", fixture: "mastodon-create-note-reply.json", note: mastodonNote, want: "de"},
		{name: "gotosocial", fixture: "gotosocial-create-note.json", note: "/statuses/01JPB4Q8ZK3M6RTW9XC2VDNE5H",
			opts: []fedtest.Option{fedtest.WithGoToSocialKeys()}, want: "en"},
	} {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			e := newInteropEnv(t, "bob", c.opts...)
			e.sendClean(t, c.fixture, e.node.sharedInbox())
			p, err := e.node.DB.PostByIRI(e.ctx, e.remote.ActorID+c.note)
			if err != nil {
				t.Fatal(err)
			}
			if p.Language != c.want {
				t.Errorf("language = %q, want %q from contentMap", p.Language, c.want)
			}
		})
	}
}
