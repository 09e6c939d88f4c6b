package web

import (
	"context"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/gorilla/mux"
	"golang.org/x/net/html"

	"github.com/chapterhouse/chapterhouse/chapter"
	"github.com/chapterhouse/chapterhouse/store"
)

// The helpers of the forms' tests: a node whose members sign in with
// passwords, and a browser that keeps cookies and posts forms with their
// tokens, as people's browsers do.

// formEnv is a node on a real SQLite store whose members sign in with
// Argon2id passwords, with a media directory and a clock for the limits.
type formEnv struct {
	*siteEnv
	pub   *testPublisher
	media string
	clock *testClock
}

// testClock is a clock tests move by hand; handlers read it concurrently.
type testClock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *testClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *testClock) advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = c.t.Add(d)
}

// dbResolver resolves actor IRIs from the store, standing in for
// federation's WebFinger and actor fetching.
type dbResolver struct{ db *store.DB }

func (r dbResolver) Resolve(ctx context.Context, ref string) (*chapter.Account, error) {
	return r.db.AccountByIRI(ctx, ref)
}

func newFormEnv(t *testing.T) *formEnv {
	t.Helper()
	return newFormEnvMedia(t, true)
}

// newFormEnvMedia is newFormEnv with or without a media directory.
func newFormEnvMedia(t *testing.T, media bool) *formEnv {
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
	svc := chapter.NewService(chapter.Options{Store: db, Publisher: pub, Node: node, Hasher: Argon2id{},
		Resolver: dbResolver{db}})
	if _, err := svc.EnsureNode(ctx); err != nil {
		t.Fatalf("ensure node: %v", err)
	}
	var mediaDir string
	if media {
		mediaDir = filepath.Join(t.TempDir(), "media")
	}
	logs := &syncBuffer{}
	log := slog.New(slog.NewTextHandler(logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
	site, err := NewSite(SiteOptions{Service: svc, PublicURL: testPublicURL, Logger: log, MediaDir: mediaDir})
	if err != nil {
		t.Fatalf("new site: %v", err)
	}
	clock := &testClock{t: time.Now()}
	site.logins.now, site.joins.now = clock.Now, clock.Now
	r := mux.NewRouter()
	NewAPI(APIOptions{Service: svc, PublicURL: testPublicURL, Logger: log}).Routes(r)
	site.Routes(r)
	srv := httptest.NewServer(r)
	t.Cleanup(srv.Close)
	return &formEnv{siteEnv: &siteEnv{svc: svc, db: db, site: site, srv: srv, logs: logs, ids: map[string]int64{}},
		pub: pub, media: mediaDir, clock: clock}
}

// password is the password tests give a member.
func password(name string) string { return "the password of " + name }

// account adds an active local member with a password.
func (e *formEnv) account(t *testing.T, name string, role chapter.Role) int64 {
	t.Helper()
	ctx := context.Background()
	a, err := e.svc.AddMember(ctx, name, role)
	if err != nil {
		t.Fatalf("add member %q: %v", name, err)
	}
	if err := e.svc.SetPassword(ctx, a.ID, password(name)); err != nil {
		t.Fatalf("password of %q: %v", name, err)
	}
	e.ids[name] = a.ID
	return a.ID
}

// accountByName reads a local account back from the store.
func (e *formEnv) accountByName(t *testing.T, name string) *chapter.Account {
	t.Helper()
	a, err := e.db.AccountByUsername(context.Background(), name)
	if err != nil {
		t.Fatalf("account %q: %v", name, err)
	}
	return a
}

// browser is one person's browser: it keeps the cookies the site sets
// (Secure ones too, though the test server speaks plain HTTP) and sends
// extra headers.
type browser struct {
	t       *testing.T
	e       *formEnv
	cookies map[string]*http.Cookie
	header  map[string]string
}

func (e *formEnv) browser(t *testing.T) *browser {
	return &browser{t: t, e: e, cookies: map[string]*http.Cookie{}, header: map[string]string{}}
}

// signedIn is a browser signed in as name.
func (e *formEnv) signedIn(t *testing.T, name string) *browser {
	t.Helper()
	b := e.browser(t)
	b.signIn(name, password(name))
	return b
}

func (b *browser) do(method, path, contentType string, body io.Reader) sitePageRes {
	b.t.Helper()
	req, err := http.NewRequest(method, b.e.srv.URL+path, body)
	if err != nil {
		b.t.Fatal(err)
	}
	if contentType != "" {
		req.Header.Set("Content-Type", contentType)
	}
	for k, v := range b.header {
		req.Header.Set(k, v)
	}
	names := make([]string, 0, len(b.cookies))
	for name := range b.cookies {
		names = append(names, name)
	}
	slices.Sort(names)
	for _, name := range names {
		req.AddCookie(&http.Cookie{Name: name, Value: b.cookies[name].Value})
	}
	client := *b.e.srv.Client()
	client.CheckRedirect = func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }
	res, err := client.Do(req)
	if err != nil {
		b.t.Fatalf("%s %s: %v", method, path, err)
	}
	defer res.Body.Close()
	raw, err := io.ReadAll(res.Body)
	if err != nil {
		b.t.Fatal(err)
	}
	for _, c := range res.Cookies() {
		if c.MaxAge < 0 || c.Value == "" {
			delete(b.cookies, c.Name)
		} else {
			b.cookies[c.Name] = c
		}
	}
	out := sitePageRes{status: res.StatusCode, header: res.Header, body: string(raw)}
	if strings.HasPrefix(res.Header.Get("Content-Type"), "text/html") {
		if out.doc, err = html.Parse(strings.NewReader(out.body)); err != nil {
			b.t.Fatalf("%s: not HTML: %v", path, err)
		}
	}
	return out
}

func (b *browser) get(path string) sitePageRes {
	b.t.Helper()
	return b.do(http.MethodGet, path, "", nil)
}

func (b *browser) post(path string, v url.Values) sitePageRes {
	b.t.Helper()
	return b.do(http.MethodPost, path, "application/x-www-form-urlencoded", strings.NewReader(v.Encode()))
}

// page gets a page that must answer status, and checks its structure.
func (b *browser) page(path string, status int) sitePageRes {
	b.t.Helper()
	res := b.get(path)
	wantStatus(b.t, "GET "+path, res, status)
	checkStructure(b.t, path, res)
	return res
}

// token is the form token of the form that posts to action on a page.
func (b *browser) token(res sitePageRes, action string) string {
	b.t.Helper()
	form := findNode(res.doc, func(n *html.Node) bool { return n.Data == "form" && attr(n, "action") == action })
	if form == nil {
		b.t.Fatalf("no form posting to %s on the page:\n%s", action, res.body)
	}
	in := findNode(form, func(n *html.Node) bool { return n.Data == "input" && attr(n, "name") == tokenField })
	if in == nil || attr(in, "type") != "hidden" || attr(in, "value") == "" {
		b.t.Fatalf("the form posting to %s has no hidden form token", action)
	}
	return attr(in, "value")
}

// submit loads page, fills v into its form that posts to action with the
// form's token, and posts it.
func (b *browser) submit(page, action string, v url.Values) sitePageRes {
	b.t.Helper()
	res := b.get(page)
	wantStatus(b.t, "GET "+page, res, http.StatusOK)
	if v == nil {
		v = url.Values{}
	}
	v.Set(tokenField, b.token(res, action))
	return b.post(action, v)
}

// signIn signs in through /login and checks the session cookie.
func (b *browser) signIn(name, pw string) {
	b.t.Helper()
	res := b.submit("/login", "/login", url.Values{"username": {name}, "password": {pw}})
	if res.status != http.StatusSeeOther || b.cookies[sessionCookie] == nil {
		b.t.Fatalf("sign in as %q: status %d, cookies %v\n%s", name, res.status, b.cookies, res.body)
	}
}

func wantStatus(t *testing.T, what string, res sitePageRes, status int) {
	t.Helper()
	if res.status != status {
		t.Fatalf("%s: status %d, want %d\n%s", what, res.status, status, res.body)
	}
}

// checkStructure is checkPageStructure for pages with forms: hidden
// inputs need no label, so they are left out of its check.
func checkStructure(t *testing.T, path string, res sitePageRes) {
	t.Helper()
	for _, n := range findAll(res.doc, func(n *html.Node) bool { return n.Data == "input" && attr(n, "type") == "hidden" }) {
		n.Parent.RemoveChild(n)
	}
	checkPageStructure(t, path, res)
}

// fieldError is the error text shown for a form field, "" when none; it
// also checks the field points at it with aria-describedby and
// aria-invalid.
func fieldError(t *testing.T, res sitePageRes, id string) string {
	t.Helper()
	msg := findNode(res.doc, func(n *html.Node) bool { return attr(n, "id") == id+"-error" })
	if msg == nil {
		return ""
	}
	ctl := findNode(res.doc, func(n *html.Node) bool { return attr(n, "id") == id })
	if ctl == nil || attr(ctl, "aria-invalid") != "true" || !strings.Contains(attr(ctl, "aria-describedby"), id+"-error") {
		t.Errorf("field %s shows an error but is not marked invalid nor described by it", id)
	}
	summary := findNode(res.doc, func(n *html.Node) bool { return attr(n, "class") == "error-summary" })
	if summary == nil || findNode(summary, func(n *html.Node) bool { return n.Data == "a" && attr(n, "href") == "#"+id }) == nil {
		t.Errorf("field %s has an error the summary does not link to", id)
	}
	return textOf(msg)
}
