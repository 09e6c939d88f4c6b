package federation_test

import (
	"bytes"
	"context"
	"crypto/rand"
	"crypto/rsa"
	"database/sql"
	"errors"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/gorilla/mux"

	"github.com/chapterhouse/chapterhouse/chapter"
	"github.com/chapterhouse/chapterhouse/federation"
	"github.com/chapterhouse/chapterhouse/federation/fedtest"
	"github.com/chapterhouse/chapterhouse/store"
)

// testNode is a whole Chapterhouse node inside the test process: a real
// SQLite store in a temporary directory, the federation layer and the domain
// service wired as cmd wires them, and the ActivityPub routes served over
// real HTTP on 127.0.0.1, so fedtest remotes can fetch its actors and verify
// what it delivers. Unlike cmd's end-to-end harness it exposes the layers,
// so a test can assert effects through the store and the service.
type testNode struct {
	URL  string // base URL, http://127.0.0.1:PORT, also the public URL
	Host string // 127.0.0.1:PORT, the domain of its handles

	DB    *store.DB
	Fed   *federation.Federation
	Svc   *chapter.Service
	Group *chapter.Account
	// Handler is the node's HTTP handler, for tests (fuzzers) that call it
	// directly rather than over a socket.
	Handler http.Handler

	logs *syncBuffer
	raw  *sql.DB // read-only view of the database, for inbox_items
}

// nodeConfig is what nodeOptions set.
type nodeConfig struct {
	workers bool
	edit    func(*federation.Options)
}

// nodeOption configures newNode.
type nodeOption func(*nodeConfig)

// withoutWorkers leaves the background workers (delivery, inbox processing,
// key generation) stopped: stored inbox items then wait for ProcessPending,
// so a test decides when, and in which goroutine, they are applied.
func withoutWorkers() nodeOption { return func(c *nodeConfig) { c.workers = false } }

// withFederationOptions lets a test change the federation options after the
// harness filled them.
func withFederationOptions(edit func(*federation.Options)) nodeOption {
	return func(c *nodeConfig) { c.edit = edit }
}

// newNode starts a node whose Group is "chapter", stopped and removed when
// the test ends. Its logs are shown when the test fails.
func newNode(t testing.TB, opts ...nodeOption) *testNode {
	t.Helper()
	cfg := nodeConfig{workers: true}
	for _, o := range opts {
		o(&cfg)
	}
	ctx, cancel := context.WithCancel(context.Background())
	// The public URL must be known before the federation layer is built,
	// so the listener comes first.
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		cancel()
		t.Fatal(err)
	}
	host := ln.Addr().String()
	base := "http://" + host
	db, err := store.Open(ctx, t.TempDir())
	if err != nil {
		cancel()
		ln.Close()
		t.Fatal(err)
	}
	logs := &syncBuffer{}
	o := federation.Options{
		Store: db, PublicURL: base, AllowHTTP: true, AllowPrivateNetworks: true,
		RetryBase: 50 * time.Millisecond, RequestTimeout: 5 * time.Second,
		Logger: slog.New(slog.NewTextHandler(logs, &slog.HandlerOptions{Level: slog.LevelDebug})),
	}
	if cfg.edit != nil {
		cfg.edit(&o)
	}
	fed := federation.New(o)
	svc := chapter.NewService(chapter.Options{
		Store: db, Publisher: fed, Resolver: fed,
		Node: chapter.Node{Handle: "chapter", Name: "Test", Level: chapter.LevelChapter, Host: host},
	})
	fed.Bind(svc)
	group, err := svc.EnsureNode(ctx)
	if err != nil {
		cancel()
		ln.Close()
		db.Close()
		t.Fatal(err)
	}
	raw, err := sql.Open("sqlite", (&url.URL{Scheme: "file", Path: db.Path(),
		RawQuery: "_pragma=busy_timeout(5000)&_pragma=query_only(1)"}).String())
	if err != nil {
		cancel()
		ln.Close()
		db.Close()
		t.Fatal(err)
	}
	r := mux.NewRouter()
	fed.Routes(r)
	// As cmd does: wake the delivery workers after every write, so what a
	// request queued leaves at once.
	handler := http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		r.ServeHTTP(w, req)
		if req.Method != http.MethodGet && req.Method != http.MethodHead {
			fed.Wake()
		}
	})
	srv := httptest.NewUnstartedServer(handler)
	srv.Listener.Close()
	srv.Listener = ln
	srv.Start()

	done := make(chan struct{})
	if cfg.workers {
		go func() {
			defer close(done)
			if err := fed.Run(ctx); err != nil {
				logs.Write([]byte("federation workers: " + err.Error() + "\n"))
			}
		}()
	} else {
		close(done)
	}
	t.Cleanup(func() {
		cancel()
		srv.Close()
		<-done
		raw.Close()
		if err := db.Close(); err != nil {
			t.Errorf("close store: %v", err)
		}
		if t.Failed() && logs.String() != "" {
			t.Logf("node %s logs:\n%s", base, logs.String())
		}
	})
	return &testNode{URL: base, Host: host, DB: db, Fed: fed, Svc: svc, Group: group, Handler: handler,
		logs: logs, raw: raw}
}

// actor is the actor id of a local account.
func (n *testNode) actor(username string) string { return n.Fed.URLs().Actor(username) }

// inbox is the personal inbox of a local account.
func (n *testNode) inbox(username string) string { return n.Fed.URLs().Inbox(username) }

// sharedInbox is the node's shared inbox.
func (n *testNode) sharedInbox() string { return n.Fed.URLs().SharedInbox() }

// addMember adds an active local member.
func (n *testNode) addMember(t testing.TB, username string, role chapter.Role) *chapter.Account {
	t.Helper()
	a, err := n.Svc.AddMember(context.Background(), username, role)
	if err != nil {
		t.Fatalf("add member %q: %v", username, err)
	}
	return a
}

// post publishes a public post by a local member.
func (n *testNode) post(t testing.TB, author *chapter.Account, text string) *chapter.Post {
	t.Helper()
	p, err := n.Svc.CreatePost(context.Background(), author.ID, chapter.NewPost{Text: text})
	if err != nil {
		t.Fatalf("post as %q: %v", author.Username, err)
	}
	return p
}

// inboxResult tells whether the inbox item of activityID was processed,
// and with which error ("" when it was applied, or ignored, cleanly).
func (n *testNode) inboxResult(t testing.TB, activityID string) (processed bool, errText string, err error) {
	t.Helper()
	var at sql.NullInt64
	err = n.raw.QueryRow(`SELECT processed_at, error FROM inbox_items WHERE activity_iri = ?`, activityID).
		Scan(&at, &errText)
	if err != nil {
		return false, "", err
	}
	return at.Valid, errText, nil
}

// waitProcessed waits until the background worker processed the stored
// activity activityID and returns its processing error, "" when it was
// applied (or ignored) without one. Only the worker processes it, so no
// activity is applied twice by two goroutines. It then wakes the delivery
// workers, so what processing queued leaves at once.
func (n *testNode) waitProcessed(t testing.TB, activityID string) string {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for {
		processed, errText, err := n.inboxResult(t, activityID)
		if err != nil && !errors.Is(err, sql.ErrNoRows) {
			t.Fatalf("inbox item %q: %v", activityID, err)
		}
		if processed {
			n.Fed.Wake()
			return errText
		}
		if time.Now().After(deadline) {
			t.Fatalf("inbox item %q not processed within 10s (stored: %v)", activityID, err == nil)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// counts is how many rows the tables holding the node's state have: what
// an activity that must be ignored must not change.
func (n *testNode) counts(t testing.TB) map[string]int {
	t.Helper()
	m := map[string]int{}
	for _, table := range []string{"accounts", "posts", "follows", "interactions", "notifications", "activities"} {
		var c int
		if err := n.raw.QueryRow(`SELECT count(*) FROM ` + table).Scan(&c); err != nil {
			t.Fatalf("count %s: %v", table, err)
		}
		m[table] = c
	}
	var deleted int
	if err := n.raw.QueryRow(`SELECT count(*) FROM posts WHERE deleted_at IS NOT NULL`).Scan(&deleted); err != nil {
		t.Fatalf("count tombstones: %v", err)
	}
	m["tombstones"] = deleted
	return m
}

// notifications lists a local account's notifications, newest first.
func (n *testNode) notifications(t testing.TB, accountID int64) []*chapter.Notification {
	t.Helper()
	ns, err := n.DB.Notifications(context.Background(), accountID, 0, 100)
	if err != nil {
		t.Fatalf("notifications of %d: %v", accountID, err)
	}
	return ns
}

// remoteKey is one RSA key shared by the remotes of this test binary:
// generating a 2048-bit key per remote would dominate the run time, and
// remotes on different ports are different servers whatever their key.
var remoteKey = sync.OnceValues(func() (*rsa.PrivateKey, error) { return rsa.GenerateKey(rand.Reader, 2048) })

// newRemote starts a fedtest remote with the shared key.
func newRemote(t testing.TB, username string, opts ...fedtest.Option) *fedtest.Remote {
	t.Helper()
	key, err := remoteKey()
	if err != nil {
		t.Fatal(err)
	}
	return fedtest.NewRemote(t, username, append([]fedtest.Option{fedtest.WithKey(key)}, opts...)...)
}

// syncBuffer collects a node's logs for failure messages.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// TestNodeHarness checks the harness itself: the node serves its Group's
// actor to a strict remote, and a member's post is stored.
func TestNodeHarness(t *testing.T) {
	n := newNode(t)
	alice := n.addMember(t, "alice", chapter.RoleAdmin)
	p := n.post(t, alice, "hello")
	if got, want := p.IRI, n.actor("alice")+"/statuses/"+strconv.FormatInt(p.ID, 10); got != want {
		t.Errorf("post IRI = %q, want %q", got, want)
	}
	remote := newRemote(t, "bob")
	resp, err := remote.SignedGet(context.Background(), n.Group.ActorIRI)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Errorf("GET group actor: status %d", resp.StatusCode)
	}
	if got, want := n.Group.ActorIRI, n.URL+"/users/chapter"; got != want {
		t.Errorf("group actor = %q, want %q", got, want)
	}
}
