package web

import (
	"context"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"golang.org/x/net/html"

	"github.com/chapterhouse/chapterhouse/chapter"
)

// TestSiteFormsEveryLanguage renders every member's and admin's page, and
// every refusal, in every language: each is well-formed, in its language
// and direction, with nothing untranslated.
func TestSiteFormsEveryLanguage(t *testing.T) {
	ctx := context.Background()
	e := newFormEnv(t)
	e.account(t, "admin", chapter.RoleAdmin)
	e.account(t, "bob", chapter.RoleMember)
	e.account(t, "troll", chapter.RoleMember)
	if err := e.svc.SetRegion(ctx, e.ids["bob"], "Elm Street"); err != nil {
		t.Fatal(err)
	}
	p := e.post(t, "admin", chapter.NewPost{Text: "Meeting on Tuesday"})
	e.post(t, "bob", chapter.NewPost{Text: "I will come", InReplyToID: p.ID})
	e.post(t, "bob", chapter.NewPost{Text: "Hello @admin", Summary: "greeting"})
	if _, err := e.svc.Apply(ctx, chapter.Application{Username: "pat", Email: "pat@example.org", Password: password("pat"),
		Note: "Hello", Region: "Elm Street"}); err != nil {
		t.Fatal(err)
	}
	if _, err := e.svc.ModerateMember(ctx, e.ids["admin"], e.ids["troll"], true, "spam"); err != nil {
		t.Fatal(err)
	}
	if err := e.svc.BlockDomain(ctx, e.ids["admin"], "spam.example", "spam"); err != nil {
		t.Fatal(err)
	}
	post := postPath(p)
	admin := e.signedIn(t, "admin")
	bob := e.signedIn(t, "bob")
	visitor := e.browser(t)
	for _, l := range e.site.i18n.langs {
		for _, b := range []*browser{admin, bob, visitor} {
			b.cookies[langCookie] = &http.Cookie{Name: langCookie, Value: l.Code}
		}
		check := func(what string, res sitePageRes, status int) {
			t.Helper()
			if res.status != status {
				t.Errorf("%s in %s: status %d, want %d", what, l.Code, res.status, status)
				return
			}
			root := findNode(res.doc, func(n *html.Node) bool { return n.Data == "html" })
			if attr(root, "lang") != l.Code || attr(root, "dir") != l.Dir {
				t.Errorf("%s in %s: lang %q dir %q", what, l.Code, attr(root, "lang"), attr(root, "dir"))
			}
			checkStructure(t, what+" in "+l.Code, res)
		}
		for path, status := range map[string]int{
			"/": 200, "/compose": 200, "/settings/profile?done=saved": 200, "/find": 200, "/find?region=elm": 200,
			"/find?region=x": 200, "/find?region=nowhere": 200, "/admin?done=approved": 200, "/admin/audit": 200,
			post: 200, post + "/edit": 200, post + "/delete": 200, "/notifications": 200,
		} {
			check("admin "+path, admin.get(path), status)
		}
		for path, status := range map[string]int{"/admin": 403, "/notifications": 200, post: 200, post + "/edit": 403} {
			check("bob "+path, bob.get(path), status)
		}
		for path, status := range map[string]int{"/login": 200, "/join": 200, "/join/sent": 200} {
			check("visitor "+path, visitor.get(path), status)
		}
		e.clock.advance(loginWindow) // a wrong password per language stays under the limit
		check("wrong password", visitor.submit("/login", "/login", url.Values{"username": {"bob"}, "password": {"wrong"}}),
			http.StatusUnprocessableEntity)
		check("bad application", visitor.submit("/join", "/join", url.Values{"username": {"X!"}, "email": {"no"}}),
			http.StatusUnprocessableEntity)
		check("no token", bob.post("/compose", url.Values{"text": {"x"}}), http.StatusForbidden)
		check("empty post", bob.submit("/compose", "/compose", url.Values{"text": {""}}), http.StatusUnprocessableEntity)
		check("preview", bob.submit("/compose", "/compose", url.Values{"text": {"# Hi"}, "format": {"markdown"},
			"action": {"preview"}}), http.StatusOK)
		check("not an image", bob.upload("x.png", "image/png", []byte("not an image at all"), ""), http.StatusUnsupportedMediaType)
		check("too large", bob.upload("x.png", "image/png", make([]byte, maxAvatarBytes+1), ""), http.StatusRequestEntityTooLarge)
		check("admin form error", admin.submit("/admin", "/admin/domains", url.Values{"domain": {"a b"}}),
			http.StatusUnprocessableEntity)
		// Bob's notifications are read by now; the admin's header counted.
		if res := bob.get("/"); strings.Contains(res.body, `class="unread"`) {
			t.Errorf("in %s: bob's header still counts unread notifications", l.Code)
		}
	}
	// Too many attempts, in every language.
	for range loginFailures {
		visitor.submit("/login", "/login", url.Values{"username": {"bob"}, "password": {"wrong"}})
	}
	for _, l := range e.site.i18n.langs {
		visitor.cookies[langCookie] = &http.Cookie{Name: langCookie, Value: l.Code}
		res := visitor.submit("/login", "/login", url.Values{"username": {"bob"}, "password": {"wrong"}})
		if res.status != http.StatusTooManyRequests {
			t.Fatalf("in %s: status %d, want 429", l.Code, res.status)
		}
		checkStructure(t, "429 in "+l.Code, res)
	}
}
