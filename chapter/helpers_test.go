package chapter_test

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/chapterhouse/chapterhouse/chapter"
	"github.com/chapterhouse/chapterhouse/store"
)

// The node every test runs: its Group is @riverside@chapter.test.
const (
	nodeHandle = "riverside"
	nodeHost   = "chapter.test"
	// remoteInbox is where the recording publisher addresses everything.
	remoteInbox = "https://remote.test/inbox"
)

// recPublisher is a chapter.Publisher that records every event and turns
// each into one activity for one inbox, so a test can tell which events a
// rule produced (events) and that the store queued them (CountDeliveries).
type recPublisher struct {
	mu     sync.Mutex
	events []chapter.Event
	n      int
	// fail, when set, makes Publish of that event type fail.
	fail chapter.EventType
}

var _ chapter.Publisher = (*recPublisher)(nil)

// LocalPostIRI implements chapter.Publisher.
func (p *recPublisher) LocalPostIRI(author *chapter.Account, id int64) (iri, url string) {
	return fmt.Sprintf("https://%s/users/%s/statuses/%d", nodeHost, author.Username, id),
		fmt.Sprintf("https://%s/@%s/%d", nodeHost, author.Username, id)
}

// LocalActorIRI implements chapter.Publisher.
func (p *recPublisher) LocalActorIRI(a *chapter.Account) string {
	return "https://" + nodeHost + "/users/" + a.Username
}

// Publish implements chapter.Publisher.
func (p *recPublisher) Publish(_ context.Context, ev chapter.Event) ([]chapter.Outgoing, error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.fail != "" && ev.Type == p.fail {
		return nil, fmt.Errorf("publish %s: refused by the test", ev.Type)
	}
	if ev.Actor == nil || ev.Actor.ID == 0 {
		return nil, fmt.Errorf("publish %s: no stored actor", ev.Type)
	}
	p.n++
	p.events = append(p.events, ev)
	return []chapter.Outgoing{{
		ActivityIRI: fmt.Sprintf("https://%s/activities/%d", nodeHost, p.n),
		SignerID:    ev.Actor.ID,
		Body:        []byte(`{"type":"` + string(ev.Type) + `"}`),
		Inboxes:     []string{remoteInbox},
	}}, nil
}

// take returns the events recorded since the last take and forgets them.
func (p *recPublisher) take() []chapter.Event {
	p.mu.Lock()
	defer p.mu.Unlock()
	evs := p.events
	p.events = nil
	return evs
}

// eventTypes lists the types of evs, for comparing with a want list.
func eventTypes(evs []chapter.Event) string {
	ts := make([]string, len(evs))
	for i, ev := range evs {
		ts[i] = string(ev.Type)
	}
	return strings.Join(ts, ",")
}

// typesOf is want lists in the form eventTypes prints.
func typesOf(ts ...chapter.EventType) string {
	s := make([]string, len(ts))
	for i, t := range ts {
		s[i] = string(t)
	}
	return strings.Join(s, ",")
}

// fakeResolver resolves the handles and IRIs registered with it to the
// remote accounts stored under those actor IRIs, reading them afresh so
// that the state this node gave them shows.
type fakeResolver struct {
	db   *store.DB
	mu   sync.Mutex
	refs map[string]string // "@user@host", "user@host" and the IRI → actor IRI
	asks []string
}

var _ chapter.Resolver = (*fakeResolver)(nil)

func (r *fakeResolver) add(a *chapter.Account) {
	r.mu.Lock()
	defer r.mu.Unlock()
	h := a.Username + "@" + a.Host
	r.refs["@"+h] = a.ActorIRI
	r.refs[h] = a.ActorIRI
	r.refs[a.ActorIRI] = a.ActorIRI
}

// Resolve implements chapter.Resolver.
func (r *fakeResolver) Resolve(ctx context.Context, ref string) (*chapter.Account, error) {
	r.mu.Lock()
	iri, ok := r.refs[strings.ToLower(ref)]
	r.asks = append(r.asks, ref)
	r.mu.Unlock()
	if !ok {
		return nil, fmt.Errorf("resolve %q: %w", ref, chapter.ErrNotFound)
	}
	return r.db.AccountByIRI(ctx, iri)
}

// clock is a fake clock that moves one millisecond per reading.
type clock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *clock) now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = c.t.Add(time.Millisecond)
	return c.t
}

// fixture is a service on a real SQLite store in a temporary directory,
// with its Group and one admin.
type fixture struct {
	t     *testing.T
	ctx   context.Context
	db    *store.DB
	pub   *recPublisher
	res   *fakeResolver
	svc   *chapter.Service
	node  chapter.Node
	group *chapter.Account
	admin *chapter.Account
}

// fixtureOption changes the node before the service is built.
type fixtureOption func(*chapter.Node)

// locked makes the chapter approve its followers.
func locked(n *chapter.Node) { n.Locked = true }

func newFixture(t *testing.T, opts ...fixtureOption) *fixture {
	t.Helper()
	ctx := context.Background()
	db, err := store.Open(ctx, t.TempDir())
	if err != nil {
		t.Fatalf("store.Open: %v", err)
	}
	t.Cleanup(func() {
		if err := db.Close(); err != nil {
			t.Errorf("Close: %v", err)
		}
	})
	node := chapter.Node{Handle: nodeHandle, Name: "Riverside chapter", Summary: "The riverside chapter.",
		Level: chapter.LevelChapter, Host: nodeHost}
	for _, o := range opts {
		o(&node)
	}
	f := &fixture{t: t, ctx: ctx, db: db, pub: &recPublisher{},
		res: &fakeResolver{db: db, refs: map[string]string{}}, node: node}
	f.svc = f.newService(node, f.res)
	if f.group, err = f.svc.EnsureNode(ctx); err != nil {
		t.Fatalf("EnsureNode: %v", err)
	}
	f.admin = f.member("admin", chapter.RoleAdmin)
	f.pub.take()
	return f
}

// newService builds another service on the fixture's store and publisher.
func (f *fixture) newService(node chapter.Node, res chapter.Resolver) *chapter.Service {
	c := &clock{t: time.Date(2025, 3, 1, 12, 0, 0, 0, time.UTC)}
	o := chapter.Options{Store: f.db, Publisher: f.pub, Node: node, Now: c.now}
	if res != nil {
		o.Resolver = res
	}
	return chapter.NewService(o)
}

// member adds an active local member.
func (f *fixture) member(name string, role chapter.Role) *chapter.Account {
	f.t.Helper()
	a, err := f.svc.AddMember(f.ctx, name, role)
	if err != nil {
		f.t.Fatalf("AddMember(%q): %v", name, err)
	}
	return a
}

// memberIn adds a local member and moves it to state st.
func (f *fixture) memberIn(name string, st chapter.State) *chapter.Account {
	f.t.Helper()
	a := f.member(name, chapter.RoleMember)
	a, err := f.svc.SetMemberState(f.ctx, a.ID, st)
	if err != nil {
		f.t.Fatalf("SetMemberState(%q, %q): %v", name, st, err)
	}
	return a
}

// remote stores a person on another server and teaches the resolver its
// handle.
func (f *fixture) remote(username, host string) *chapter.Account {
	f.t.Helper()
	base := "https://" + host
	a := &chapter.Account{
		Username: username, Host: host, Kind: chapter.KindPerson, DisplayName: username,
		ActorIRI: base + "/users/" + username, InboxIRI: base + "/users/" + username + "/inbox",
		SharedInboxIRI: base + "/inbox", FollowersIRI: base + "/users/" + username + "/followers",
		URL:         base + "/@" + username,
		PublicKeyID: base + "/users/" + username + "#main-key",
	}
	if err := f.db.UpsertRemoteAccount(f.ctx, a); err != nil {
		f.t.Fatalf("UpsertRemoteAccount(%s@%s): %v", username, host, err)
	}
	f.res.add(a)
	return a
}

// remoteMember stores a remote person and approves them as a member.
func (f *fixture) remoteMember(username, host string) *chapter.Account {
	f.t.Helper()
	f.remote(username, host)
	a, err := f.svc.ApproveRemoteMember(f.ctx, "@"+username+"@"+host)
	if err != nil {
		f.t.Fatalf("ApproveRemoteMember(%s@%s): %v", username, host, err)
	}
	return a
}

// post creates a local post, failing the test on error.
func (f *fixture) post(author *chapter.Account, np chapter.NewPost) *chapter.Post {
	f.t.Helper()
	p, err := f.svc.CreatePost(f.ctx, author.ID, np)
	if err != nil {
		f.t.Fatalf("CreatePost by %s (%q): %v", author.Username, np.Text, err)
	}
	return p
}

// reply creates a public reply to parent.
func (f *fixture) reply(author *chapter.Account, parent *chapter.Post, text string) *chapter.Post {
	f.t.Helper()
	return f.post(author, chapter.NewPost{Text: text, InReplyToID: parent.ID})
}

// remotePost is a post by a remote author as the inbox hands it over.
func remotePost(author *chapter.Account, path, content string, vis chapter.Visibility) *chapter.Post {
	iri := "https://" + author.Host + "/users/" + author.Username + "/statuses/" + path
	return &chapter.Post{IRI: iri, URL: iri, Author: author, Content: "<p>" + content + "</p>",
		Visibility: vis, Language: "en"}
}

// receive stores a remote post, failing the test on error.
func (f *fixture) receive(p *chapter.Post, audience ...string) bool {
	f.t.Helper()
	stored, err := f.svc.ReceivePost(f.ctx, p, audience)
	if err != nil {
		f.t.Fatalf("ReceivePost(%s): %v", p.IRI, err)
	}
	return stored
}

// deliveries counts the queued deliveries.
func (f *fixture) deliveries() int {
	f.t.Helper()
	n, err := f.db.CountDeliveries(f.ctx)
	if err != nil {
		f.t.Fatalf("CountDeliveries: %v", err)
	}
	return n
}

// notifications lists a member's notifications, newest first.
func (f *fixture) notifications(a *chapter.Account) []*chapter.Notification {
	f.t.Helper()
	ns, err := f.svc.Notifications(f.ctx, a.ID, 0, 80)
	if err != nil {
		f.t.Fatalf("Notifications(%s): %v", a.Username, err)
	}
	return ns
}

// notificationsOf counts a member's notifications of one type.
func (f *fixture) notificationsOf(a *chapter.Account, typ chapter.NotificationType) int {
	f.t.Helper()
	n := 0
	for _, x := range f.notifications(a) {
		if x.Type == typ {
			n++
		}
	}
	return n
}

// account reads an account from the store.
func (f *fixture) account(id int64) *chapter.Account {
	f.t.Helper()
	a, err := f.db.Account(f.ctx, id)
	if err != nil {
		f.t.Fatalf("Account(%d): %v", id, err)
	}
	return a
}

// stored reads a post from the store, tombstones included.
func (f *fixture) stored(id int64) *chapter.Post {
	f.t.Helper()
	p, err := f.db.Post(f.ctx, id)
	if err != nil {
		f.t.Fatalf("Post(%d): %v", id, err)
	}
	return p
}

// follow reads a follow; nil when there is none.
func (f *fixture) follow(follower, target *chapter.Account) *chapter.Follow {
	f.t.Helper()
	fl, err := f.db.Follow(f.ctx, follower.ID, target.ID)
	if errors.Is(err, chapter.ErrNotFound) {
		return nil
	}
	if err != nil {
		f.t.Fatalf("Follow(%d → %d): %v", follower.ID, target.ID, err)
	}
	return fl
}

// errIs reports whether err matches want, where a nil want means no error.
func errIs(err, want error) bool {
	if want == nil {
		return err == nil
	}
	return errors.Is(err, want)
}

// ids lists the ids of posts, for comparing orders.
func ids(ps []*chapter.Post) []int64 {
	out := make([]int64, len(ps))
	for i, p := range ps {
		out[i] = p.ID
	}
	return out
}
