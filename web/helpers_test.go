package web

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/gorilla/mux"

	"github.com/chapterhouse/chapterhouse/chapter"
	"github.com/chapterhouse/chapterhouse/store"
)

const testPublicURL = "https://chapter.test"

// testPublisher stands in for package federation: these tests are about the
// API, so posts get the IRIs federation would give them and no activities
// are queued. It records the events it was asked to publish.
type testPublisher struct {
	mu     sync.Mutex
	events []chapter.Event
}

func (*testPublisher) LocalPostIRI(author *chapter.Account, id int64) (iri, url string) {
	return fmt.Sprintf("%s/users/%s/statuses/%d", testPublicURL, author.Username, id),
		fmt.Sprintf("%s/@%s/%d", testPublicURL, author.Username, id)
}

func (*testPublisher) LocalActorIRI(a *chapter.Account) string {
	return testPublicURL + "/users/" + a.Username
}

func (p *testPublisher) Publish(_ context.Context, ev chapter.Event) ([]chapter.Outgoing, error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.events = append(p.events, ev)
	return nil, nil
}

// count tells how many events of a type were published with actor as
// their Actor.
func (p *testPublisher) count(typ chapter.EventType, actor string) int {
	p.mu.Lock()
	defer p.mu.Unlock()
	n := 0
	for _, ev := range p.events {
		if ev.Type == typ && ev.Actor != nil && ev.Actor.Username == actor {
			n++
		}
	}
	return n
}

// testEnv is a node on a real SQLite store in a temporary directory, with
// the API served by an httptest server.
type testEnv struct {
	svc    *chapter.Service
	pub    *testPublisher
	db     *store.DB
	srv    *httptest.Server
	logs   *syncBuffer
	tokens map[string]string
	ids    map[string]int64
}

func newTestEnv(t *testing.T) *testEnv {
	t.Helper()
	return newTestEnvAt(t, nil)
}

// newTestEnvAt is newTestEnv with the service's clock; nil is time.Now.
func newTestEnvAt(t *testing.T, now func() time.Time) *testEnv {
	t.Helper()
	return newTestEnvNode(t, now, nil)
}

// newTestEnvNode is newTestEnvAt with edit, if not nil, applied to the
// node's configuration (a chapter, @chapter@chapter.test).
func newTestEnvNode(t *testing.T, now func() time.Time, edit func(*chapter.Node)) *testEnv {
	t.Helper()
	ctx := context.Background()
	db, err := store.Open(ctx, t.TempDir())
	if err != nil {
		t.Fatalf("open store: %v", err)
	}
	t.Cleanup(func() { _ = db.Close() })
	pub := &testPublisher{}
	node := chapter.Node{Handle: "chapter", Name: "Test chapter", Summary: "We meet on Tuesdays.",
		Level: chapter.LevelChapter, Host: "chapter.test"}
	if edit != nil {
		edit(&node)
	}
	svc := chapter.NewService(chapter.Options{Store: db, Publisher: pub, Now: now, Node: node})
	if _, err := svc.EnsureNode(ctx); err != nil {
		t.Fatalf("ensure node: %v", err)
	}
	logs := &syncBuffer{}
	api := NewAPI(APIOptions{Service: svc, PublicURL: testPublicURL + "/", Version: "test",
		Logger: slog.New(slog.NewTextHandler(logs, nil))})
	r := mux.NewRouter()
	api.Routes(r)
	srv := httptest.NewServer(r)
	t.Cleanup(srv.Close)
	return &testEnv{svc: svc, pub: pub, db: db, srv: srv, logs: logs, tokens: map[string]string{}, ids: map[string]int64{}}
}

// addMember adds an active local member with a token.
func (e *testEnv) addMember(t *testing.T, name string, role chapter.Role) {
	t.Helper()
	ctx := context.Background()
	a, err := e.svc.AddMember(ctx, name, role)
	if err != nil {
		t.Fatalf("add member %q: %v", name, err)
	}
	token, err := e.svc.IssueToken(ctx, name)
	if err != nil {
		t.Fatalf("token for %q: %v", name, err)
	}
	e.tokens[name], e.ids[name] = token, a.ID
}

// request is one API call; as is the member whose token it carries ("" for
// none), header adds or overrides headers.
type request struct {
	method, path, as  string
	contentType, body string
	header            map[string]string
}

type response struct {
	status int
	header http.Header
	body   []byte
}

func (e *testEnv) do(t *testing.T, req request) response {
	t.Helper()
	return e.doBody(t, req, strings.NewReader(req.body))
}

// doBody sends req with body as it is: a *strings.Reader gets a
// Content-Length, other readers are sent chunked.
func (e *testEnv) doBody(t *testing.T, req request, body io.Reader) response {
	t.Helper()
	if req.method == "" {
		req.method = http.MethodGet
	}
	r, err := http.NewRequest(req.method, e.srv.URL+req.path, body)
	if err != nil {
		t.Fatalf("new request: %v", err)
	}
	if req.as != "" {
		r.Header.Set("Authorization", "Bearer "+e.tokens[req.as])
	}
	if req.contentType != "" {
		r.Header.Set("Content-Type", req.contentType)
	}
	for k, v := range req.header {
		r.Header.Set(k, v)
	}
	res, err := e.srv.Client().Do(r)
	if err != nil {
		t.Fatalf("%s %s: %v", req.method, req.path, err)
	}
	defer res.Body.Close()
	b, err := io.ReadAll(res.Body)
	if err != nil {
		t.Fatalf("%s %s: read body: %v", req.method, req.path, err)
	}
	return response{status: res.StatusCode, header: res.Header, body: b}
}

// ok fails the test unless the call answered 200, and decodes the body.
func ok[T any](t *testing.T, res response) T {
	t.Helper()
	if res.status != http.StatusOK {
		t.Fatalf("status %d, want 200; body %s", res.status, res.body)
	}
	return decode[T](t, res)
}

func decode[T any](t *testing.T, res response) T {
	t.Helper()
	var v T
	if err := json.Unmarshal(res.body, &v); err != nil {
		t.Fatalf("decode %s: %v", res.body, err)
	}
	return v
}

// post publishes a status as a member through the API and returns it.
func (e *testEnv) post(t *testing.T, as string, fields map[string]any) *statusJSON {
	t.Helper()
	body, err := json.Marshal(fields)
	if err != nil {
		t.Fatal(err)
	}
	return ok[*statusJSON](t, e.do(t, request{method: http.MethodPost, path: "/api/v1/statuses", as: as,
		contentType: "application/json", body: string(body)}))
}

func ids(list []*statusJSON) []string {
	out := make([]string, len(list))
	for i, s := range list {
		out[i] = s.ID
	}
	return out
}

func deref(s *string) string {
	if s == nil {
		return "<null>"
	}
	return *s
}

// syncBuffer collects log output from handlers running on other goroutines.
type syncBuffer struct {
	mu sync.Mutex
	b  strings.Builder
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
