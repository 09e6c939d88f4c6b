package web

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strconv"
	"strings"
	"testing"

	"golang.org/x/net/html"

	"github.com/chapterhouse/chapterhouse/chapter"
)

// These tests are about members' forms: signing in and out, the form
// tokens, joining, and the limits on attempts. Their helpers are in
// site_browser_test.go.

// TestSiteSignIn signs a member in and out, with the cookies safe and the
// header showing who is signed in on every page.
func TestSiteSignIn(t *testing.T) {
	e := newFormEnv(t)
	e.account(t, "alice", chapter.RoleMember)
	b := e.browser(t)
	res := b.page("/login", http.StatusOK)
	wantText(t, "/login", res, "Sign in", "Username", "Password", "Apply to join")
	visitor := b.cookies[visitorCookie]
	if visitor == nil || !visitor.HttpOnly || !visitor.Secure || visitor.SameSite != http.SameSiteLaxMode || visitor.Path != "/" {
		t.Fatalf("visitor cookie %+v: want HttpOnly, Secure, SameSite=Lax, Path=/", visitor)
	}
	if cc := res.header.Get("Cache-Control"); !strings.Contains(cc, "no-store") {
		t.Errorf("a page with a form token: Cache-Control %q", cc)
	}
	for _, id := range []string{"login-username", "login-password"} {
		if n := findNode(res.doc, func(n *html.Node) bool { return attr(n, "id") == id }); n == nil || attr(n, "autocomplete") == "" {
			t.Errorf("no %s field with autocomplete", id)
		}
	}

	res = b.submit("/login?next=/compose", "/login", url.Values{"username": {"Alice"}, "password": {password("alice")},
		"next": {"/compose"}})
	wantStatus(t, "sign in", res, http.StatusSeeOther)
	if loc := res.header.Get("Location"); loc != "/compose" {
		t.Errorf("after signing in: to %q, want /compose", loc)
	}
	c := b.cookies[sessionCookie]
	if c == nil || !c.HttpOnly || !c.Secure || c.SameSite != http.SameSiteLaxMode || c.Path != "/" || c.MaxAge <= 0 {
		t.Fatalf("session cookie %+v: want HttpOnly, Secure, SameSite=Lax, Path=/, lasting", c)
	}
	if a, err := e.svc.Authenticate(context.Background(), c.Value); err != nil || a.Username != "alice" {
		t.Fatalf("the session token is not alice's: %v", err)
	}
	for _, path := range []string{"/", "/@alice", "/nothing"} {
		status := http.StatusOK
		if path == "/nothing" {
			status = http.StatusNotFound
		}
		res = b.page(path, status)
		if findNode(res.doc, func(n *html.Node) bool { return n.Data == "form" && attr(n, "action") == "/logout" }) == nil {
			t.Errorf("%s: no sign-out button for a member", path)
		}
		if findNode(res.doc, func(n *html.Node) bool { return n.Data == "a" && attr(n, "href") == "/@alice" }) == nil {
			t.Errorf("%s: the header does not name the member", path)
		}
		if cc := res.header.Get("Cache-Control"); !strings.Contains(cc, "private") {
			t.Errorf("%s: a member's page cacheable: %q", path, cc)
		}
	}
	// Signed in, /login goes on.
	if res = b.get("/login"); res.status != http.StatusSeeOther || res.header.Get("Location") != "/" {
		t.Errorf("GET /login signed in: %d to %q", res.status, res.header.Get("Location"))
	}

	token := c.Value
	res = b.submit("/", "/logout", nil)
	wantStatus(t, "sign out", res, http.StatusSeeOther)
	if b.cookies[sessionCookie] != nil {
		t.Error("the session cookie survived signing out")
	}
	if _, err := e.svc.Authenticate(context.Background(), token); err == nil {
		t.Error("the session still works on the server after signing out")
	}
	// A stale cookie is dropped, and the page shows a visitor's header.
	b.cookies[sessionCookie] = &http.Cookie{Name: sessionCookie, Value: token}
	res = b.page("/", http.StatusOK)
	if b.cookies[sessionCookie] != nil || findNode(res.doc, func(n *html.Node) bool { return attr(n, "href") == "/login" }) == nil {
		t.Errorf("a stale session cookie: kept %v, no sign-in link", b.cookies[sessionCookie])
	}
}

// TestSiteSignInNext never sends anyone off the site after signing in.
func TestSiteSignInNext(t *testing.T) {
	for next, want := range map[string]string{
		"/notifications?max_id=3": "/notifications?max_id=3", "": "/", "//evil.test/": "/",
		"https://evil.test/": "/", `/\evil.test`: "/", "javascript:alert(1)": "/", "notifications": "/",
	} {
		if got := safeNext(next); got != want {
			t.Errorf("next %q: %q, want %q", next, got, want)
		}
	}
	// A page for members sends a visitor to sign in, and back after.
	e := newFormEnv(t)
	b := e.browser(t)
	res := b.get("/notifications")
	if res.status != http.StatusSeeOther || res.header.Get("Location") != "/login?next=%2Fnotifications" {
		t.Errorf("GET /notifications as a visitor: %d to %q", res.status, res.header.Get("Location"))
	}
	res = b.get("/login?next=%2Fnotifications")
	if in := findNode(res.doc, func(n *html.Node) bool { return attr(n, "name") == "next" }); in == nil || attr(in, "value") != "/notifications" {
		t.Error("the sign-in form does not carry next")
	}
}

// TestSiteSignInRefused: a wrong password, an unknown name, an applicant
// not yet approved and a suspended member are refused, each with a clear
// message, and no session is opened.
func TestSiteSignInRefused(t *testing.T) {
	ctx := context.Background()
	e := newFormEnv(t)
	e.account(t, "alice", chapter.RoleMember)
	e.account(t, "sam", chapter.RoleMember)
	if _, err := e.svc.SetMemberState(ctx, e.ids["sam"], chapter.StateSuspended); err != nil {
		t.Fatal(err)
	}
	if _, err := e.svc.Apply(ctx, chapter.Application{Username: "pat", Email: "pat@example.org",
		Password: password("pat"), Note: "hello"}); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name, user, pw string
		status         int
		text           string
	}{
		{"wrong password", "alice", "not the password", http.StatusUnprocessableEntity, "Wrong username or password."},
		{"unknown name", "nobody", "whatever it is", http.StatusUnprocessableEntity, "Wrong username or password."},
		{"pending", "pat", password("pat"), http.StatusForbidden, "waiting for an admin’s approval"},
		{"suspended", "sam", password("sam"), http.StatusForbidden, "This account is suspended."},
		{"empty", "", "", http.StatusUnprocessableEntity, "Fill this in."},
	} {
		t.Run(tc.name, func(t *testing.T) {
			b := e.browser(t)
			res := b.submit("/login", "/login", url.Values{"username": {tc.user}, "password": {tc.pw}})
			wantStatus(t, tc.name, res, tc.status)
			checkStructure(t, tc.name, res)
			wantText(t, tc.name, res, tc.text)
			if b.cookies[sessionCookie] != nil {
				t.Errorf("a session cookie was set")
			}
			if pw := findNode(res.doc, func(n *html.Node) bool { return attr(n, "id") == "login-password" }); pw == nil || attr(pw, "value") != "" {
				t.Errorf("the password is sent back to the browser")
			}
			if tc.user != "" && !strings.Contains(res.body, `value="`+tc.user+`"`) {
				t.Errorf("the username is not kept in the form")
			}
		})
	}
}

// TestSiteSignInRateLimit refuses sign-ins with 429 after five failures
// in fifteen minutes, from one address or for one username, before any
// password is checked, and lets them in again after.
func TestSiteSignInRateLimit(t *testing.T) {
	e := newFormEnv(t)
	e.account(t, "alice", chapter.RoleMember)
	e.account(t, "bob", chapter.RoleMember)
	attempt := func(b *browser, user, pw string) sitePageRes {
		t.Helper()
		return b.submit("/login", "/login", url.Values{"username": {user}, "password": {pw}})
	}
	// One address guessing: the sixth attempt is refused, even right.
	b := e.browser(t)
	for i := range loginFailures {
		if res := attempt(b, "alice", "guess number "+strconv.Itoa(i)); res.status != http.StatusUnprocessableEntity {
			t.Fatalf("failure %d: status %d", i+1, res.status)
		}
	}
	res := attempt(b, "alice", password("alice"))
	wantStatus(t, "sixth attempt", res, http.StatusTooManyRequests)
	checkStructure(t, "429", res)
	wantText(t, "429", res, "Too many attempts")
	if ra, err := strconv.Atoi(res.header.Get("Retry-After")); err != nil || ra <= 0 || ra > int(loginWindow.Seconds())+1 {
		t.Errorf("Retry-After %q", res.header.Get("Retry-After"))
	}
	if b.cookies[sessionCookie] != nil {
		t.Fatal("signed in while limited")
	}
	// The address is limited for every name.
	wantStatus(t, "bob from the same address", attempt(b, "bob", password("bob")), http.StatusTooManyRequests)

	// One username guessed from many addresses (behind the proxy, which
	// names them in X-Forwarded-For).
	e.clock.advance(loginWindow)
	for i := range loginFailures {
		c := e.browser(t)
		c.header["X-Forwarded-For"] = "203.0.113." + strconv.Itoa(i+1)
		if res := attempt(c, "bob", "wrong"); res.status != http.StatusUnprocessableEntity {
			t.Fatalf("failure %d for bob: status %d", i+1, res.status)
		}
	}
	c := e.browser(t)
	c.header["X-Forwarded-For"] = "198.51.100.7"
	wantStatus(t, "bob from a new address", attempt(c, "bob", password("bob")), http.StatusTooManyRequests)
	// Others are not limited by it.
	c.signIn("alice", password("alice"))

	// The window passes: bob gets in.
	e.clock.advance(loginWindow)
	d := e.browser(t)
	d.header["X-Forwarded-For"] = "198.51.100.8"
	d.signIn("bob", password("bob"))
}

// TestSiteClientAddress reads the client's address as the limits count it.
func TestSiteClientAddress(t *testing.T) {
	for _, tc := range []struct{ remote, xff, want string }{
		{"203.0.113.9:4000", "", "203.0.113.9"},
		{"203.0.113.9:4000", "198.51.100.1", "203.0.113.9"}, // not from the proxy: not trusted
		{"127.0.0.1:4000", "198.51.100.1", "198.51.100.1"},
		{"127.0.0.1:4000", "10.0.0.1, 198.51.100.2", "198.51.100.2"},
		{"127.0.0.1:4000", "garbage", "127.0.0.1"},
		{"[2001:db8:1:2:3:4:5:6]:4000", "", "2001:db8:1:2::/64"},
		{"[::ffff:203.0.113.9]:4000", "", "203.0.113.9"},
	} {
		r := httptest.NewRequest(http.MethodPost, "/login", nil)
		r.RemoteAddr = tc.remote
		if tc.xff != "" {
			r.Header.Set("X-Forwarded-For", tc.xff)
		}
		if got := clientAddress(r); got != tc.want {
			t.Errorf("%s with X-Forwarded-For %q: %q, want %q", tc.remote, tc.xff, got, tc.want)
		}
	}
}

// TestSiteFormTokens refuses every form posted without the right token,
// or by another site, with 403 and nothing changed.
func TestSiteFormTokens(t *testing.T) {
	ctx := context.Background()
	e := newFormEnv(t)
	e.account(t, "admin", chapter.RoleAdmin)
	e.account(t, "alice", chapter.RoleMember)
	p := e.post(t, "alice", chapter.NewPost{Text: "Keep me"})
	alice := e.signedIn(t, "alice")
	admin := e.signedIn(t, "admin")
	id := strconv.FormatInt(p.ID, 10)
	posts := []struct {
		path string
		as   *browser
		form url.Values
	}{
		{"/compose", alice, url.Values{"text": {"forged"}}},
		{"/@alice/" + id + "/reply", alice, url.Values{"text": {"forged reply"}}},
		{"/@alice/" + id + "/edit", alice, url.Values{"text": {"forged edit"}}},
		{"/@alice/" + id + "/delete", alice, nil},
		{"/@alice/" + id + "/follow", alice, url.Values{"follow": {"1"}}},
		{"/settings/profile", alice, url.Values{"name": {"Forged"}}},
		{"/logout", alice, nil},
		{"/admin/members", admin, url.Values{"account": {"alice"}, "action": {"suspend"}}},
		{"/admin/posts", admin, url.Values{"post": {id}}},
		{"/admin/domains", admin, url.Values{"domain": {"forged.example"}}},
		{"/login", e.browser(t), url.Values{"username": {"alice"}, "password": {password("alice")}}},
		{"/join", e.browser(t), url.Values{"name": {"Forged"}, "username": {"forged"}, "email": {"f@example.org"},
			"password": {password("forged")}, "note": {"hi"}}},
	}
	// The visitors need their cookie, as if they had loaded a form.
	for _, tc := range posts {
		if tc.as.cookies[sessionCookie] == nil {
			tc.as.get("/login")
		}
	}
	bobToken := formToken("someone else's session")
	for _, tc := range posts {
		for name, token := range map[string]string{"no token": "", "wrong token": "forged", "another session's": bobToken} {
			v := url.Values{}
			for k, vs := range tc.form {
				v[k] = vs
			}
			if token != "" {
				v.Set(tokenField, token)
			}
			res := tc.as.post(tc.path, v)
			if res.status != http.StatusForbidden {
				t.Errorf("POST %s, %s: status %d, want 403", tc.path, name, res.status)
				continue
			}
			wantText(t, tc.path, res, "This form has expired")
		}
	}
	// A browser saying the form came from another site is refused even
	// with the right token.
	alice.header["Sec-Fetch-Site"] = "cross-site"
	res := alice.submit("/compose", "/compose", url.Values{"text": {"from evil.test"}})
	wantStatus(t, "cross-site post", res, http.StatusForbidden)
	delete(alice.header, "Sec-Fetch-Site")

	// Nothing changed.
	if got, err := e.svc.Post(ctx, nil, p.ID); err != nil || got.Source != "Keep me" {
		t.Errorf("the post changed: %v", err)
	}
	if n, _ := e.db.CountPosts(ctx, 0); n != 1 {
		t.Errorf("%d posts, want 1", n)
	}
	if a := e.accountByName(t, "alice"); a.State != chapter.StateActive || a.DisplayName != "alice" {
		t.Errorf("alice is %s, named %q", a.State, a.DisplayName)
	}
	if blocked, _ := e.db.BlockedDomains(ctx); len(blocked) != 0 {
		t.Errorf("blocked %v", blocked)
	}
	if _, err := e.db.AccountByUsername(ctx, "forged"); !errors.Is(err, chapter.ErrNotFound) {
		t.Errorf("a forged application was recorded: %v", err)
	}
	if follows, _ := e.svc.FollowsThread(ctx, e.ids["alice"], p.ID); follows {
		t.Error("a forged thread follow was recorded")
	}
	// And the sessions still work.
	alice.page("/settings/profile", http.StatusOK)
	if entries, _ := e.svc.AuditLog(ctx, e.ids["admin"], 0, 10); len(entries) != 0 {
		t.Errorf("audit entries %v", entries)
	}
}

// TestSiteSignInFirst refuses a member's form posted without a session.
func TestSiteSignInFirst(t *testing.T) {
	e := newFormEnv(t)
	b := e.browser(t)
	b.get("/login")
	res := b.post("/compose", url.Values{"text": {"hello"}, tokenField: {formToken(b.cookies[visitorCookie].Value)}})
	wantStatus(t, "compose without a session", res, http.StatusForbidden)
	wantText(t, "403", res, "Please sign in")
	// Signing out without a session just clears the cookie.
	if res := b.post("/logout", nil); res.status != http.StatusSeeOther {
		t.Errorf("POST /logout as a visitor: %d", res.status)
	}
}

// TestSiteJoin applies on /join: mistakes are shown field by field, and
// an application that passes waits for the admins, who are told of it.
func TestSiteJoin(t *testing.T) {
	ctx := context.Background()
	e := newFormEnv(t)
	e.account(t, "admin", chapter.RoleAdmin)
	e.account(t, "taken", chapter.RoleMember)
	b := e.browser(t)
	res := b.page("/join", http.StatusOK)
	wantText(t, "/join", res, "Join Test chapter", "Name", "Username", "E-mail address", "Password",
		"A few words about you", "Region or city", "(optional)")

	good := url.Values{"name": {"María García"}, "username": {"maria"}, "email": {"maria@example.org"},
		"password": {"maria's garden password"}, "note": {"I run the community garden."}, "region": {"Elm Street"}}
	with := func(k, v string) url.Values {
		out := url.Values{}
		for key, vs := range good {
			out[key] = vs
		}
		out.Set(k, v)
		return out
	}
	for _, tc := range []struct {
		name  string
		form  url.Values
		field string
		text  string
	}{
		{"no name", with("name", " "), "join-name", "Fill this in."},
		{"bad username", with("username", "María!"), "join-username", "Use 1 to 30 characters"},
		{"reserved username", with("username", "api"), "join-username", "not available"},
		{"the node's handle", with("username", "chapter"), "join-username", "not available"},
		{"taken username", with("username", "taken"), "join-username", "not available"},
		{"bad e-mail", with("email", "maria at example"), "join-email", "name@example.org"},
		{"short password", with("password", "short"), "join-password", "Use 10 to 200 characters."},
		{"no note", with("note", ""), "join-note", "Fill this in."},
		{"long region", with("region", strings.Repeat("x", 101)), "join-region", "At most 100 characters."},
	} {
		t.Run(tc.name, func(t *testing.T) {
			res := b.submit("/join", "/join", tc.form)
			wantStatus(t, tc.name, res, http.StatusUnprocessableEntity)
			checkStructure(t, tc.name, res)
			if got := fieldError(t, res, tc.field); !strings.Contains(got, tc.text) {
				t.Errorf("%s: error %q, want %q", tc.field, got, tc.text)
			}
			if strings.Contains(res.body, good.Get("password")) {
				t.Error("the password is sent back")
			}
			if tc.field != "join-name" && !strings.Contains(res.body, "María García") {
				t.Error("the name typed is not kept")
			}
		})
	}
	if _, err := e.db.AccountByUsername(ctx, "maria"); !errors.Is(err, chapter.ErrNotFound) {
		t.Fatalf("a refused application was recorded: %v", err)
	}

	res = b.submit("/join", "/join", good)
	wantStatus(t, "apply", res, http.StatusSeeOther)
	if loc := res.header.Get("Location"); loc != "/join/sent" {
		t.Fatalf("after applying: to %q", loc)
	}
	res = b.page("/join/sent", http.StatusOK)
	wantText(t, "/join/sent", res, "Application received", "An admin will read your application")
	a := e.accountByName(t, "maria")
	if a.State != chapter.StatePending || a.DisplayName != "María García" || a.Email != "maria@example.org" ||
		a.Region != "Elm Street" || a.Application != "I run the community garden." {
		t.Errorf("the applicant: %+v", a)
	}
	ns, err := e.svc.Notifications(ctx, e.ids["admin"], 0, 10)
	if err != nil || len(ns) != 1 || ns[0].Type != chapter.NotifySignUp {
		t.Errorf("the admin's notifications: %v, %v", ns, err)
	}
	// Not before an admin approves.
	res = b.submit("/login", "/login", url.Values{"username": {"maria"}, "password": {good.Get("password")}})
	wantStatus(t, "pending sign-in", res, http.StatusForbidden)
}

// TestSiteJoinRateLimit takes five applications an hour from an address.
func TestSiteJoinRateLimit(t *testing.T) {
	e := newFormEnv(t)
	b := e.browser(t)
	apply := func(i int) sitePageRes {
		t.Helper()
		name := "person" + strconv.Itoa(i)
		return b.submit("/join", "/join", url.Values{"name": {name}, "username": {name}, "email": {name + "@example.org"},
			"password": {password(name)}, "note": {"hello"}})
	}
	for i := range joinsPerAddress {
		wantStatus(t, "application "+strconv.Itoa(i), apply(i), http.StatusSeeOther)
	}
	res := apply(joinsPerAddress)
	wantStatus(t, "one too many", res, http.StatusTooManyRequests)
	if _, err := e.db.AccountByUsername(context.Background(), "person"+strconv.Itoa(joinsPerAddress)); err == nil {
		t.Error("the refused application was recorded")
	}
	e.clock.advance(joinWindow)
	wantStatus(t, "an hour later", apply(joinsPerAddress+1), http.StatusSeeOther)
}
