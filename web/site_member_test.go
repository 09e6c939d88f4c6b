package web

import (
	"context"
	"errors"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"testing"

	"golang.org/x/net/html"

	"github.com/chapterhouse/chapterhouse/chapter"
)

// These tests are about what members do on the website: write, preview,
// reply, edit, delete, follow threads, read notifications, find members
// and keep their profile.

// noRawMarkup fails if a page holds hostile markup as markup: a script,
// frame or style element, an event handler attribute, or a javascript: or
// data: URL. As text (escaped) it may show.
func noRawMarkup(t *testing.T, what string, res sitePageRes) {
	t.Helper()
	// The layout's own script tag, the copy button's, is the one allowed.
	body := strings.Replace(res.body, `<script src="/static/copy.js" defer></script>`, "", 1)
	for _, raw := range []string{"<script", "<iframe", "<img src=x", "<style"} {
		if strings.Contains(body, raw) {
			t.Errorf("%s: %q is raw in the page", what, raw)
		}
	}
	urlAttrs := map[string]bool{"href": true, "src": true, "action": true, "formaction": true, "srcset": true}
	walk(res.doc, func(n *html.Node) {
		ownScript := n.Data == "script" && attr(n, "src") == "/static/copy.js" && n.Parent.Data == "head"
		if n.Type == html.ElementNode && (n.Data == "script" && !ownScript || n.Data == "iframe" || n.Data == "style" && n.Parent.Data != "head") {
			t.Errorf("%s: a <%s> element", what, n.Data)
		}
		for _, a := range n.Attr {
			v := strings.ToLower(strings.TrimSpace(a.Val))
			if strings.HasPrefix(a.Key, "on") || urlAttrs[a.Key] && (strings.HasPrefix(v, "javascript:") || strings.HasPrefix(v, "data:")) {
				t.Errorf("%s: <%s %s=%q>", what, n.Data, a.Key, a.Val)
			}
		}
	})
}

// postIDFrom reads the post id a redirect to a post's page names.
func postIDFrom(t *testing.T, location string) int64 {
	t.Helper()
	location, _, _ = strings.Cut(location, "#")
	id, err := strconv.ParseInt(location[strings.LastIndexByte(location, '/')+1:], 10, 64)
	if err != nil {
		t.Fatalf("no post id in %q", location)
	}
	return id
}

// TestSiteCompose writes a post from the home page and from /compose.
func TestSiteCompose(t *testing.T) {
	ctx := context.Background()
	e := newFormEnv(t)
	e.account(t, "alice", chapter.RoleMember)
	// Visitors see no form; /compose sends them to sign in.
	if res := e.browser(t).page("/", http.StatusOK); findNode(res.doc, func(n *html.Node) bool { return attr(n, "class") == "compose" }) != nil {
		t.Error("a visitor sees the compose form")
	}
	if res := e.browser(t).get("/compose"); res.status != http.StatusSeeOther {
		t.Errorf("GET /compose as a visitor: %d", res.status)
	}

	b := e.signedIn(t, "alice")
	res := b.page("/", http.StatusOK)
	wantText(t, "/", res, "Write a post", "Content warning", "Who can see it", "Language", "Publish")
	res = b.submit("/", "/compose", url.Values{"text": {"Our first meeting is on Tuesday"}, "visibility": {"public"},
		"language": {"en"}, "format": {"post"}})
	wantStatus(t, "publish from home", res, http.StatusSeeOther)
	id := postIDFrom(t, res.header.Get("Location"))
	if res.header.Get("Location") != "/@alice/"+strconv.FormatInt(id, 10) {
		t.Errorf("after publishing: to %q", res.header.Get("Location"))
	}
	res = e.browser(t).page(res.header.Get("Location"), http.StatusOK)
	wantText(t, "the post", res, "Our first meeting is on Tuesday")

	// /compose: the page's language is the post's, unless chosen.
	b.header["Accept-Language"] = "de"
	res = b.page("/compose", http.StatusOK)
	if opt := findNode(res.doc, func(n *html.Node) bool { return n.Data == "option" && attr(n, "value") == "de" }); opt == nil ||
		!hasAttr(opt, "selected") {
		t.Error("/compose in German does not choose German for the post")
	}
	delete(b.header, "Accept-Language")

	// A post for members only: its author and members see it, visitors not.
	res = b.submit("/compose", "/compose", url.Values{"text": {"Members only: the key is under the mat"},
		"visibility": {"private"}, "language": {"en"}, "summary": {"house keys"}})
	wantStatus(t, "members-only post", res, http.StatusSeeOther)
	path := res.header.Get("Location")
	res = b.page(path, http.StatusOK)
	wantText(t, "members-only post", res, "the key is under the mat", "house keys")
	e.browser(t).page(path, http.StatusNotFound)
	p, err := e.svc.Post(ctx, e.accountByName(t, "alice"), postIDFrom(t, path))
	if err != nil || p.Visibility != chapter.VisibilityFollowers || p.Summary != "house keys" || p.Language != "en" {
		t.Errorf("the members-only post: %+v, %v", p, err)
	}

	// Mistakes come back with the text kept.
	for name, v := range map[string]url.Values{
		"empty":      {"text": {"  "}},
		"too long":   {"text": {strings.Repeat("a", chapter.MaxPostLength+1)}},
		"visibility": {"text": {"hello"}, "visibility": {"everyone"}},
	} {
		res := b.submit("/compose", "/compose", v)
		wantStatus(t, name, res, http.StatusUnprocessableEntity)
		checkStructure(t, name, res)
		if len(findAll(res.doc, func(n *html.Node) bool { return attr(n, "aria-invalid") == "true" })) != 1 {
			t.Errorf("%s: not one field marked invalid", name)
		}
	}
	if n, _ := e.db.CountPosts(ctx, e.ids["alice"]); n != 2 {
		t.Errorf("%d posts, want 2", n)
	}
}

func hasAttr(n *html.Node, name string) bool {
	for _, a := range n.Attr {
		if a.Key == name {
			return true
		}
	}
	return false
}

// TestSiteMarkdownPreview renders an article's Markdown for the preview,
// headings below the page's own, and publishes nothing.
func TestSiteMarkdownPreview(t *testing.T) {
	ctx := context.Background()
	e := newFormEnv(t)
	e.account(t, "alice", chapter.RoleMember)
	b := e.signedIn(t, "alice")
	src := "# Minutes\n\nWe agreed on **three** things:\n\n- a *garden*\n- a [library](https://example.org/lib)\n\n" +
		"| day | what |\n|---|---|\n| Tue | meeting |\n"
	res := b.submit("/compose", "/compose", url.Values{"text": {src}, "format": {"markdown"}, "action": {"preview"}})
	wantStatus(t, "preview", res, http.StatusOK)
	checkStructure(t, "preview", res)
	preview := findNode(res.doc, func(n *html.Node) bool { return attr(n, "class") == "preview" })
	if preview == nil {
		t.Fatal("no preview")
	}
	for _, tag := range []string{"h3", "strong", "em", "ul", "table"} {
		if findNode(preview, func(n *html.Node) bool { return n.Data == tag }) == nil {
			t.Errorf("no <%s> in the preview", tag)
		}
	}
	link := findNode(preview, func(n *html.Node) bool { return n.Data == "a" })
	if link == nil || attr(link, "href") != "https://example.org/lib" || !strings.Contains(attr(link, "rel"), "nofollow") {
		t.Errorf("the preview's link: %v", link)
	}
	if ta := findNode(res.doc, func(n *html.Node) bool { return n.Data == "textarea" }); ta == nil || textOf(ta) != strings.Join(strings.Fields(src), " ") {
		t.Error("the text is not kept in the form under the preview")
	}
	if n, _ := e.db.CountPosts(ctx, 0); n != 0 {
		t.Errorf("a preview published %d posts", n)
	}
}

// TestSiteHostileMarkup never lets markup a member types reach a page as
// markup: not in a Markdown preview, a plain preview, a published post,
// a reply, a name or a bio.
func TestSiteHostileMarkup(t *testing.T) {
	e := newFormEnv(t)
	e.account(t, "alice", chapter.RoleMember)
	e.account(t, "bob", chapter.RoleMember)
	b := e.signedIn(t, "alice")
	hostile := "<script>alert(1)</script>\n\n<img src=x onerror=alert(2)>\n\n[click](javascript:alert(3)) " +
		"<a href=\"javascript:alert(4)\">x</a> [data](data:text/html;base64,PHNjcmlwdD4=) <iframe src=\"https://evil.test\"></iframe>\n\n" +
		"![img](javascript:alert(5)) <style>body{display:none}</style>"
	for _, format := range []string{"markdown", "post"} {
		res := b.submit("/compose", "/compose", url.Values{"text": {hostile}, "format": {format}, "action": {"preview"}})
		wantStatus(t, format+" preview", res, http.StatusOK)
		preview := findNode(res.doc, func(n *html.Node) bool { return attr(n, "class") == "preview" })
		if preview == nil {
			t.Fatalf("%s: no preview", format)
		}
		noRawMarkup(t, format+" preview", res)
		walk(preview, func(n *html.Node) {
			if n.Type == html.ElementNode && (n.Data == "style" || n.Data == "iframe") {
				t.Errorf("%s preview: a <%s> element", format, n.Data)
			}
			for _, a := range n.Attr {
				if strings.HasPrefix(strings.ToLower(a.Val), "data:") {
					t.Errorf("%s preview: <%s %s=%q>", format, n.Data, a.Key, a.Val)
				}
			}
		})
	}
	res := b.submit("/compose", "/compose", url.Values{"text": {hostile}, "format": {"markdown"}})
	wantStatus(t, "publish", res, http.StatusSeeOther)
	path := res.header.Get("Location")
	res = b.page(path, http.StatusOK)
	noRawMarkup(t, "the post", res)
	// Published as an article: the Markdown rendered and sanitized, the
	// link text kept without its javascript: target.
	wantText(t, "the post", res, "click")

	bob := e.signedIn(t, "bob")
	res = bob.submit(path, path+"/reply", url.Values{"text": {hostile}})
	wantStatus(t, "reply", res, http.StatusSeeOther)
	res = bob.submit("/settings/profile", "/settings/profile", url.Values{"name": {`<script>alert("name")</script>`},
		"bio": {`<img src=x onerror=alert("bio")>`}, "region": {`<b>Elm</b>`}})
	wantStatus(t, "hostile profile", res, http.StatusSeeOther)
	for _, p := range []string{path, "/@bob", "/", "/settings/profile", "/find?region=Elm"} {
		res := bob.page(p, http.StatusOK)
		noRawMarkup(t, p, res)
	}
	res = b.page("/notifications", http.StatusOK)
	noRawMarkup(t, "/notifications", res)
	wantText(t, "/notifications", res, `<script>alert("name")</script> replied to your post`)
}

// TestSiteReplyEditDelete replies from a post's page, and lets the author
// alone edit and delete.
func TestSiteReplyEditDelete(t *testing.T) {
	ctx := context.Background()
	e := newFormEnv(t)
	e.account(t, "alice", chapter.RoleMember)
	e.account(t, "bob", chapter.RoleMember)
	root := e.post(t, "alice", chapter.NewPost{Text: "Shall we meet on Friday?", Visibility: chapter.VisibilityUnlisted})
	path := postPath(root)
	bob := e.signedIn(t, "bob")
	res := bob.page(path, http.StatusOK)
	wantText(t, path, res, "Write a reply", "Follow this thread")
	if findNode(res.doc, func(n *html.Node) bool { return n.Data == "a" && attr(n, "href") == path+"/edit" }) != nil {
		t.Error("bob is offered to edit alice's post")
	}
	// The reply form starts from the post's visibility.
	if opt := findNode(res.doc, func(n *html.Node) bool {
		return n.Data == "option" && attr(n, "value") == "unlisted" && hasAttr(n, "selected")
	}); opt == nil {
		t.Error("the reply's visibility does not start as the post's")
	}

	res = bob.submit(path, path+"/reply", url.Values{"text": {""}})
	wantStatus(t, "empty reply", res, http.StatusUnprocessableEntity)
	checkStructure(t, "empty reply", res)
	if got := fieldError(t, res, "reply-text"); got != "Write something first." {
		t.Errorf("empty reply: %q", got)
	}
	wantText(t, "empty reply", res, "Shall we meet on Friday?")

	res = bob.submit(path, path+"/reply", url.Values{"text": {"Friday works for me"}, "visibility": {"public"}})
	wantStatus(t, "reply", res, http.StatusSeeOther)
	anchor, ok := strings.CutPrefix(res.header.Get("Location"), path+"#post-")
	replyID, err := strconv.ParseInt(anchor, 10, 64)
	if !ok || err != nil {
		t.Fatalf("after replying: to %q", res.header.Get("Location"))
	}
	res = bob.page(path, http.StatusOK)
	wantText(t, path, res, "Friday works for me")
	if reply, err := e.svc.Post(ctx, nil, replyID); err != nil || reply.InReplyToID != root.ID {
		t.Fatalf("the reply: %+v, %v", reply, err)
	}

	// Only alice edits and deletes her post.
	for _, p := range []string{path + "/edit", path + "/delete"} {
		bob.page(p, http.StatusForbidden)
	}
	bobToken := bob.token(bob.get(path), path+"/follow")
	for _, p := range []string{path + "/edit", path + "/delete"} {
		res := bob.post(p, url.Values{tokenField: {bobToken}, "text": {"bob was here"}})
		wantStatus(t, "bob posts "+p, res, http.StatusForbidden)
	}
	alice := e.signedIn(t, "alice")
	res = alice.page(path+"/edit", http.StatusOK)
	if ta := findNode(res.doc, func(n *html.Node) bool { return attr(n, "id") == "edit-text" }); ta == nil || strings.TrimSpace(textOf(ta)) != root.Source {
		t.Error("the edit form does not hold the post's text")
	}
	res = alice.submit(path+"/edit", path+"/edit", url.Values{"text": {""}})
	wantStatus(t, "empty edit", res, http.StatusUnprocessableEntity)
	res = alice.submit(path+"/edit", path+"/edit", url.Values{"text": {"Shall we meet on Saturday?"}, "language": {"en"}})
	wantStatus(t, "edit", res, http.StatusSeeOther)
	res = e.browser(t).page(path, http.StatusOK)
	wantText(t, path, res, "Shall we meet on Saturday?")

	res = alice.page(path+"/delete", http.StatusOK)
	wantText(t, "delete", res, "Delete this post?", "Shall we meet on Saturday?")
	res = alice.submit(path+"/delete", path+"/delete", nil)
	wantStatus(t, "delete", res, http.StatusSeeOther)
	if res.header.Get("Location") != "/@alice" {
		t.Errorf("after deleting: to %q", res.header.Get("Location"))
	}
	e.browser(t).page(path, http.StatusGone)
	// Another's reply stays bob's to delete.
	alice.page(postPath(&chapter.Post{ID: replyID, Author: &chapter.Account{Username: "bob"}})+"/delete", http.StatusForbidden)
}

// TestSiteFollowThread follows a thread from its page: the follower is
// told of replies to it, and stops being told after unfollowing.
func TestSiteFollowThread(t *testing.T) {
	ctx := context.Background()
	e := newFormEnv(t)
	e.account(t, "alice", chapter.RoleMember)
	e.account(t, "bob", chapter.RoleMember)
	e.account(t, "carol", chapter.RoleMember)
	root := e.post(t, "alice", chapter.NewPost{Text: "A thread"})
	path := postPath(root)
	carol := e.signedIn(t, "carol")
	res := carol.submit(path, path+"/follow", url.Values{"follow": {"1"}})
	wantStatus(t, "follow", res, http.StatusSeeOther)
	if follows, err := e.svc.FollowsThread(ctx, e.ids["carol"], root.ID); err != nil || !follows {
		t.Fatalf("carol follows the thread: %v, %v", follows, err)
	}
	res = carol.page(path, http.StatusOK)
	wantText(t, path, res, "Stop following this thread", "You follow this thread")
	e.post(t, "bob", chapter.NewPost{Text: "A reply", InReplyToID: root.ID})
	res = carol.page("/", http.StatusOK)
	if got := textOf(findNode(res.doc, func(n *html.Node) bool { return attr(n, "class") == "unread" })); got != "1 unread" {
		t.Errorf("carol's unread count reads %q", got)
	}
	res = carol.page("/notifications", http.StatusOK)
	wantText(t, "/notifications", res, "bob replied in a thread you follow", "A reply")

	res = carol.submit(path, path+"/follow", url.Values{"follow": {"0"}})
	wantStatus(t, "unfollow", res, http.StatusSeeOther)
	if follows, _ := e.svc.FollowsThread(ctx, e.ids["carol"], root.ID); follows {
		t.Fatal("carol still follows the thread")
	}
	e.post(t, "bob", chapter.NewPost{Text: "Another reply", InReplyToID: root.ID})
	if n, _ := e.svc.UnreadCount(ctx, e.ids["carol"]); n != 0 {
		t.Errorf("carol has %d unread after unfollowing", n)
	}
}

// TestSiteNotifications lists what happened to a member, says each kind
// in words, marks them read and clears the count in the header.
func TestSiteNotifications(t *testing.T) {
	ctx := context.Background()
	e := newFormEnv(t)
	e.account(t, "admin", chapter.RoleAdmin)
	e.account(t, "alice", chapter.RoleMember)
	e.account(t, "bob", chapter.RoleMember)
	root := e.post(t, "alice", chapter.NewPost{Text: "Garden day"})
	e.post(t, "bob", chapter.NewPost{Text: "I will come", InReplyToID: root.ID})
	e.post(t, "bob", chapter.NewPost{Text: "Hello @alice"})
	rita := e.remote(t, &chapter.Account{Username: "rita", Host: "remote.test", DisplayName: "Rita",
		ActorIRI: "https://remote.test/users/rita"})
	if err := e.svc.ReceiveInteraction(ctx, chapter.InteractionLike, rita, root.IRI, "https://remote.test/likes/1"); err != nil {
		t.Fatal(err)
	}
	if err := e.svc.ReceiveInteraction(ctx, chapter.InteractionAnnounce, rita, root.IRI, "https://remote.test/boosts/1"); err != nil {
		t.Fatal(err)
	}
	alice := e.accountByName(t, "alice")
	if _, err := e.svc.ReceiveFollow(ctx, rita, alice, "https://remote.test/follows/1"); err != nil {
		t.Fatal(err)
	}

	b := e.signedIn(t, "alice")
	res := b.page("/", http.StatusOK)
	badge := findNode(res.doc, func(n *html.Node) bool { return attr(n, "class") == "unread" })
	if badge == nil || textOf(badge) != "5 unread" {
		t.Fatalf("the header's unread count: %v", badge)
	}
	res = b.page("/notifications", http.StatusOK)
	wantText(t, "/notifications", res, "bob replied to your post", "I will come", "bob mentioned you", "Hello @alice",
		"Rita liked your post", "Rita boosted your post", "Rita followed you", "@rita@remote.test", "New:")
	if n := len(findAll(res.doc, func(n *html.Node) bool { return attr(n, "class") == "notification unread" })); n != 5 {
		t.Errorf("%d notifications marked new, want 5", n)
	}
	if findNode(res.doc, func(n *html.Node) bool { return attr(n, "class") == "unread" }) != nil {
		t.Error("the header still counts unread notifications on /notifications")
	}
	if n, _ := e.svc.UnreadCount(ctx, e.ids["alice"]); n != 0 {
		t.Errorf("%d unread after the page", n)
	}
	res = b.page("/notifications", http.StatusOK)
	if findNode(res.doc, func(n *html.Node) bool { return attr(n, "class") == "notification unread" }) != nil {
		t.Error("notifications seen before are still marked new")
	}
	b.page("/notifications?max_id=x", http.StatusBadRequest)

	// Admins hear of applications, with a link to decide.
	if _, err := e.svc.Apply(ctx, chapter.Application{Username: "pat", DisplayName: "Pat", Email: "pat@example.org",
		Password: password("pat"), Note: "hi"}); err != nil {
		t.Fatal(err)
	}
	res = e.signedIn(t, "admin").page("/notifications", http.StatusOK)
	wantText(t, "admin's notifications", res, "Pat applied to join", "Review it in the administration")

	// Nothing yet.
	res = e.signedIn(t, "bob").page("/notifications", http.StatusOK)
	wantText(t, "bob's notifications", res, "No notifications yet.")
}

// TestSiteFind finds members by the region they gave; visitors may search
// (the issue asks for it); only members who gave a region are found.
func TestSiteFind(t *testing.T) {
	ctx := context.Background()
	e := newFormEnv(t)
	e.account(t, "alice", chapter.RoleMember)
	e.account(t, "bob", chapter.RoleMember)
	e.account(t, "carol", chapter.RoleMember)
	for name, region := range map[string]string{"alice": "Lyon, Croix-Rousse", "bob": "Lyon 7e"} {
		if err := e.svc.SetRegion(ctx, e.ids[name], region); err != nil {
			t.Fatal(err)
		}
	}
	if res := e.browser(t).get("/find?region=lyon"); res.status != http.StatusOK ||
		!strings.Contains(res.body, "@alice@chapter.test") {
		t.Errorf("a visitor searching: %d", res.status)
	}
	b := e.signedIn(t, "carol")
	res := b.page("/find", http.StatusOK)
	wantText(t, "/find", res, "Find members", "Region or city")
	res = b.page("/find?region=lyon", http.StatusOK)
	wantText(t, "/find?region=lyon", res, "2 members found", "@alice@chapter.test", "Lyon, Croix-Rousse", "@bob@chapter.test")
	if strings.Contains(res.body, "@carol@") {
		t.Error("carol, who gave no region, is found")
	}
	res = b.page("/find?region=Paris", http.StatusOK)
	wantText(t, "Paris", res, "0 members found", "Nobody has given a region that matches.")
	res = b.page("/find?region=L", http.StatusOK)
	if got := fieldError(t, res, "find-region"); got != "Type at least 2 characters." {
		t.Errorf("a one-letter search: %q", got)
	}
	// LIKE's wildcards are plain characters.
	res = b.page("/find?region=%25%25", http.StatusOK)
	wantText(t, "%%", res, "0 members found")
}

// TestSiteProfileSettings changes a member's name, bio and region.
func TestSiteProfileSettings(t *testing.T) {
	e := newFormEnv(t)
	e.account(t, "alice", chapter.RoleMember)
	b := e.signedIn(t, "alice")
	res := b.page("/settings/profile", http.StatusOK)
	if in := findNode(res.doc, func(n *html.Node) bool { return attr(n, "id") == "profile-name" }); in == nil || attr(in, "value") != "alice" {
		t.Error("the name field does not hold the name")
	}
	res = b.submit("/settings/profile", "/settings/profile", url.Values{"name": {""}, "bio": {"x"}})
	wantStatus(t, "no name", res, http.StatusUnprocessableEntity)
	checkStructure(t, "no name", res)
	if got := fieldError(t, res, "profile-name"); got != "Fill this in." {
		t.Errorf("no name: %q", got)
	}
	res = b.submit("/settings/profile", "/settings/profile", url.Values{"name": {"Alice Liddell"},
		"bio": {"Curious.\n\nVery curious."}, "region": {"Oxford"}})
	wantStatus(t, "save", res, http.StatusSeeOther)
	if loc := res.header.Get("Location"); loc != "/settings/profile?done=saved" {
		t.Errorf("after saving: to %q", loc)
	}
	res = b.page("/settings/profile?done=saved", http.StatusOK)
	wantText(t, "saved", res, "Your changes are saved.")
	if ta := findNode(res.doc, func(n *html.Node) bool { return attr(n, "id") == "profile-bio" }); ta == nil ||
		strings.TrimSpace(textOf(ta)) != "Curious. Very curious." {
		t.Errorf("the bio field reads %q", textOf(ta))
	}
	a := e.accountByName(t, "alice")
	if a.DisplayName != "Alice Liddell" || a.Region != "Oxford" || !strings.Contains(a.Bio, "<p>Very curious.</p>") {
		t.Errorf("alice: %q, %q, %q", a.DisplayName, a.Region, a.Bio)
	}
	if e.pub.count(chapter.EventProfileUpdated, "alice") == 0 {
		t.Error("followers are not told of the new profile")
	}
	res = e.browser(t).page("/@alice", http.StatusOK)
	wantText(t, "/@alice", res, "Alice Liddell", "Very curious.")
	if strings.Contains(res.body, "Oxford") {
		t.Error("the region shows on the public profile")
	}
	// An unknown ?done= shows nothing.
	res = b.page("/settings/profile?done=%3Cscript%3E", http.StatusOK)
	if findNode(res.doc, func(n *html.Node) bool { return attr(n, "class") == "notice" }) != nil {
		t.Error("an unknown ?done= shows a notice")
	}
}

// TestSiteNotAuthorsPost keeps members to the posts they may see.
func TestSiteNotAuthorsPost(t *testing.T) {
	e := newFormEnv(t)
	e.account(t, "alice", chapter.RoleMember)
	e.account(t, "bob", chapter.RoleMember)
	e.account(t, "carol", chapter.RoleMember)
	secret := e.post(t, "alice", chapter.NewPost{Text: "for bob only @bob", Visibility: chapter.VisibilityDirect})
	path := postPath(secret)
	e.signedIn(t, "bob").page(path, http.StatusOK)
	carol := e.signedIn(t, "carol")
	carol.page(path, http.StatusNotFound)
	token := carol.token(carol.get("/"), "/compose")
	for _, p := range []string{path + "/reply", path + "/follow"} {
		res := carol.post(p, url.Values{tokenField: {token}, "text": {"peek"}, "follow": {"1"}})
		wantStatus(t, p, res, http.StatusNotFound)
	}
	if _, err := e.svc.Post(context.Background(), nil, secret.ID); !errors.Is(err, chapter.ErrNotFound) {
		t.Errorf("the direct post is public: %v", err)
	}
}
