package web

import (
	"io/fs"
	"log/slog"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"testing/fstest"
	"time"

	"github.com/nicksnyder/go-i18n/v2/i18n"
	"github.com/pelletier/go-toml/v2"
	"golang.org/x/net/html"

	"github.com/chapterhouse/chapterhouse/chapter"
)

// These tests are about the website's languages: which one a request
// gets, that every language file is complete, and how dates and numbers
// read. The pages' own tests and the helpers are in site_test.go.

// TestSiteArabic renders right to left, in Arabic, with Arabic digits.
func TestSiteArabic(t *testing.T) {
	e := newSiteEnv(t)
	e.member(t, "alice", "", "")
	e.member(t, "bob", "", "")
	e.member(t, "carol", "", "")
	p := e.post(t, "alice", chapter.NewPost{Text: "Hello"})
	for _, path := range []string{"/?lang=ar", "/@alice?lang=ar", postPath(p) + "?lang=ar", "/nothing?lang=ar"} {
		want := http.StatusOK
		if path == "/nothing?lang=ar" {
			want = http.StatusNotFound
		}
		res := e.page(t, path, want, nil)
		root := findNode(res.doc, func(n *html.Node) bool { return n.Data == "html" })
		if attr(root, "lang") != "ar" || attr(root, "dir") != "rtl" {
			t.Errorf("%s: <html lang=%q dir=%q>", path, attr(root, "lang"), attr(root, "dir"))
		}
		if res.header.Get("Content-Language") != "ar" {
			t.Errorf("%s: Content-Language %q", path, res.header.Get("Content-Language"))
		}
	}
	res := e.page(t, "/?lang=ar", http.StatusOK, nil)
	wantText(t, "/?lang=ar", res, "تخطَّ إلى المحتوى الرئيسي", "٣ أعضاء")
}

// TestSiteLanguageCookie remembers ?lang= in a cookie and honours it.
func TestSiteLanguageCookie(t *testing.T) {
	e := newSiteEnv(t)
	res := e.page(t, "/?lang=fr", http.StatusOK, map[string]string{"Accept-Language": "de"})
	root := findNode(res.doc, func(n *html.Node) bool { return n.Data == "html" })
	if attr(root, "lang") != "fr" {
		t.Fatalf("?lang=fr: lang %q", attr(root, "lang"))
	}
	cookies := (&http.Response{Header: res.header}).Cookies()
	if len(cookies) != 1 {
		t.Fatalf("cookies %v, want the lang cookie", cookies)
	}
	c := cookies[0]
	if c.Name != "lang" || c.Value != "fr" || !c.HttpOnly || !c.Secure || c.SameSite != http.SameSiteLaxMode ||
		c.Path != "/" || c.MaxAge <= 0 {
		t.Errorf("cookie %+v: want lang=fr, HttpOnly, Secure, SameSite=Lax, Path=/, lasting", c)
	}
	res = e.page(t, "/", http.StatusOK, map[string]string{"Cookie": "lang=fr", "Accept-Language": "de"})
	root = findNode(res.doc, func(n *html.Node) bool { return n.Data == "html" })
	if attr(root, "lang") != "fr" {
		t.Errorf("with the cookie: lang %q, want fr", attr(root, "lang"))
	}
	if len(res.header.Values("Set-Cookie")) != 0 {
		t.Errorf("a cookie set without ?lang=: %v", res.header.Values("Set-Cookie"))
	}
	wantText(t, "/", res, "Suivre depuis Mastodon")
	// The switcher links each language in itself, marked with its lang.
	links := findAll(res.doc, func(n *html.Node) bool { return n.Data == "a" && attr(n, "hreflang") != "" })
	if len(links) != len(e.site.i18n.langs) {
		t.Errorf("%d languages in the switcher, want %d", len(links), len(e.site.i18n.langs))
	}
	for _, a := range links {
		if attr(a, "lang") != attr(a, "hreflang") || attr(a, "href") != "?lang="+attr(a, "lang") {
			t.Errorf("switcher link %v", a.Attr)
		}
	}

	// On a plain-HTTP node (a demo on loopback) the cookie cannot be Secure.
	e = newSiteEnvURL(t, "http://127.0.0.1:8080")
	res = e.page(t, "/?lang=de", http.StatusOK, nil)
	if c := (&http.Response{Header: res.header}).Cookies(); len(c) != 1 || c[0].Secure || c[0].Value != "de" {
		t.Errorf("cookie on http: %v", c)
	}
}

// TestSiteAcceptLanguage picks the language from the browser's list.
func TestSiteAcceptLanguage(t *testing.T) {
	e := newSiteEnv(t)
	for header, want := range map[string]string{
		"de-DE,de;q=0.9,en;q=0.5": "de",
		"pt-BR":                   "pt",
		"xx,es;q=0.8":             "es",
		"el":                      "el",
		"tr-TR":                   "tr",
		"hi-IN,en;q=0.5":          "hi",
		"zh-CN":                   "zh-Hans",
		"it-CH":                   "it",
		"en-GB":                   "en",
	} {
		res := e.page(t, "/", http.StatusOK, map[string]string{"Accept-Language": header})
		root := findNode(res.doc, func(n *html.Node) bool { return n.Data == "html" })
		if got := attr(root, "lang"); got != want {
			t.Errorf("Accept-Language %q: lang %q, want %q", header, got, want)
		}
		if attr(root, "dir") != "ltr" {
			t.Errorf("Accept-Language %q: dir %q", header, attr(root, "dir"))
		}
	}
}

// TestSiteUnknownLanguage falls back to English, whichever way the
// unknown language was asked for, and remembers nothing.
func TestSiteUnknownLanguage(t *testing.T) {
	e := newSiteEnv(t)
	for _, h := range []map[string]string{
		{"Accept-Language": "xx-YY"},
		{"Cookie": "lang=xx"},
		{"Accept-Language": "*"},
		{"Accept-Language": ";;;garbage"},
		nil,
	} {
		for _, path := range []string{"/", "/?lang=xx", "/?lang=%3Cscript%3E"} {
			res := e.page(t, path, http.StatusOK, h)
			root := findNode(res.doc, func(n *html.Node) bool { return n.Data == "html" })
			if attr(root, "lang") != "en" || attr(root, "dir") != "ltr" {
				t.Errorf("%s %v: lang %q dir %q, want English", path, h, attr(root, "lang"), attr(root, "dir"))
			}
			wantText(t, path, res, "Follow from Mastodon")
			if c := res.header.Values("Set-Cookie"); len(c) != 0 {
				t.Errorf("%s %v: set %v", path, h, c)
			}
		}
	}
}

// TestSiteMissingTranslationFallsBack shows the English text, never a
// blank nor an id, for a message a language lacks.
func TestSiteMissingTranslationFallsBack(t *testing.T) {
	fsys := fstest.MapFS{
		"locales/active.en.toml": {Data: []byte("LanguageName = \"English\"\nHello = \"Hello\"\n" +
			"[Things]\none = \"{{.Count}} thing\"\nother = \"{{.Count}} things\"\n")},
		"locales/active.fr.toml": {Data: []byte("LanguageName = \"Français\"\nHello = \"\"\n")},
	}
	s, err := newSiteI18n(fsys, slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatal(err)
	}
	fr := s.byCode["fr"]
	if got := fr.T("Hello"); got != "Hello" {
		t.Errorf("missing French: %q, want the English", got)
	}
	if got, want := fr.T("Things", "Count", 1200), fr.Number(1200)+" things"; got != want || want == "1,200 things" {
		t.Errorf("missing French plural: %q, want %q: English words, French digits", got, want)
	}
	if got := fr.T("NoSuchMessage"); got != "NoSuchMessage" {
		t.Errorf("a message nowhere: %q, want its id", got)
	}
	if _, err := newSiteI18n(fstest.MapFS{"locales/active.fr.toml": {Data: []byte("LanguageName = \"Français\"\n")}},
		slog.New(slog.DiscardHandler)); err == nil {
		t.Error("no English file, no error")
	}
}

// siteTranslateRE finds the translate calls of the templates: {{.T "Id"
// ...}}, $.T too. siteTranslateAnyRE finds every call, to check that all
// name their message with a literal, so that the first finds them all.
var (
	siteTranslateRE    = regexp.MustCompile(`\.T\s+"([A-Za-z0-9_]+)"`)
	siteTranslateAnyRE = regexp.MustCompile(`\.T\s`)
	siteGoTranslateRE  = regexp.MustCompile(`\bT\(\s*"([A-Za-z0-9_]+)"`)
)

// TestSiteMessagesComplete checks that every message the templates use is
// in every language file, that every file has every English message, and
// that no message is empty, so no language shows an English fallback.
func TestSiteMessagesComplete(t *testing.T) {
	used := map[string]bool{}
	templates, err := fs.Glob(siteTemplateFS, "templates/*.html")
	if err != nil || len(templates) == 0 {
		t.Fatalf("templates: %v", err)
	}
	for _, name := range templates {
		b, err := fs.ReadFile(siteTemplateFS, name)
		if err != nil {
			t.Fatal(err)
		}
		if all, lit := len(siteTranslateAnyRE.FindAll(b, -1)), len(siteTranslateRE.FindAll(b, -1)); all != lit {
			t.Errorf("%s: %d translate calls, %d with a literal id: name every message literally", name, all, lit)
		}
		for _, m := range siteTranslateRE.FindAllSubmatch(b, -1) {
			used[string(m[1])] = true
		}
	}
	if len(used) < 20 {
		t.Fatalf("only %d message ids found in the templates: is the pattern right?", len(used))
	}
	// The messages the Go code asks for by name: T("Id" …) calls, found
	// in the source, and the ids it keeps in variables, listed here.
	sources, err := filepath.Glob("site*.go")
	if err != nil {
		t.Fatal(err)
	}
	goCalls := 0
	for _, name := range sources {
		if strings.HasSuffix(name, "_test.go") {
			continue
		}
		b, err := os.ReadFile(name)
		if err != nil {
			t.Fatal(err)
		}
		for _, m := range siteGoTranslateRE.FindAllSubmatch(b, -1) {
			used[string(m[1])] = true
			goCalls++
		}
	}
	if goCalls == 0 {
		t.Error("no T(\"Id\") call found in site*.go: is the pattern right?")
	}
	for _, id := range levelMessages {
		used[id] = true
	}
	for _, id := range []string{"LanguageName", "NotFoundTitle", "NotFoundText",
		"GoneTitle", "GoneText", "BadRequestTitle", "BadRequestText", "ErrorTitle", "ErrorText"} {
		used[id] = true
	}
	for m := 1; m <= 12; m++ {
		used["Month"+strconv.Itoa(m)] = true
	}

	files, err := fs.Glob(siteLocaleFS, "locales/active.*.toml")
	if err != nil {
		t.Fatal(err)
	}
	if len(files) < 11 {
		t.Errorf("%d languages, want at least 11", len(files))
	}
	parsed := map[string]map[string]any{}
	for _, f := range files {
		b, err := fs.ReadFile(siteLocaleFS, f)
		if err != nil {
			t.Fatal(err)
		}
		var m map[string]any
		if err := toml.Unmarshal(b, &m); err != nil {
			t.Fatalf("%s: %v", f, err)
		}
		parsed[f] = m
	}
	en := parsed["locales/active.en.toml"]
	if en == nil {
		t.Fatal("no English file")
	}
	for id := range used {
		if _, ok := en[id]; !ok {
			t.Errorf("message %q is used but not in the English file", id)
		}
	}
	for f, m := range parsed {
		for id := range used {
			if _, ok := m[id]; !ok {
				t.Errorf("%s: no message %q", f, id)
			}
		}
		for id := range en {
			if _, ok := m[id]; !ok {
				t.Errorf("%s: no message %q (in the English file)", f, id)
			}
		}
		for id, v := range m {
			if _, ok := en[id]; !ok {
				t.Errorf("%s: message %q is not in the English file", f, id)
			}
			switch v := v.(type) {
			case string:
				if strings.TrimSpace(v) == "" {
					t.Errorf("%s: message %q is empty", f, id)
				}
			case map[string]any:
				for form, s := range v {
					if s, _ := s.(string); strings.TrimSpace(s) == "" {
						t.Errorf("%s: message %q, form %q is empty", f, id, form)
					}
				}
			default:
				t.Errorf("%s: message %q is a %T", f, id, v)
			}
		}
	}

	// Every language has every plural form its rules need, and keeps the
	// placeholders of the English.
	site := newTestSite(t)
	for _, l := range site.i18n.langs {
		for _, n := range []int{0, 1, 2, 3, 5, 11, 21, 100, 101, 1000000} {
			got, err := l.loc.Localize(&i18n.LocalizeConfig{MessageID: "MemberCount", PluralCount: n,
				TemplateData: map[string]any{"Count": l.Number(n)}})
			// Some languages spell the smallest counts out ("عضوان").
			if err != nil || strings.TrimSpace(got) == "" || n >= 3 && !strings.Contains(got, l.Number(n)) {
				t.Errorf("%s: MemberCount %d = %q, %v", l.Code, n, got, err)
			}
		}
		for id, src := range map[string]string{"PostTitle": "Name", "FeedTitle": "Name"} {
			if got := l.T(id, src, "@@X@@"); !strings.Contains(got, "@@X@@") {
				t.Errorf("%s: %s = %q drops {{.%s}}", l.Code, id, got, src)
			}
		}
		date := l.Date(time.Date(2024, time.March, 5, 14, 7, 0, 0, time.UTC))
		for _, part := range []string{l.localDigits("2024"), l.localDigits("5"), l.localDigits("14:07")} {
			if !strings.Contains(date, part) {
				t.Errorf("%s: date %q lacks %q", l.Code, date, part)
			}
		}
	}
}

// TestSiteEveryLanguage renders every page in every language: each is
// well-formed, in its language and direction, with nothing untranslated.
func TestSiteEveryLanguage(t *testing.T) {
	e := newSiteEnv(t)
	e.member(t, "alice", "Alice", "")
	p := e.post(t, "alice", chapter.NewPost{Text: "Hello"})
	e.post(t, "alice", chapter.NewPost{Text: "Reply", InReplyToID: p.ID, Summary: "CW"})
	for _, l := range e.site.i18n.langs {
		for path, status := range map[string]int{"/": 200, "/@alice": 200, "/@chapter": 200, postPath(p): 200,
			"/nothing": 404, "/?max_id=x": 400} {
			res := e.page(t, path, status, map[string]string{"Cookie": "lang=" + l.Code})
			root := findNode(res.doc, func(n *html.Node) bool { return n.Data == "html" })
			if attr(root, "lang") != l.Code || attr(root, "dir") != l.Dir {
				t.Errorf("%s in %s: lang %q dir %q", path, l.Code, attr(root, "lang"), attr(root, "dir"))
			}
		}
	}
}

// TestSiteDates writes dates the way each language does.
func TestSiteDates(t *testing.T) {
	site := newTestSite(t)
	at := time.Date(2024, time.March, 5, 14, 7, 0, 0, time.FixedZone("CET", 3600))
	for code, want := range map[string]string{
		"en":      "March 5, 2024, 13:07 UTC",
		"de":      "5. März 2024, 13:07 UTC",
		"fr":      "5 mars 2024 à 13:07 UTC",
		"es":      "5 de marzo de 2024, 13:07 UTC",
		"ar":      "٥ مارس ٢٠٢٤، ١٣:٠٧ UTC",
		"zh-Hans": "2024年3月5日 13:07 UTC",
	} {
		if got := site.i18n.byCode[strings.ToLower(code)].Date(at); got != want {
			t.Errorf("%s: %q, want %q", code, got, want)
		}
	}
	for code, want := range map[string]string{"en": "1,234", "de": "1.234", "fr": "1\u00a0234", "ar": "١٬٢٣٤", "hi": "12,34,567"} {
		n := 1234
		if code == "hi" {
			n = 1234567
		}
		if got := site.i18n.byCode[code].Number(n); got != want {
			t.Errorf("%s: %d is %q, want %q", code, n, got, want)
		}
	}
}

func newTestSite(t *testing.T) *Site {
	t.Helper()
	svc := chapter.NewService(chapter.Options{Publisher: &testPublisher{}, Node: chapter.Node{Handle: "chapter"}})
	s, err := NewSite(SiteOptions{Service: svc, PublicURL: testPublicURL})
	if err != nil {
		t.Fatal(err)
	}
	return s
}
