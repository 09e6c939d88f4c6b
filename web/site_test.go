package web

import (
	"bytes"
	"context"
	"flag"
	"image"
	"image/color"
	"image/png"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/gorilla/mux"
	"golang.org/x/net/html"

	"github.com/chapterhouse/chapterhouse/chapter"
	"github.com/chapterhouse/chapterhouse/store"
)

var updateAvatar = flag.Bool("update-avatar", false, "rewrite web/static/avatar.png from drawSiteAvatar")

// siteEnv is a node on a real SQLite store with the website and the API
// mounted on one router, as cmd mounts them.
type siteEnv struct {
	svc  *chapter.Service
	db   *store.DB
	site *Site
	srv  *httptest.Server
	logs *syncBuffer
	ids  map[string]int64
}

func newSiteEnv(t *testing.T) *siteEnv {
	t.Helper()
	return newSiteEnvURL(t, testPublicURL)
}

// newSiteEnvURL is newSiteEnv with the node's public URL.
func newSiteEnvURL(t *testing.T, publicURL string) *siteEnv {
	t.Helper()
	ctx := context.Background()
	db, err := store.Open(ctx, t.TempDir())
	if err != nil {
		t.Fatalf("open store: %v", err)
	}
	t.Cleanup(func() { _ = db.Close() })
	node := chapter.Node{Handle: "chapter", Name: "Test chapter", Summary: "We meet on Tuesdays.",
		Level: chapter.LevelChapter, Host: "chapter.test"}
	svc := chapter.NewService(chapter.Options{Store: db, Publisher: &testPublisher{}, Node: node})
	if _, err := svc.EnsureNode(ctx); err != nil {
		t.Fatalf("ensure node: %v", err)
	}
	logs := &syncBuffer{}
	log := slog.New(slog.NewTextHandler(logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
	site, err := NewSite(SiteOptions{Service: svc, PublicURL: publicURL, Logger: log})
	if err != nil {
		t.Fatalf("new site: %v", err)
	}
	r := mux.NewRouter()
	NewAPI(APIOptions{Service: svc, PublicURL: publicURL, Logger: log}).Routes(r)
	site.Routes(r)
	srv := httptest.NewServer(r)
	t.Cleanup(srv.Close)
	return &siteEnv{svc: svc, db: db, site: site, srv: srv, logs: logs, ids: map[string]int64{}}
}

func (e *siteEnv) member(t *testing.T, name, displayName, bio string) {
	t.Helper()
	ctx := context.Background()
	a, err := e.svc.AddMember(ctx, name, chapter.RoleMember)
	if err != nil {
		t.Fatalf("add member %q: %v", name, err)
	}
	if displayName != "" {
		if _, err := e.svc.UpdateProfile(ctx, a.ID, displayName, bio); err != nil {
			t.Fatalf("profile of %q: %v", name, err)
		}
	}
	e.ids[name] = a.ID
}

func (e *siteEnv) post(t *testing.T, as string, np chapter.NewPost) *chapter.Post {
	t.Helper()
	p, err := e.svc.CreatePost(context.Background(), e.ids[as], np)
	if err != nil {
		t.Fatalf("post as %q: %v", as, err)
	}
	return p
}

// remote stores an account of another server.
func (e *siteEnv) remote(t *testing.T, a *chapter.Account) *chapter.Account {
	t.Helper()
	if a.Kind == "" {
		a.Kind = chapter.KindPerson
	}
	a.InboxIRI = a.ActorIRI + "/inbox"
	if err := e.db.UpsertRemoteAccount(context.Background(), a); err != nil {
		t.Fatalf("upsert %s: %v", a.ActorIRI, err)
	}
	return a
}

// remotePost stores a post of another server as the inbox would, but
// without its sanitizing: the site must be safe on its own.
func (e *siteEnv) remotePost(t *testing.T, author *chapter.Account, p *chapter.Post) *chapter.Post {
	t.Helper()
	if p.CreatedAt.IsZero() {
		p.CreatedAt = time.Now().Add(-time.Hour)
	}
	p.ID = chapter.IDAt(p.CreatedAt) + int64(len(p.Content))
	p.AccountID, p.Author = author.ID, author
	p.IRI = "https://" + author.Host + "/notes/" + strconv.FormatInt(p.ID, 10)
	if p.Visibility == "" {
		p.Visibility = chapter.VisibilityPublic
	}
	if err := e.db.CreatePost(context.Background(), p, nil); err != nil {
		t.Fatalf("create remote post: %v", err)
	}
	return p
}

type sitePageRes struct {
	status int
	header http.Header
	body   string
	doc    *html.Node
}

// get fetches a path; header entries are request headers, and a "Cookie"
// entry is sent as it is.
func (e *siteEnv) get(t *testing.T, path string, header map[string]string) sitePageRes {
	t.Helper()
	return e.do(t, http.MethodGet, path, header)
}

func (e *siteEnv) do(t *testing.T, method, path string, header map[string]string) sitePageRes {
	t.Helper()
	req, err := http.NewRequest(method, e.srv.URL+path, nil)
	if err != nil {
		t.Fatal(err)
	}
	for k, v := range header {
		req.Header.Set(k, v)
	}
	client := *e.srv.Client()
	client.CheckRedirect = func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }
	res, err := client.Do(req)
	if err != nil {
		t.Fatalf("%s %s: %v", method, path, err)
	}
	defer res.Body.Close()
	b, err := io.ReadAll(res.Body)
	if err != nil {
		t.Fatal(err)
	}
	out := sitePageRes{status: res.StatusCode, header: res.Header, body: string(b)}
	if strings.HasPrefix(res.Header.Get("Content-Type"), "text/html") {
		if out.doc, err = html.Parse(bytes.NewReader(b)); err != nil {
			t.Fatalf("%s: not HTML: %v", path, err)
		}
	}
	return out
}

// page fetches a page that must answer status with HTML and checks what
// every page must be: its structure and that no message id shows.
func (e *siteEnv) page(t *testing.T, path string, status int, header map[string]string) sitePageRes {
	t.Helper()
	res := e.get(t, path, header)
	if res.status != status {
		t.Fatalf("GET %s: status %d, want %d\n%s", path, res.status, status, res.body)
	}
	if ct := res.header.Get("Content-Type"); ct != "text/html; charset=utf-8" {
		t.Fatalf("GET %s: Content-Type %q", path, ct)
	}
	checkPageStructure(t, path, res)
	return res
}

// checkPageStructure checks the page's frame: language attributes, one h1
// and headings that never skip a level, the landmarks and the skip link,
// a label for every field, no script, and no untranslated message id.
func checkPageStructure(t *testing.T, path string, res sitePageRes) {
	t.Helper()
	root := findNode(res.doc, func(n *html.Node) bool { return n.Data == "html" })
	if root == nil || attr(root, "lang") == "" || attr(root, "dir") == "" {
		t.Errorf("%s: <html> lacks lang or dir", path)
	}
	var levels []int
	ids := map[string]bool{}
	walk(res.doc, func(n *html.Node) {
		if n.Type != html.ElementNode {
			return
		}
		if len(n.Data) == 2 && n.Data[0] == 'h' && n.Data[1] >= '1' && n.Data[1] <= '6' {
			levels = append(levels, int(n.Data[1]-'0'))
		}
		if id := attr(n, "id"); id != "" {
			if ids[id] {
				t.Errorf("%s: id %q twice", path, id)
			}
			ids[id] = true
		}
		// The one script is the copy button's, from our own origin, and
		// the page works without it; nothing inline.
		if n.Data == "script" && (attr(n, "src") != "/static/copy.js" || n.FirstChild != nil) {
			t.Errorf("%s: a <script> element other than /static/copy.js", path)
		}
	})
	if len(levels) == 0 || levels[0] != 1 || slices.Index(levels[1:], 1) >= 0 {
		t.Errorf("%s: headings %v: want one h1, first", path, levels)
	}
	for i := 1; i < len(levels); i++ {
		if levels[i] > levels[i-1]+1 {
			t.Errorf("%s: headings %v skip from h%d to h%d", path, levels, levels[i-1], levels[i])
		}
	}
	for _, tag := range []string{"header", "main", "footer", "nav"} {
		if findNode(res.doc, func(n *html.Node) bool { return n.Data == tag }) == nil {
			t.Errorf("%s: no <%s> landmark", path, tag)
		}
	}
	if skip := findNode(res.doc, func(n *html.Node) bool { return attr(n, "class") == "skip-link" }); skip == nil ||
		attr(skip, "href") != "#main" || !ids["main"] {
		t.Errorf("%s: no skip link to #main", path)
	}
	walk(res.doc, func(n *html.Node) {
		if n.Data == "input" {
			id := attr(n, "id")
			if findNode(res.doc, func(l *html.Node) bool { return l.Data == "label" && attr(l, "for") == id }) == nil {
				t.Errorf("%s: input %q has no label", path, id)
			}
		}
	})
	if m := messageIDRE.FindString(textOf(res.doc)); m != "" {
		t.Errorf("%s: message id %q shows untranslated", path, m)
	}
}

// messageIDRE finds what looks like a message id shown for lack of a
// translation: a word in CamelCase with two humps or more.
var messageIDRE = regexp.MustCompile(`\b[A-Z][a-z]+[A-Z][a-z]+[A-Za-z0-9]*\b`)

func walk(n *html.Node, f func(*html.Node)) {
	f(n)
	for c := n.FirstChild; c != nil; c = c.NextSibling {
		walk(c, f)
	}
}

func findNode(n *html.Node, match func(*html.Node) bool) *html.Node {
	var found *html.Node
	walk(n, func(c *html.Node) {
		if found == nil && c.Type == html.ElementNode && match(c) {
			found = c
		}
	})
	return found
}

func findAll(n *html.Node, match func(*html.Node) bool) []*html.Node {
	var found []*html.Node
	walk(n, func(c *html.Node) {
		if c.Type == html.ElementNode && match(c) {
			found = append(found, c)
		}
	})
	return found
}

func attr(n *html.Node, name string) string {
	for _, a := range n.Attr {
		if a.Key == name {
			return a.Val
		}
	}
	return ""
}

// textOf is the text people read: not the head, nor attribute values.
func textOf(n *html.Node) string {
	var b strings.Builder
	var rec func(*html.Node)
	rec = func(n *html.Node) {
		if n.Type == html.ElementNode && n.Data == "head" {
			return
		}
		if n.Type == html.TextNode {
			b.WriteString(n.Data)
		}
		for c := n.FirstChild; c != nil; c = c.NextSibling {
			rec(c)
		}
	}
	rec(n)
	return strings.Join(strings.Fields(b.String()), " ")
}

// meta is the content of <meta property=name> (or name=name).
func meta(doc *html.Node, name string) string {
	n := findNode(doc, func(n *html.Node) bool {
		return n.Data == "meta" && (attr(n, "property") == name || attr(n, "name") == name)
	})
	if n == nil {
		return ""
	}
	return attr(n, "content")
}

func wantText(t *testing.T, path string, res sitePageRes, texts ...string) {
	t.Helper()
	text := textOf(res.doc)
	for _, s := range texts {
		if !strings.Contains(text, s) {
			t.Errorf("%s: no %q in the page's text:\n%s", path, s, text)
		}
	}
}

func postPath(p *chapter.Post) string {
	return "/@" + p.Author.Username + "/" + strconv.FormatInt(p.ID, 10)
}

// TestSiteHome renders the node's home: what it is, how to follow it, its
// feed and its posts.
func TestSiteHome(t *testing.T) {
	e := newSiteEnv(t)
	e.member(t, "alice", "Alice Liddell", "")
	e.member(t, "bob", "", "")
	e.post(t, "alice", chapter.NewPost{Text: "Our first meeting is on Tuesday"})
	e.post(t, "bob", chapter.NewPost{Text: "Only for followers", Visibility: chapter.VisibilityFollowers})

	res := e.page(t, "/", http.StatusOK, nil)
	wantText(t, "/", res, "Test chapter", "We meet on Tuesdays.", "Local chapter", "2 members",
		"Follow from Mastodon", "Latest posts", "Our first meeting is on Tuesday", "Alice Liddell", "@alice@chapter.test")
	if strings.Contains(res.body, "Only for followers") {
		t.Error("a followers-only post is on the public home page")
	}
	feed := findNode(res.doc, func(n *html.Node) bool {
		return n.Data == "link" && attr(n, "rel") == "alternate" && attr(n, "type") == "application/atom+xml"
	})
	if feed == nil || attr(feed, "href") != "/feed.atom" {
		t.Errorf("no <link rel=alternate> to the Atom feed")
	} else if f := e.get(t, attr(feed, "href"), nil); f.status != http.StatusOK {
		t.Errorf("the feed link answers %d", f.status)
	}
	field := findNode(res.doc, func(n *html.Node) bool { return n.Data == "input" && attr(n, "id") == "follow-address" })
	if field == nil || attr(field, "value") != "@chapter@chapter.test" || !slices.ContainsFunc(field.Attr,
		func(a html.Attribute) bool { return a.Key == "readonly" }) {
		t.Errorf("no read-only field holding @chapter@chapter.test to copy")
	}
	if got := meta(res.doc, "og:url"); got != testPublicURL+"/" {
		t.Errorf("og:url %q", got)
	}
	// The page needs no script, and says so to the browser.
	if csp := res.header.Get("Content-Security-Policy"); !strings.Contains(csp, "default-src 'none'") {
		t.Errorf("Content-Security-Policy %q", csp)
	}
	if res := e.do(t, http.MethodHead, "/", nil); res.status != http.StatusOK || res.body != "" {
		t.Errorf("HEAD /: status %d, %d bytes", res.status, len(res.body))
	}
}

// TestSiteHomeTree shows the linked parent and children, not the pending.
func TestSiteHomeTree(t *testing.T) {
	ctx := context.Background()
	e := newSiteEnv(t)
	city := e.remote(t, &chapter.Account{Username: "city", Host: "city.test", Kind: chapter.KindGroup,
		DisplayName: "City branch of the test", Level: chapter.LevelCity,
		ActorIRI: "https://city.test/users/city", URL: "https://city.test/@city"})
	north := e.remote(t, &chapter.Account{Username: "north", Host: "north.test", Kind: chapter.KindGroup,
		DisplayName: "North chapter", Level: chapter.LevelChapter, ActorIRI: "https://north.test/users/north"})
	south := e.remote(t, &chapter.Account{Username: "south", Host: "south.test", Kind: chapter.KindGroup,
		DisplayName: "South chapter", Level: chapter.LevelChapter, ActorIRI: "https://south.test/users/south"})
	for _, l := range []*chapter.Link{
		{AccountID: city.ID, Role: chapter.RoleParent, State: chapter.LinkLinked},
		{AccountID: north.ID, Role: chapter.RoleChild, State: chapter.LinkLinked},
		{AccountID: south.ID, Role: chapter.RoleChild, State: chapter.LinkPending},
	} {
		l.CreatedAt = time.Now()
		if err := e.db.PutLink(ctx, l); err != nil {
			t.Fatal(err)
		}
	}
	res := e.page(t, "/", http.StatusOK, nil)
	wantText(t, "/", res, "Part of", "City branch of the test", "@city@city.test", "Member chapters",
		"North chapter", "@north@north.test")
	if strings.Contains(res.body, "South chapter") {
		t.Error("a pending child is shown")
	}
	for _, href := range []string{"https://city.test/@city", "https://north.test/users/north"} {
		if findNode(res.doc, func(n *html.Node) bool { return n.Data == "a" && attr(n, "href") == href }) == nil {
			t.Errorf("no link to %s", href)
		}
	}
}

// TestSiteHomePaging pages through the posts with max_id.
func TestSiteHomePaging(t *testing.T) {
	e := newSiteEnv(t)
	e.member(t, "alice", "", "")
	for i := range sitePageSize + 5 {
		e.post(t, "alice", chapter.NewPost{Text: "post number " + strconv.Itoa(i)})
	}
	res := e.page(t, "/", http.StatusOK, nil)
	if n := len(findAll(res.doc, func(n *html.Node) bool { return n.Data == "article" })); n != sitePageSize {
		t.Fatalf("%d posts on the first page, want %d", n, sitePageSize)
	}
	older := findNode(res.doc, func(n *html.Node) bool { return n.Data == "a" && attr(n, "rel") == "next" })
	if older == nil || !strings.HasPrefix(attr(older, "href"), "?max_id=") {
		t.Fatalf("no link to older posts")
	}
	res = e.page(t, "/"+attr(older, "href"), http.StatusOK, nil)
	if n := len(findAll(res.doc, func(n *html.Node) bool { return n.Data == "article" })); n != 5 {
		t.Errorf("%d posts on the second page, want 5", n)
	}
	wantText(t, "page 2", res, "post number 0", "Newest posts")
	if findNode(res.doc, func(n *html.Node) bool { return n.Data == "a" && attr(n, "rel") == "next" }) != nil {
		t.Error("a link to older posts on the last page")
	}
	e.page(t, "/?max_id=nope", http.StatusBadRequest, nil)
}

// TestSiteProfile renders a member's page and the Group's.
func TestSiteProfile(t *testing.T) {
	e := newSiteEnv(t)
	e.member(t, "alice", "Alice Liddell", "Curious.\n\nVery curious.")
	e.member(t, "bob", "", "")
	e.post(t, "alice", chapter.NewPost{Text: "Down the rabbit hole"})
	e.post(t, "bob", chapter.NewPost{Text: "Bob was here"})

	res := e.page(t, "/@alice", http.StatusOK, nil)
	wantText(t, "/@alice", res, "Alice Liddell", "@alice@chapter.test", "Curious.", "Very curious.",
		"Joined", "Posts", "Down the rabbit hole")
	if strings.Contains(res.body, "Bob was here") {
		t.Error("another member's post on alice's page")
	}
	if got := meta(res.doc, "og:url"); got != testPublicURL+"/@alice" {
		t.Errorf("og:url %q", got)
	}
	res = e.page(t, "/@chapter", http.StatusOK, nil)
	wantText(t, "/@chapter", res, "Test chapter", "@chapter@chapter.test", "the group’s own account",
		"Down the rabbit hole", "Bob was here")

	// A fediverse server looking the page up is sent to the actor.
	res = e.get(t, "/@alice", map[string]string{"Accept": "application/activity+json"})
	if res.status != http.StatusFound || res.header.Get("Location") != testPublicURL+"/users/alice" {
		t.Errorf("activity+json: %d to %q", res.status, res.header.Get("Location"))
	}
}

// TestSitePostThread renders a post page with its ancestors above it and
// its replies threaded below, remote ones with their server.
func TestSitePostThread(t *testing.T) {
	e := newSiteEnv(t)
	e.member(t, "alice", "Alice", "")
	e.member(t, "bob", "Bob", "")
	root := e.post(t, "alice", chapter.NewPost{Text: "Shall we meet on Friday?", Language: "en"})
	r1 := e.post(t, "bob", chapter.NewPost{Text: "Friday works for me", InReplyToID: root.ID})
	r2 := e.post(t, "alice", chapter.NewPost{Text: "Great, Friday it is", InReplyToID: r1.ID})
	rita := e.remote(t, &chapter.Account{Username: "rita", Host: "remote.test", DisplayName: "Rita",
		ActorIRI: "https://remote.test/users/rita", URL: "https://remote.test/@rita"})
	r3 := e.remotePost(t, rita, &chapter.Post{Content: "<p>I can bring snacks</p>", InReplyToID: root.ID,
		InReplyToIRI: root.IRI, CreatedAt: time.Now()})

	res := e.page(t, postPath(root), http.StatusOK, nil)
	wantText(t, postPath(root), res, "Post by Alice", "Shall we meet on Friday?", "Replies",
		"Friday works for me", "Great, Friday it is", "I can bring snacks", "Rita", "@rita", "@remote.test",
		"@bob", "@chapter.test", "Reply from the fediverse")
	depth := func(p *chapter.Post) int {
		art := findNode(res.doc, func(n *html.Node) bool { return attr(n, "id") == "post-"+strconv.FormatInt(p.ID, 10) })
		if art == nil {
			t.Fatalf("no article for post %d", p.ID)
		}
		d := 0
		for n := art.Parent; n != nil; n = n.Parent {
			if n.Data == "ol" && attr(n, "class") == "thread" {
				d++
			}
		}
		return d
	}
	if d1, d2, d3 := depth(r1), depth(r2), depth(r3); d1 != 1 || d2 != 2 || d3 != 1 {
		t.Errorf("thread depths %d, %d, %d; want 1, 2, 1", d1, d2, d3)
	}
	// The page is where the post's URL (federation's PostPage, which the
	// test publisher mirrors) points.
	if root.URL != testPublicURL+postPath(root) {
		t.Fatalf("post URL %q is not served at %s", root.URL, postPath(root))
	}
	og := map[string]string{"og:type": "article", "og:url": root.URL,
		"og:title": "Alice (@alice@chapter.test)", "og:description": "Shall we meet on Friday?"}
	for k, want := range og {
		if got := meta(res.doc, k); got != want {
			t.Errorf("%s = %q, want %q", k, got, want)
		}
	}
	if lang := attr(findNode(res.doc, func(n *html.Node) bool { return attr(n, "class") == "content" }), "lang"); lang != "en" {
		t.Errorf("post content lang %q", lang)
	}
	field := findNode(res.doc, func(n *html.Node) bool { return attr(n, "id") == "post-address" })
	if field == nil || attr(field, "value") != root.IRI {
		t.Errorf("no field with the post's address %s", root.IRI)
	}

	res = e.page(t, postPath(r2), http.StatusOK, nil)
	wantText(t, postPath(r2), res, "Earlier in the thread", "Shall we meet on Friday?", "Friday works for me",
		"No replies yet.")

	// A content warning hides the text behind <details>, also in previews.
	cw := e.post(t, "bob", chapter.NewPost{Text: "Spoilers ahead", Summary: "Book ending"})
	res = e.page(t, postPath(cw), http.StatusOK, nil)
	if findNode(res.doc, func(n *html.Node) bool { return n.Data == "details" }) == nil {
		t.Error("a post with a content warning is not behind <details>")
	}
	if got := meta(res.doc, "og:description"); got != "Book ending" {
		t.Errorf("og:description of a post behind a warning: %q", got)
	}
}

// TestSiteNotFound answers unknown people, posts and paths with an HTML
// 404, a deleted post with 410, and leaves the API's 404 in JSON.
func TestSiteNotFound(t *testing.T) {
	ctx := context.Background()
	e := newSiteEnv(t)
	e.member(t, "alice", "", "")
	e.member(t, "bob", "", "")
	p := e.post(t, "alice", chapter.NewPost{Text: "hello"})
	hidden := e.post(t, "alice", chapter.NewPost{Text: "secret", Visibility: chapter.VisibilityDirect})
	e.member(t, "carol", "", "")
	if _, err := e.svc.SetMemberState(ctx, e.ids["carol"], chapter.StateSuspended); err != nil {
		t.Fatal(err)
	}
	id := strconv.FormatInt(p.ID, 10)
	for _, path := range []string{
		"/@nobody", "/@nobody/" + id, "/@bob/" + id, "/@alice/1", "/@alice/" + strconv.FormatInt(hidden.ID, 10),
		"/@alice/abc", "/@carol", "/no/such/page", "/static/missing.css", "/static/", "/static/locales",
	} {
		res := e.page(t, path, http.StatusNotFound, nil)
		wantText(t, path, res, "Page not found", "Go to the home page")
	}
	if _, err := e.svc.DeletePost(ctx, e.ids["alice"], p.ID); err != nil {
		t.Fatal(err)
	}
	res := e.page(t, "/@alice/"+id, http.StatusGone, nil)
	wantText(t, "deleted post", res, "This post was deleted")

	res = e.get(t, "/api/v1/nothing", nil)
	if res.status != http.StatusNotFound || !strings.HasPrefix(res.header.Get("Content-Type"), "application/json") {
		t.Errorf("API 404: %d %q", res.status, res.header.Get("Content-Type"))
	}
}

// TestSiteServerError renders a failure of the store as the HTML error
// page, with the details in the log only.
func TestSiteServerError(t *testing.T) {
	e := newSiteEnv(t)
	if err := e.db.Close(); err != nil {
		t.Fatal(err)
	}
	res := e.page(t, "/?lang=es", http.StatusInternalServerError, nil)
	wantText(t, "/", res, "Algo salió mal", "Ir a la página de inicio")
	if strings.Contains(res.body, "closed") {
		t.Errorf("the error's details reach the page:\n%s", res.body)
	}
	if !strings.Contains(e.logs.String(), "site request failed") {
		t.Errorf("the failure is not logged: %s", e.logs.String())
	}
}

// TestSiteStatic serves the style sheet and the default avatar.
func TestSiteStatic(t *testing.T) {
	e := newSiteEnv(t)
	for path, ct := range map[string]string{"/static/site.css": "text/css; charset=utf-8", "/static/avatar.png": "image/png"} {
		res := e.get(t, path, nil)
		if res.status != http.StatusOK || res.header.Get("Content-Type") != ct || len(res.body) == 0 {
			t.Errorf("%s: %d %q, %d bytes", path, res.status, res.header.Get("Content-Type"), len(res.body))
		}
	}
}

// TestSiteHostile keeps markup in posts and names from ever reaching a
// page raw, whether a member typed it or another server sent it past the
// inbox's sanitizer.
func TestSiteHostile(t *testing.T) {
	ctx := context.Background()
	e := newSiteEnv(t)
	e.member(t, "alice", `<script>alert("name")</script>`, `<script>alert("bio")</script>`)
	local := e.post(t, "alice", chapter.NewPost{Text: `<script>alert("local")</script> <img src=x onerror=alert(1)>`,
		Summary: `<script>alert("cw")</script>`})
	mallory := e.remote(t, &chapter.Account{Username: "mallory", Host: "evil.test",
		DisplayName: `"><script>alert("remote name")</script>`, ActorIRI: "https://evil.test/users/mallory",
		URL: `javascript:alert("url")`})
	g, err := e.svc.Group(ctx)
	if err != nil {
		t.Fatal(err)
	}
	remote := e.remotePost(t, mallory, &chapter.Post{
		Content:   `<p>hi</p><script>alert("remote")</script><a href="javascript:alert(2)" onclick="alert(3)">x</a><iframe src="https://evil.test"></iframe>`,
		Announced: true, Via: []string{g.ActorIRI}, InReplyToID: local.ID, InReplyToIRI: local.IRI,
		URL: `https://evil.test/@mallory/1"onmouseover="alert(4)`})
	for _, path := range []string{"/", "/@alice", postPath(local)} {
		res := e.page(t, path, http.StatusOK, nil)
		body := strings.Replace(res.body, `<script src="/static/copy.js" defer></script>`, "", 1)
		for _, raw := range []string{"<script", "<iframe", "<img src=x"} {
			if strings.Contains(body, raw) {
				t.Errorf("%s: %q is raw in the page", path, raw)
			}
		}
		walk(res.doc, func(n *html.Node) {
			for _, a := range n.Attr {
				if strings.HasPrefix(a.Key, "on") || strings.Contains(strings.ToLower(a.Val), "javascript:") {
					t.Errorf("%s: <%s %s=%q>", path, n.Data, a.Key, a.Val)
				}
			}
		})
		if path == postPath(local) {
			wantText(t, path, res, `<script>alert("local")</script>`, `<script>alert("name")</script>`)
		}
	}
	_ = remote
}

// TestSiteAvatar checks that static/avatar.png is the image
// drawSiteAvatar draws; go test ./web -run TestSiteAvatar -update-avatar
// writes it anew.
func TestSiteAvatar(t *testing.T) {
	want := drawSiteAvatar()
	if *updateAvatar {
		var buf bytes.Buffer
		if err := (&png.Encoder{CompressionLevel: png.BestCompression}).Encode(&buf, want); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile("static/avatar.png", buf.Bytes(), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	f, err := siteStaticFS.Open("static/avatar.png")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	got, err := png.Decode(f)
	if err != nil {
		t.Fatalf("avatar.png: %v", err)
	}
	if got.Bounds() != want.Bounds() {
		t.Fatalf("avatar.png is %v, want %v", got.Bounds(), want.Bounds())
	}
	for y := range want.Bounds().Dy() {
		for x := range want.Bounds().Dx() {
			r1, g1, b1, a1 := got.At(x, y).RGBA()
			r2, g2, b2, a2 := want.At(x, y).RGBA()
			if r1 != r2 || g1 != g2 || b1 != b2 || a1 != a2 {
				t.Fatalf("avatar.png differs at (%d, %d): run with -update-avatar", x, y)
			}
		}
	}
}

// drawSiteAvatar draws the default avatar: a light silhouette, head and
// shoulders, on a slate square, in a two-colour palette so the file stays
// a few hundred bytes.
func drawSiteAvatar() image.Image {
	const size = 96
	bg := color.RGBA{0x47, 0x55, 0x69, 0xff} // slate
	fg := color.RGBA{0xe2, 0xe8, 0xf0, 0xff} // light slate: 6.9:1 on bg
	img := image.NewPaletted(image.Rect(0, 0, size, size), color.Palette{bg, fg})
	inEllipse := func(x, y, cx, cy, rx, ry float64) bool {
		dx, dy := (x-cx)/rx, (y-cy)/ry
		return dx*dx+dy*dy <= 1
	}
	for y := range size {
		for x := range size {
			px, py := float64(x)+0.5, float64(y)+0.5
			if inEllipse(px, py, 48, 38, 17, 17) || inEllipse(px, py, 48, 100, 34, 30) {
				img.SetColorIndex(x, y, 1)
			}
		}
	}
	return img
}
