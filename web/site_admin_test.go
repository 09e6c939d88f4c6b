package web

import (
	"context"
	"errors"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"testing"
	"time"

	"golang.org/x/net/html"

	"github.com/chapterhouse/chapterhouse/chapter"
)

// These tests are about /admin: who may see it, and every decision made
// there, each recorded in the audit log.

// TestSiteAdminOnly keeps /admin to admins: members get 403, visitors are
// sent to sign in, and their posts change nothing.
func TestSiteAdminOnly(t *testing.T) {
	ctx := context.Background()
	e := newFormEnv(t)
	e.account(t, "admin", chapter.RoleAdmin)
	e.account(t, "alice", chapter.RoleMember)
	p := e.post(t, "admin", chapter.NewPost{Text: "Statement"})
	app, err := e.svc.Apply(ctx, chapter.Application{Username: "pat", Email: "pat@example.org", Password: password("pat"), Note: "hi"})
	if err != nil {
		t.Fatal(err)
	}
	if res := e.browser(t).get("/admin"); res.status != http.StatusSeeOther || res.header.Get("Location") != "/login?next=%2Fadmin" {
		t.Errorf("a visitor on /admin: %d to %q", res.status, res.header.Get("Location"))
	}
	alice := e.signedIn(t, "alice")
	for _, path := range []string{"/admin", "/admin/audit"} {
		res := alice.page(path, http.StatusForbidden)
		wantText(t, path, res, "Not allowed")
	}
	if res := alice.page("/", http.StatusOK); findNode(res.doc, func(n *html.Node) bool { return attr(n, "href") == "/admin" }) != nil {
		t.Error("a member's header links to /admin")
	}
	token := alice.token(alice.get("/"), "/compose")
	for path, v := range map[string]url.Values{
		"/admin/applications": {"id": {strconv.FormatInt(app.ID, 10)}, "decision": {"approve"}},
		"/admin/members":      {"account": {"admin"}, "action": {"suspend"}},
		"/admin/posts":        {"post": {strconv.FormatInt(p.ID, 10)}},
		"/admin/domains":      {"domain": {"example.net"}},
		"/admin/children":     {"actor": {"https://city.test/users/city"}},
	} {
		v.Set(tokenField, token)
		if res := alice.post(path, v); res.status != http.StatusForbidden {
			t.Errorf("a member posting %s: %d", path, res.status)
		}
	}
	if a := e.accountByName(t, "pat"); a.State != chapter.StatePending {
		t.Errorf("pat is %s", a.State)
	}
	if a := e.accountByName(t, "admin"); a.State != chapter.StateActive {
		t.Errorf("the admin is %s", a.State)
	}
	if _, err := e.svc.Post(ctx, nil, p.ID); err != nil {
		t.Errorf("the post: %v", err)
	}
	if blocked, _ := e.db.BlockedDomains(ctx); len(blocked) != 0 {
		t.Errorf("blocked %v", blocked)
	}
}

// TestSiteAdminApplications approves and declines applications.
func TestSiteAdminApplications(t *testing.T) {
	ctx := context.Background()
	e := newFormEnv(t)
	e.account(t, "admin", chapter.RoleAdmin)
	for _, name := range []string{"maria", "mallory"} {
		if _, err := e.svc.Apply(ctx, chapter.Application{Username: name, DisplayName: strings.ToUpper(name[:1]) + name[1:],
			Email: name + "@example.org", Password: password(name), Note: "I run the garden of " + name,
			Region: "Elm Street"}); err != nil {
			t.Fatal(err)
		}
	}
	admin := e.signedIn(t, "admin")
	res := admin.page("/admin", http.StatusOK)
	wantText(t, "/admin", res, "Applications", "Maria", "@maria", "maria@example.org", "Elm Street",
		"I run the garden of maria", "Mallory", "Approve", "Decline", "No node is waiting to be linked.")
	// Each button names whom it decides on, for screen readers.
	if b := findNode(res.doc, func(n *html.Node) bool { return n.Data == "button" && attr(n, "value") == "approve" }); b == nil ||
		!strings.Contains(textOf(b), "@maria") {
		t.Error("the approve button does not name the applicant")
	}
	decide := func(name, decision string) sitePageRes {
		t.Helper()
		// Any form's token will do: it is the session's.
		return admin.post("/admin/applications", url.Values{tokenField: {admin.token(admin.get("/admin"), "/admin/members")},
			"id": {strconv.FormatInt(e.accountByName(t, name).ID, 10)}, "decision": {decision}})
	}
	res = decide("maria", "approve")
	wantStatus(t, "approve", res, http.StatusSeeOther)
	if loc := res.header.Get("Location"); loc != "/admin?done=approved" {
		t.Errorf("after approving: to %q", loc)
	}
	res = admin.page("/admin?done=approved", http.StatusOK)
	wantText(t, "approved", res, "The application is approved")
	if strings.Contains(res.body, "maria@example.org") {
		t.Error("an approved application is still listed")
	}
	wantStatus(t, "decline", decide("mallory", "decline"), http.StatusSeeOther)
	if a := e.accountByName(t, "maria"); a.State != chapter.StateActive {
		t.Errorf("maria is %s", a.State)
	}
	if a := e.accountByName(t, "mallory"); a.State != chapter.StateSuspended {
		t.Errorf("mallory is %s", a.State)
	}
	e.signedIn(t, "maria")
	res = admin.page("/admin", http.StatusOK)
	wantText(t, "/admin", res, "No application is waiting.")
	// Deciding twice, or nonsense, changes nothing.
	wantStatus(t, "again", decide("maria", "decline"), http.StatusConflict)
	wantStatus(t, "bad decision", decide("maria", "maybe"), http.StatusBadRequest)
	if a := e.accountByName(t, "maria"); a.State != chapter.StateActive {
		t.Errorf("maria is %s after deciding again", a.State)
	}
	res = admin.page("/admin/audit", http.StatusOK)
	wantText(t, "/admin/audit", res, "Application approved", "@maria", "Application declined", "@mallory", "@admin")
}

// TestSiteAdminModeration suspends and reactivates members, removes a
// post and blocks a domain, each in the audit log.
func TestSiteAdminModeration(t *testing.T) {
	ctx := context.Background()
	e := newFormEnv(t)
	e.account(t, "admin", chapter.RoleAdmin)
	e.account(t, "alice", chapter.RoleMember)
	e.account(t, "troll", chapter.RoleMember)
	p := e.post(t, "troll", chapter.NewPost{Text: "Spam spam spam"})
	troll := e.signedIn(t, "troll")
	admin := e.signedIn(t, "admin")
	post := func(action string, v url.Values) sitePageRes {
		t.Helper()
		return admin.submit("/admin", action, v)
	}

	res := post("/admin/members", url.Values{"account": {"@troll"}, "action": {"suspend"}, "reason": {"spam"}})
	wantStatus(t, "suspend", res, http.StatusSeeOther)
	if a := e.accountByName(t, "troll"); a.State != chapter.StateSuspended {
		t.Fatalf("troll is %s", a.State)
	}
	// The suspended member's session ends with it.
	if res := troll.get("/compose"); res.status != http.StatusSeeOther || !strings.HasPrefix(res.header.Get("Location"), "/login") {
		t.Errorf("a suspended member on /compose: %d", res.status)
	}
	res = admin.page("/admin", http.StatusOK)
	wantText(t, "/admin", res, "Suspended accounts", "@troll@chapter.test")

	for name, tc := range map[string]struct {
		form  url.Values
		field string
		text  string
	}{
		"unknown member": {url.Values{"account": {"nobody"}, "action": {"suspend"}}, "member-account", "There is no such member."},
		// A remote profile naming a local member's name is not them.
		"remote profile": {url.Values{"account": {"https://remote.test/@alice"}, "action": {"suspend"}}, "member-account",
			"There is no such member."},
		"oneself":      {url.Values{"account": {"admin"}, "action": {"suspend"}}, "member-account", "You cannot suspend yourself"},
		"the group":    {url.Values{"account": {"@chapter@chapter.test"}, "action": {"suspend"}}, "member-account", "You cannot suspend"},
		"unknown post": {url.Values{"post": {"https://chapter.test/@alice/1"}}, "remove-post", "There is no post at this address."},
		"bad domain":   {url.Values{"domain": {"not a domain/at all"}}, "block-domain", "Enter another server’s host name"},
		"own domain":   {url.Values{"domain": {"chapter.test"}}, "block-domain", "Enter another server’s host name"},
	} {
		action := map[string]string{"member": "/admin/members", "remove": "/admin/posts", "block": "/admin/domains"}[strings.Split(tc.field, "-")[0]]
		res := post(action, tc.form)
		wantStatus(t, name, res, http.StatusUnprocessableEntity)
		checkStructure(t, name, res)
		if got := fieldError(t, res, tc.field); !strings.Contains(got, tc.text) {
			t.Errorf("%s: %q, want %q", name, got, tc.text)
		}
	}
	for _, name := range []string{"admin", "alice"} {
		if a := e.accountByName(t, name); a.State != chapter.StateActive {
			t.Fatalf("%s is %s", name, a.State)
		}
	}
	// A profile's URL names the member.
	res = post("/admin/members", url.Values{"account": {testPublicURL + "/@alice"}, "action": {"reactivate"}})
	wantStatus(t, "by profile URL", res, http.StatusSeeOther)

	// Reactivating from the list of the suspended.
	res = post("/admin/members", url.Values{"account": {"@troll@chapter.test"}, "action": {"reactivate"}})
	wantStatus(t, "reactivate", res, http.StatusSeeOther)
	if a := e.accountByName(t, "troll"); a.State != chapter.StateActive {
		t.Fatalf("troll is %s", a.State)
	}

	// The post page links admins to the removal form, filled.
	res = admin.page(postPath(p), http.StatusOK)
	link := findNode(res.doc, func(n *html.Node) bool { return n.Data == "a" && strings.HasPrefix(attr(n, "href"), "/admin?post=") })
	if link == nil {
		t.Fatal("no removal link for the admin on the post's page")
	}
	res = admin.page(attr(link, "href"), http.StatusOK)
	if in := findNode(res.doc, func(n *html.Node) bool { return attr(n, "id") == "remove-post" }); in == nil ||
		attr(in, "value") != strconv.FormatInt(p.ID, 10) {
		t.Error("the removal form is not filled with the post")
	}
	res = post("/admin/posts", url.Values{"post": {testPublicURL + postPath(p)}, "reason": {"spam"}})
	wantStatus(t, "remove", res, http.StatusSeeOther)
	e.browser(t).page(postPath(p), http.StatusGone)
	res = post("/admin/posts", url.Values{"post": {p.IRI}})
	wantStatus(t, "remove again", res, http.StatusUnprocessableEntity)

	res = post("/admin/domains", url.Values{"domain": {"Spam.Example"}, "reason": {"spam wave"}})
	wantStatus(t, "block", res, http.StatusSeeOther)
	if blocked, _ := e.db.BlockedDomains(ctx); len(blocked) != 1 || blocked[0] != "spam.example" {
		t.Errorf("blocked %v", blocked)
	}
	res = admin.page("/admin?done=blocked", http.StatusOK)
	wantText(t, "/admin", res, "The server is blocked.", "Blocked servers", "spam.example")

	res = admin.page("/admin/audit", http.StatusOK)
	wantText(t, "/admin/audit", res, "Member suspended", "@troll", "spam", "Member reactivated", "Post removed",
		p.IRI, "Server blocked", "spam.example", "spam wave")
	if n := len(findAll(res.doc, func(n *html.Node) bool { return n.Data == "tr" })); n != 6 {
		t.Errorf("%d rows in the audit log, want a header and 5", n)
	}
	admin.page("/admin/audit?before=x", http.StatusBadRequest)
}

// TestSiteAdminChildren links a pending member chapter from /admin.
func TestSiteAdminChildren(t *testing.T) {
	ctx := context.Background()
	e := newFormEnv(t)
	e.account(t, "admin", chapter.RoleAdmin)
	north := e.remote(t, &chapter.Account{Username: "north", Host: "north.test", Kind: chapter.KindGroup,
		DisplayName: "North chapter", Level: chapter.LevelChapter, ActorIRI: "https://north.test/users/north"})
	g, err := e.svc.Group(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if err := e.db.PutFollow(ctx, &chapter.Follow{FollowerID: north.ID, TargetID: g.ID, State: chapter.FollowPending,
		ActivityIRI: "https://north.test/follows/1", CreatedAt: time.Now()}, nil); err != nil {
		t.Fatal(err)
	}
	if err := e.db.PutLink(ctx, &chapter.Link{AccountID: north.ID, Role: chapter.RoleChild, State: chapter.LinkPending,
		CreatedAt: time.Now()}); err != nil {
		t.Fatal(err)
	}
	admin := e.signedIn(t, "admin")
	res := admin.page("/admin", http.StatusOK)
	wantText(t, "/admin", res, "Member chapters waiting", "North chapter", "@north@north.test", "Local chapter")
	res = admin.submit("/admin", "/admin/children", url.Values{"actor": {north.ActorIRI}})
	wantStatus(t, "approve child", res, http.StatusSeeOther)
	l, err := e.db.Link(ctx, north.ID)
	if err != nil || l.State != chapter.LinkLinked {
		t.Fatalf("the link: %+v, %v", l, err)
	}
	res = admin.page("/admin?done=child", http.StatusOK)
	wantText(t, "/admin", res, "The member chapter is linked.", "No node is waiting to be linked.")
	// Not twice, and not a stranger.
	token := admin.token(admin.get("/admin"), "/admin/members")
	res = admin.post("/admin/children", url.Values{tokenField: {token}, "actor": {north.ActorIRI}})
	wantStatus(t, "approve again", res, http.StatusConflict)
	res = admin.post("/admin/children", url.Values{tokenField: {token}, "actor": {"https://nowhere.test/users/x"}})
	wantStatus(t, "unknown child", res, http.StatusNotFound)
	if _, err := e.db.Link(ctx, 99999); !errors.Is(err, chapter.ErrNotFound) {
		t.Errorf("link 99999: %v", err)
	}
}
