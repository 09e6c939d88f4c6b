package main

import (
	"bytes"
	"context"
	"fmt"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
)

// Browser tests: the website as a person uses it, in a real Chromium
// (browser_harness_test.go), against a node that the program runs
// (newTestNode), set up only through the documented CLI. Run them alone
// with
//
//	go test -run Browser ./cmd/chapterhouse/
//
// Screenshots go to $CHAPTERHOUSE_ARTIFACTS when it is set, else to a
// temporary directory; each path is logged (go test -v shows them).

// postedPath reads "posted ID: URL" from chapterhouse post and returns the
// post's id and its page's path, /@NAME/ID.
func postedPath(t *testing.T, n *testNode, out string) (string, string) {
	t.Helper()
	m := regexp.MustCompile(`^posted (\d+): (\S+)`).FindStringSubmatch(strings.TrimSpace(out))
	if m == nil {
		t.Fatalf("chapterhouse post printed %q", out)
	}
	path, ok := strings.CutPrefix(m[2], n.baseURL)
	if !ok {
		t.Fatalf("post URL %s is not on the node %s", m[2], n.baseURL)
	}
	return m[1], path
}

// TestBrowserSite: the home page shows the node and a member's post, the
// post's page opens from it, the language switcher turns the site to Arabic
// written right to left and the choice holds on the next page, and the
// home page fits a phone's screen.
func TestBrowserSite(t *testing.T) {
	began := time.Now()
	node := newTestNode(t, "")
	node.cli("member", "add", "alice")
	const text = "Browser test: the garden meeting moves to Thursday"
	id, postPath := postedPath(t, node, node.cli("post", "--as", "alice", text))
	t.Logf("node and post ready in %s", time.Since(began).Round(time.Millisecond))

	b := newBrowser(t, desktopViewport)
	b.server = node.logs.String

	// The home page, in English: the node's name and the post.
	b.open(node.baseURL + "/")
	if lang, dir := b.langDir(); lang != "en" || dir != "ltr" {
		b.fatalf("home: <html lang=%q dir=%q>, want en, ltr", lang, dir)
	}
	if got := b.text("main h1"); got != "Test chapter" {
		b.fatalf("home heading %q, want the node's name", got)
	}
	if got := b.text(".site-header .site-name"); got != "Test chapter" {
		b.fatalf("site name in the header %q", got)
	}
	if title := browserValue(b, "title", chromedp.Title()); !strings.Contains(title, "Test chapter") {
		b.fatalf("home title %q lacks the node's name", title)
	}
	postSel := "#post-" + id
	if got := b.text(postSel + " .content"); got != text {
		b.fatalf("home shows the post as %q, want %q", got, text)
	}
	if got := b.text(postSel + " .author-name"); got == "" {
		b.fatalf("the post on the home page names no author")
	}
	// With JavaScript the copy button shows beside the follow address
	// (without it the address is a read-only field to select).
	if got := b.text("button.copy-button:not([hidden])"); got != "Copy" {
		b.fatalf("copy button %q, want a visible Copy button", got)
	}
	b.screenshot("home", "the home page in English with Alice's post, 1280×900")

	// The post's page, from its permalink on the home page.
	b.follow(postSel + " a.permalink")
	if got := b.path(); got != postPath {
		b.fatalf("the permalink opened %s, want %s", got, postPath)
	}
	if got := b.text("#page-heading"); !strings.Contains(got, "alice") {
		b.fatalf("post page heading %q does not name the author", got)
	}
	if got := b.text(".post-main .content"); got != text {
		b.fatalf("post page shows %q, want %q", got, text)
	}
	if got := pageEval[string](b, `document.getElementById("post-address").value`); got == "" || !strings.HasPrefix(got, node.baseURL) {
		b.fatalf("post page address to reply to is %q", got)
	}
	b.screenshot("post", "Alice's post on its own page, with its (empty) replies and the address to reply from")

	// Back home through the site name, then Arabic from the switcher.
	b.follow(".site-header .site-name a")
	if got := b.path(); got != "/" {
		b.fatalf("the site name led to %s", got)
	}
	b.follow(`.languages a[hreflang="ar"]`)
	if lang, dir := b.langDir(); lang != "ar" || dir != "rtl" {
		b.fatalf("after choosing العربية: <html lang=%q dir=%q>, want ar, rtl", lang, dir)
	}
	if got := pageEval[string](b, `getComputedStyle(document.body).direction`); got != "rtl" {
		b.fatalf("the Arabic page is laid out %q", got)
	}
	if got := b.text("#posts-heading"); !containsArabic(got) {
		b.fatalf("the Arabic home page's posts heading is %q: not Arabic", got)
	}
	if got := b.text("main h1"); got != "Test chapter" {
		b.fatalf("Arabic home heading %q, want the node's name", got)
	}
	if cur := pageEval[string](b, `document.querySelector('.languages a[aria-current="true"]').getAttribute("hreflang")`); cur != "ar" {
		b.fatalf("the switcher marks %q as the current language", cur)
	}
	if v, ok := b.cookie("lang"); !ok || v != "ar" {
		b.fatalf("lang cookie = %q (set: %v), want ar", v, ok)
	}
	// The posts heading is on the side where Arabic starts: the right.
	// (The extent of its text, not of the block, which spans the column.)
	if right := pageEval[bool](b, `(() => { const range = document.createRange();
		range.selectNodeContents(document.getElementById("posts-heading"));
		const r = range.getBoundingClientRect(), m = document.querySelector("main").getBoundingClientRect();
		return Math.abs(r.right - m.right) < 2 && r.left - m.left > 100 })()`); !right {
		b.fatalf("the Arabic heading is not aligned to the right")
	}
	checkScriptFonts(t, b)
	b.screenshot("home-ar", "the home page in Arabic, right to left, after a click on العربية in the switcher")

	// The next page, without ?lang=, is still Arabic: the cookie.
	b.follow(postSel + " a.permalink")
	if got := b.path(); got != postPath {
		b.fatalf("the permalink on the Arabic page opened %s, want %s", got, postPath)
	}
	if lang, dir := b.langDir(); lang != "ar" || dir != "rtl" {
		b.fatalf("the next page forgot the choice: <html lang=%q dir=%q>, want ar, rtl", lang, dir)
	}
	if got := b.text("#replies-heading"); !containsArabic(got) {
		b.fatalf("the Arabic post page's replies heading is %q", got)
	}
	// The post keeps its own direction: English inside an Arabic page.
	if got := pageEval[string](b, `getComputedStyle(document.querySelector(".post-main .content")).direction`); got != "ltr" {
		b.fatalf("an English post on the Arabic page is laid out %q, want ltr (dir=auto)", got)
	}
	b.screenshot("post-ar", "Alice's post page in Arabic, reached by a link without ?lang= (the cookie remembered the choice)")

	// A phone: a fresh browser, English, one column that fits the screen.
	p := newBrowser(t, phoneViewport)
	p.server = node.logs.String
	p.open(node.baseURL + "/")
	if lang, _ := p.langDir(); lang != "en" {
		p.fatalf("the phone, a new browser, got %q: the choice leaked across browsers", lang)
	}
	if got := p.text(postSel + " .content"); got != text {
		p.fatalf("phone home shows the post as %q", got)
	}
	if w := pageEval[[]float64](p, `[document.documentElement.scrollWidth, window.innerWidth]`); w[0] > w[1] {
		p.fatalf("the home page is %v CSS pixels wide on a %v-pixel phone: it scrolls sideways", w[0], w[1])
	}
	p.screenshot("home-phone", "the home page on a 390×844 phone (scale 2), English")
	p.follow(`.languages a[hreflang="ar"]`)
	if lang, dir := p.langDir(); lang != "ar" || dir != "rtl" {
		p.fatalf("phone, Arabic: <html lang=%q dir=%q>", lang, dir)
	}
	if w := pageEval[[]float64](p, `[document.documentElement.scrollWidth, window.innerWidth]`); w[0] > w[1] {
		p.fatalf("the Arabic home page is %v CSS pixels wide on a %v-pixel phone", w[0], w[1])
	}
	p.screenshot("home-phone-ar", "the home page on the phone in Arabic, right to left")
	t.Logf("TestBrowserSite took %s", time.Since(began).Round(time.Millisecond))
}

// checkScriptFonts checks, on a page with the language switcher, that the
// names of the languages in Arabic, Devanagari and Chinese are drawn by
// fonts that have those scripts, not by the Latin font with empty boxes:
// the fonts .ci/run installs (fonts-noto-core, fonts-noto-cjk).
func checkScriptFonts(t *testing.T, b *browser) {
	t.Helper()
	latin := platformFontNames(b.fontsFor(`.languages a[hreflang="en"]`))
	for _, code := range []string{"ar", "hi", "zh-Hans"} {
		fonts := b.fontsFor(fmt.Sprintf(`.languages a[hreflang=%q]`, code))
		names := platformFontNames(fonts)
		t.Logf("the switcher's %s is drawn in %s (English in %s)", code, names, latin)
		if len(fonts) == 0 {
			t.Errorf("no font drew the name of %s", code)
			continue
		}
		for _, f := range fonts {
			if f.GlyphCount > 0 && strings.Contains(latin, f.FamilyName) && !fontHasScript(f.FamilyName) {
				t.Errorf("the name of %s is drawn in %s, the Latin font: its letters are missing boxes; install %s",
					code, f.FamilyName, "fonts-noto-core fonts-noto-cjk")
			}
		}
	}
}

func fontHasScript(family string) bool {
	for _, s := range []string{"Arabic", "Devanagari", "CJK", "SC", "Naskh", "Kufi"} {
		if strings.Contains(family, s) {
			return true
		}
	}
	return false
}

func containsArabic(s string) bool {
	for _, r := range s {
		if r >= 0x0600 && r <= 0x06FF {
			return true
		}
	}
	return false
}

// cliSetPassword runs "chapterhouse member password NAME" with the password
// on stdin, as an operator would pipe it in.
func cliSetPassword(t *testing.T, n *testNode, name, password string) {
	t.Helper()
	var out, errOut bytes.Buffer
	root := newRootCommand(noEnv, &out, &errOut)
	root.SetIn(strings.NewReader(password + "\n"))
	root.SetArgs([]string{"member", "password", name, "--config", n.config})
	if err := root.ExecuteContext(context.Background()); err != nil {
		t.Fatalf("chapterhouse member password %s: %v\n%s", name, err, errOut.String())
	}
}

// signIn signs in through the header's link and the form, and checks the
// header then shows the member's menu.
func (b *browser) signIn(username, password string) {
	b.t.Helper()
	b.follow(`.site-nav a[href^="/login"]`)
	b.fill(`form[action="/login"]`, "username", username, "password", password)
	b.follow(`form[action="/login"] button[type="submit"]`)
	if !b.has(`.site-nav form[action="/logout"]`) || !b.has(fmt.Sprintf(`.site-nav a[href="/@%s"]`, username)) {
		b.fatalf("signed in as %s, the header shows no member's menu", username)
	}
}

// TestBrowserMembership is the membership flow of issue 4 in browsers: a
// visitor applies on /join; the admin (made with the CLI) signs in and
// approves the application on /admin; the new member signs in and posts; a
// second member replies; the first sees the unread count in the header and
// the reply on /notifications, then switches the interface to Arabic and
// reads it right to left.
func TestBrowserMembership(t *testing.T) {
	began := time.Now()
	lap := func(what string) { t.Helper(); t.Logf("%-40s at %s", what, time.Since(began).Round(time.Millisecond)) }
	node := newTestNode(t, "")
	const adminPassword, mariaPassword, bobPassword = "admin password for the test", "maria's garden password", "bob's long password"
	node.cli("member", "add", "admin", "--admin")
	cliSetPassword(t, node, "admin", adminPassword)
	node.cli("member", "add", "bob")
	cliSetPassword(t, node, "bob", bobPassword)
	lap("node, admin and bob ready")

	// A visitor applies.
	maria := newBrowser(t, desktopViewport)
	maria.who, maria.server = "maria", node.logs.String
	maria.open(node.baseURL + "/")
	maria.follow(`.site-nav a[href="/join"]`)
	if got := maria.path(); got != "/join" {
		maria.fatalf("the header's join link led to %s", got)
	}
	joinForm := `form[action="/join"]`
	maria.fill(joinForm, "name", "María García", "username", "maria", "email", "maria@example.org",
		"password", mariaPassword, "note", "I run the community garden on Elm Street.", "region", "Elm Street")
	maria.screenshot("join", "the application form on /join, filled in by María")
	maria.follow(joinForm + ` button[type="submit"]`)
	if got := maria.path(); got != "/join/sent" {
		maria.fatalf("after applying the visitor is on %s, want /join/sent", got)
	}
	maria.screenshot("join-sent", "the page after the application: it waits for an admin")
	// Not a member yet: signing in is refused until an admin approves.
	maria.follow(`.site-nav a[href^="/login"]`)
	maria.fill(`form[action="/login"]`, "username", "maria", "password", mariaPassword)
	if status := maria.click(`form[action="/login"] button[type="submit"]`); status != 403 {
		maria.fatalf("a pending applicant's sign-in answered %d, want 403", status)
	}
	if !maria.has(".error-summary") || maria.has(`.site-nav form[action="/logout"]`) {
		maria.fatalf("a pending applicant's sign-in shows no error, or signs her in")
	}
	lap("applied on /join")

	// The admin approves it on /admin.
	admin := maria.person("admin")
	admin.open(node.baseURL + "/")
	admin.signIn("admin", adminPassword)
	admin.follow(`.site-nav a[href="/admin"]`)
	card := `#applications-heading ~ .cards .card`
	if got := admin.text(card); !strings.Contains(got, "@maria") || !strings.Contains(got, "community garden") {
		admin.fatalf("the application on /admin reads %q", got)
	}
	admin.screenshot("admin", "the admin's /admin page with María's application to approve")
	admin.follow(card + ` button[value="approve"]`)
	if admin.has(card) {
		admin.fatalf("María's application is still listed after approving it")
	}
	admin.screenshot("admin-approved", "/admin after the approval: no application left")
	if list := node.cli("member", "list"); !regexp.MustCompile(`(?m)^maria\s+member\s+active\s*$`).MatchString(list) {
		t.Fatalf("after the approval, member list says:\n%s", list)
	}
	lap("approved on /admin")

	// María signs in and posts.
	maria.open(node.baseURL + "/")
	maria.signIn("maria", mariaPassword)
	maria.follow(`.site-nav a[href="/compose"]`)
	const postText = "Seed swap this Saturday at the Elm Street garden, bring your own jars."
	compose := `form.compose`
	maria.fill(compose, "text", postText)
	maria.screenshot("compose", "María writing her first post on /compose")
	maria.follow(compose + ` .actions button[type="submit"]:not([name])`)
	postPath := maria.path()
	if !regexp.MustCompile(`^/@maria/\d+$`).MatchString(postPath) {
		maria.fatalf("posting led to %s, want her post's page", postPath)
	}
	if got := maria.text(".post-main .content"); got != postText {
		maria.fatalf("her post's page shows %q", got)
	}
	maria.screenshot("member-post", "María's post on its page, with the reply form and the thread actions")
	lap("posted from /compose")

	// Bob replies from the post's page, reached from the home page.
	bob := maria.person("bob")
	bob.open(node.baseURL + "/")
	bob.signIn("bob", bobPassword)
	postID := postPath[strings.LastIndex(postPath, "/")+1:]
	bob.follow("#post-" + postID + " a.permalink")
	const replyText = "Count me in, I will bring tomato seeds."
	replyForm := `section.write form.compose`
	bob.fill(replyForm, "text", replyText)
	bob.follow(replyForm + ` .actions button[type="submit"]:not([name])`)
	if got := bob.text(".replies .post .content"); got != replyText {
		bob.fatalf("the reply shows as %q under the post", got)
	}
	bob.screenshot("reply", "Bob's reply under María's post")
	lap("bob replied")

	// María sees the notification: the count in the header, the reply on
	// /notifications.
	maria.open(node.baseURL + "/")
	badge := `.site-nav a[href="/notifications"] .unread`
	if got := maria.text(badge); !strings.Contains(got, "1") {
		maria.fatalf("the header's unread count reads %q, want 1", got)
	}
	maria.screenshot("home-unread", "María's home page with one unread notification in the header")
	maria.follow(`.site-nav a[href="/notifications"]`)
	item := `.notifications .notification`
	if got := maria.text(item); !strings.Contains(got, "@bob@") || !strings.Contains(got, replyText) {
		maria.fatalf("the notification reads %q, want Bob's reply", got)
	}
	if !maria.has(item + ".unread") {
		maria.fatalf("the new notification is not marked new")
	}
	if maria.has(badge) {
		maria.fatalf("the header still counts unread notifications on /notifications")
	}
	maria.screenshot("notifications", "María's /notifications with Bob's reply, marked new")
	lap("notification seen")

	// Arabic, right to left, for the member's pages too.
	maria.follow(`.languages a[hreflang="ar"]`)
	if lang, dir := maria.langDir(); lang != "ar" || dir != "rtl" {
		maria.fatalf("after choosing العربية: <html lang=%q dir=%q>", lang, dir)
	}
	if got := maria.text("main h1"); !containsArabic(got) {
		maria.fatalf("the notifications heading in Arabic reads %q", got)
	}
	if got := maria.text(`.site-nav a[href="/compose"]`); !containsArabic(got) {
		maria.fatalf("the header's compose link in Arabic reads %q", got)
	}
	if got := pageEval[string](maria, `getComputedStyle(document.querySelector(".site-nav")).direction`); got != "rtl" {
		maria.fatalf("the Arabic header is laid out %q", got)
	}
	maria.screenshot("notifications-ar", "María's /notifications in Arabic, right to left")
	maria.follow(`.site-nav a[href="/compose"]`)
	if lang, dir := maria.langDir(); lang != "ar" || dir != "rtl" {
		maria.fatalf("the compose page forgot Arabic: <html lang=%q dir=%q>", lang, dir)
	}
	maria.screenshot("compose-ar", "/compose in Arabic, right to left")
	lap("Arabic")
}
