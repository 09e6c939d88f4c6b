package web

import (
	"cmp"
	"embed"
	"fmt"
	"io/fs"
	"log/slog"
	"net/http"
	"slices"
	"strings"
	"time"

	"github.com/nicksnyder/go-i18n/v2/i18n"
	"github.com/pelletier/go-toml/v2"
	"golang.org/x/text/language"
	"golang.org/x/text/message"
	"golang.org/x/text/number"
)

// This file is the website's languages: the message files in locales/ (one
// active.TAG.toml per language, read by go-i18n), how a request's language
// is chosen, and how dates and numbers are written in each language.
//
// Adding a language is adding a file: its LanguageName message labels it in
// the language switcher, and TestSiteMessagesComplete tells which messages
// it still lacks. A message missing from a file falls back to English.

// siteLocaleFS holds the message files, compiled into the binary.
//
//go:embed locales/*.toml
var siteLocaleFS embed.FS

// langCookie remembers the language a visitor chose with ?lang=.
const langCookie = "lang"

// langCookieMaxAge is how long the choice is remembered: a year.
const langCookieMaxAge = 365 * 24 * 60 * 60

// siteFallback is the language of last resort: every message exists in it.
var siteFallback = language.English

// rtlLanguages are the scripts written right to left, by base language.
var rtlLanguages = map[string]bool{"ar": true, "fa": true, "he": true, "ur": true}

// siteI18n is every language the website speaks.
type siteI18n struct {
	bundle  *i18n.Bundle
	langs   []*siteLang // the switcher's order: by tag
	byCode  map[string]*siteLang
	tags    []language.Tag // the matcher's order: English first
	matcher language.Matcher
	english *siteLang
}

// siteLang is one language of the website, shared by all the requests in
// it: the localizer, the number printer and the page direction. Page views
// embed it, so templates translate with {{.T "MessageID"}} at every level.
type siteLang struct {
	Tag    language.Tag
	Code   string // as in ?lang= and the cookie: "ar", "zh-Hans"
	Name   string // in the language itself: "العربية"
	Dir    string // "ltr" or "rtl"
	loc    *i18n.Localizer
	print  *message.Printer
	digits [10]string // 0 to 9 as the language writes them
	log    *slog.Logger
}

// newSiteI18n loads every message file in fsys (a directory "locales").
func newSiteI18n(fsys fs.FS, log *slog.Logger) (*siteI18n, error) {
	bundle := i18n.NewBundle(siteFallback)
	bundle.RegisterUnmarshalFunc("toml", toml.Unmarshal)
	files, err := fs.Glob(fsys, "locales/active.*.toml")
	if err != nil {
		return nil, fmt.Errorf("site locales: %w", err)
	}
	slices.Sort(files)
	var tags []language.Tag
	for _, f := range files {
		mf, err := bundle.LoadMessageFileFS(fsys, f)
		if err != nil {
			return nil, fmt.Errorf("site locale %s: %w", f, err)
		}
		tags = append(tags, mf.Tag)
	}
	s := &siteI18n{bundle: bundle, byCode: map[string]*siteLang{}}
	for _, tag := range tags {
		l := newSiteLang(bundle, tag, log)
		if l.Name == "" {
			return nil, fmt.Errorf("site locale %s: no LanguageName message", tag)
		}
		s.langs = append(s.langs, l)
		s.byCode[strings.ToLower(l.Code)] = l
		if tag == siteFallback {
			s.english = l
		}
	}
	if s.english == nil {
		return nil, fmt.Errorf("site locales: no %s file, the language every other falls back to", siteFallback)
	}
	s.tags = append(s.tags, siteFallback) // the matcher's default
	for _, l := range s.langs {
		if l != s.english {
			s.tags = append(s.tags, l.Tag)
		}
	}
	s.matcher = language.NewMatcher(s.tags)
	return s, nil
}

func newSiteLang(bundle *i18n.Bundle, tag language.Tag, log *slog.Logger) *siteLang {
	base, _ := tag.Base()
	l := &siteLang{
		Tag: tag, Code: tag.String(), Dir: "ltr",
		loc: i18n.NewLocalizer(bundle, tag.String()), print: message.NewPrinter(tag), log: log,
	}
	if rtlLanguages[base.String()] {
		l.Dir = "rtl"
	}
	for d := range l.digits {
		l.digits[d] = l.print.Sprint(number.Decimal(d))
	}
	// Only the language's own file counts: no English fallback for its name.
	if name, t, err := l.loc.LocalizeWithTag(&i18n.LocalizeConfig{MessageID: "LanguageName"}); err == nil && t == tag {
		l.Name = name
	}
	return l
}

// T translates a message. args are name/value pairs for the message's
// template; a value named Count also picks the plural form and is written
// as a number of the language. A message missing in the language falls back
// to English, and one missing everywhere shows its id: never a blank.
func (l *siteLang) T(id string, args ...any) string {
	lc := &i18n.LocalizeConfig{MessageID: id}
	if len(args) > 0 {
		data := make(map[string]any, len(args)/2)
		for i := 0; i+1 < len(args); i += 2 {
			k, _ := args[i].(string)
			v := args[i+1]
			if n, ok := v.(int); ok && k == "Count" {
				lc.PluralCount, v = n, l.Number(n)
			}
			data[k] = v
		}
		lc.TemplateData = data
	}
	s, err := l.loc.Localize(lc)
	if err != nil {
		l.log.Debug("site translation missing", "lang", l.Code, "message_id", id, "error", err)
	}
	if s == "" {
		return id
	}
	return s
}

// Number writes n with the language's digits and grouping: 1,234 in
// English, 1.234 in German, ١٬٢٣٤ in Arabic.
func (l *siteLang) Number(n int) string { return l.print.Sprintf("%d", n) }

// localDigits rewrites the ASCII digits of s with the language's digits.
func (l *siteLang) localDigits(s string) string {
	if l.digits[0] == "0" {
		return s
	}
	var b strings.Builder
	for _, r := range s {
		if r >= '0' && r <= '9' {
			b.WriteString(l.digits[r-'0'])
		} else {
			b.WriteRune(r)
		}
	}
	return b.String()
}

// Date writes an instant as people of the language write it, in UTC (a
// server-rendered page does not know the reader's zone; the <time> element
// beside it carries the exact instant). The order of the parts and the
// month names are messages (DateTime, Month1 to Month12), so each language
// file says how its dates read.
func (l *siteLang) Date(t time.Time) string {
	t = t.UTC()
	return l.T("DateTime",
		"Day", l.localDigits(t.Format("2")),
		"Month", l.T(fmt.Sprintf("Month%d", int(t.Month()))),
		"Year", l.localDigits(t.Format("2006")),
		"Time", l.localDigits(t.Format("15:04")))
}

// langFor chooses the language of a request: ?lang= first (remembered in
// a cookie), then the cookie, then the Accept-Language header; English
// when none of them names a language the site speaks.
func (s *siteI18n) langFor(w http.ResponseWriter, r *http.Request, secure bool) *siteLang {
	if q := r.URL.Query().Get("lang"); q != "" {
		if l := s.lookup(q); l != nil {
			http.SetCookie(w, &http.Cookie{
				Name: langCookie, Value: l.Code, Path: "/", MaxAge: langCookieMaxAge,
				Secure: secure, HttpOnly: true, SameSite: http.SameSiteLaxMode,
			})
			return l
		}
	}
	if c, err := r.Cookie(langCookie); err == nil {
		if l := s.byCode[strings.ToLower(c.Value)]; l != nil {
			return l
		}
	}
	if tags := acceptLanguages(r.Header.Get("Accept-Language")); len(tags) > 0 {
		if _, i, conf := s.matcher.Match(tags...); conf != language.No {
			return s.byTag(s.tags[i])
		}
	}
	return s.english
}

// acceptLanguages reads an Accept-Language header, best first. Unlike
// language.ParseAcceptLanguage, which rejects a whole header for one tag it
// does not know, it skips only the entries it cannot read, so "xx, es"
// still means Spanish.
func acceptLanguages(h string) []language.Tag {
	type weighted struct {
		tag language.Tag
		q   float32
	}
	var list []weighted
	for part := range strings.SplitSeq(h, ",") {
		tags, qs, err := language.ParseAcceptLanguage(part)
		if err != nil || len(tags) != 1 {
			continue
		}
		list = append(list, weighted{tags[0], qs[0]})
	}
	slices.SortStableFunc(list, func(a, b weighted) int { return cmp.Compare(b.q, a.q) })
	tags := make([]language.Tag, len(list))
	for i, w := range list {
		tags[i] = w.tag
	}
	return tags
}

// lookup finds the language a ?lang= value names: a code the site uses
// ("pt", "zh-Hans") or a tag close enough to one ("pt-BR", "zh").
func (s *siteI18n) lookup(code string) *siteLang {
	if l := s.byCode[strings.ToLower(code)]; l != nil {
		return l
	}
	tag, err := language.Parse(code)
	if err != nil {
		return nil
	}
	if _, i, conf := s.matcher.Match(tag); conf >= language.High {
		return s.byTag(s.tags[i])
	}
	return nil
}

func (s *siteI18n) byTag(tag language.Tag) *siteLang {
	for _, l := range s.langs {
		if l.Tag == tag {
			return l
		}
	}
	return s.english
}

// langLink is one entry of the language switcher.
type langLink struct {
	Code, Name, Dir, URL string
	Current              bool
}

// switcher lists every language with a link to the same page in it.
func (s *siteI18n) switcher(r *http.Request, current *siteLang) []langLink {
	links := make([]langLink, 0, len(s.langs))
	for _, l := range s.langs {
		q := r.URL.Query()
		q.Set("lang", l.Code)
		// A query-only reference: the same page, whatever its path.
		links = append(links, langLink{Code: l.Code, Name: l.Name, Dir: l.Dir,
			URL: "?" + q.Encode(), Current: l == current})
	}
	return links
}
