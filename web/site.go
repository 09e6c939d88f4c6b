package web

import (
	"bytes"
	"embed"
	"errors"
	"fmt"
	"html/template"
	"io/fs"
	"log/slog"
	"mime"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strings"

	"github.com/gorilla/mux"
	"github.com/microcosm-cc/bluemonday"
	"github.com/yuin/goldmark"

	"github.com/chapterhouse/chapterhouse/chapter"
)

// This file is the frame of the node's website: the Site, its routes, how
// a page is rendered and how errors become pages. The pages themselves are
// in site_pages.go, the languages in site_i18n.go, the markup in
// templates/ and the style sheet and images in static/. Members' forms
// are in site_auth.go (sessions, form tokens, signing in and joining),
// site_member.go (writing, replying, threads, notifications, finding
// members), site_settings.go (profile, avatar, media) and site_admin.go.

// siteTemplateFS holds the page templates, compiled into the binary.
//
//go:embed templates/*.html
var siteTemplateFS embed.FS

// siteStaticFS holds the style sheet and images served under /static/.
//
//go:embed static
var siteStaticFS embed.FS

// contentSecurityPolicy allows nothing but the site's own style sheet and
// images: the pages need no script, and remote images would tell other
// servers who reads what.
const contentSecurityPolicy = "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self'; " +
	"base-uri 'none'; form-action 'self'; frame-ancestors 'none'"

// Site serves the node's website: the public home page, profiles and post
// pages, and for members signing in, joining, writing, notifications,
// settings and moderation, all server-rendered forms that work without
// script, in the visitor's language. It acts through chapter.Service like
// every other door into the node. Build it with NewSite and mount it with
// Routes.
type Site struct {
	svc       *chapter.Service
	publicURL string // no trailing slash; "" makes links relative
	host      string // the domain part of handles
	secure    bool   // the public URL is https: cookies are Secure
	log       *slog.Logger
	i18n      *siteI18n
	pages     map[string]*template.Template
	sanitizer *bluemonday.Policy
	markdown  goldmark.Markdown
	static    fs.FS
	// mediaDir holds uploaded avatars, served under /media/; "" turns
	// uploads off.
	mediaDir string
	// logins counts failed sign-ins per address and per username, joins
	// applications per address.
	logins, joins *failureLimiter
	// searches counts visitors' place searches per address: each one asks every
	// node below this one, so an unbounded stream would load the tree.
	searches *failureLimiter
	// kdf bounds the password hashings running at once: each takes
	// 19 MiB, so a burst of sign-ins cannot exhaust memory.
	kdf chan struct{}
	// origins refuses cross-origin form posts by the browser's own
	// headers, beside the form tokens.
	origins *http.CrossOriginProtection
}

// SiteOptions configure a Site. Service is required.
type SiteOptions struct {
	Service *chapter.Service
	// PublicURL is the node's base URL, e.g. https://chapter.example:
	// canonical links, Open Graph URLs and handles are built on it, and an
	// https URL makes the language cookie Secure.
	PublicURL string
	// Logger receives a line per failed page; nil discards.
	Logger *slog.Logger
	// MediaDir is where uploaded avatars are stored (a directory under
	// the node's data directory, created if missing) and served from
	// under /media/; empty turns avatar uploads off.
	MediaDir string
}

// NewSite parses the templates and loads the languages, so that a broken
// template or message file stops the node at start rather than on a page.
func NewSite(o SiteOptions) (*Site, error) {
	if o.Service == nil {
		return nil, errors.New("site: no service")
	}
	log := o.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	s := &Site{svc: o.Service, publicURL: strings.TrimRight(o.PublicURL, "/"), log: log,
		host: o.Service.Node().Host, pages: map[string]*template.Template{}, mediaDir: o.MediaDir,
		logins:   newFailureLimiter(loginFailures, loginWindow, o.Service.Clock),
		joins:    newFailureLimiter(joinsPerAddress, joinWindow, o.Service.Clock),
		searches: newFailureLimiter(searchesPerAddress, searchWindow, o.Service.Clock),
		kdf:      make(chan struct{}, kdfConcurrency), origins: http.NewCrossOriginProtection()}
	if s.publicURL != "" {
		u, err := url.Parse(s.publicURL)
		if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
			return nil, fmt.Errorf("site: public URL %q: want http(s)://host", o.PublicURL)
		}
		s.secure = u.Scheme == "https"
		if s.host == "" {
			s.host = u.Host
		}
	}
	var err error
	if s.i18n, err = newSiteI18n(siteLocaleFS, log); err != nil {
		return nil, err
	}
	base, err := template.New("layout.html").ParseFS(siteTemplateFS, "templates/layout.html", "templates/partials.html")
	if err != nil {
		return nil, fmt.Errorf("site templates: %w", err)
	}
	// Each page is drawn inside layout.html with partials.html.
	for _, name := range []string{"home", "profile", "post", "error", "login", "join", "compose", "edit",
		"delete", "notifications", "settings", "find", "admin", "audit"} {
		t, err := base.Clone()
		if err == nil {
			t, err = t.ParseFS(siteTemplateFS, "templates/"+name+".html")
		}
		if err != nil {
			return nil, fmt.Errorf("site template %s: %w", name, err)
		}
		s.pages[name] = t
	}
	if s.static, err = fs.Sub(siteStaticFS, "static"); err != nil {
		return nil, fmt.Errorf("site static files: %w", err)
	}
	s.sanitizer = newSiteSanitizer()
	s.markdown = newSiteMarkdown()
	if s.mediaDir != "" {
		if err := os.MkdirAll(filepath.Join(s.mediaDir, avatarDir), 0o755); err != nil {
			return nil, fmt.Errorf("site media directory: %w", err)
		}
	}
	return s, nil
}

// newSiteSanitizer is the policy every stored HTML fragment (posts, bios)
// passes again on its way to a page. Federation sanitizes remote HTML before
// storing it; this second pass keeps a page safe whatever reached the store.
// It keeps what Mastodon's markup needs: links, paragraphs, the classes of
// mentions and hashtags.
func newSiteSanitizer() *bluemonday.Policy {
	p := bluemonday.UGCPolicy()
	p.AllowAttrs("class").Matching(bluemonday.SpaceSeparatedTokens).OnElements("a", "span")
	p.AllowAttrs("translate").OnElements("span")
	p.RequireNoFollowOnLinks(true)
	p.RequireNoReferrerOnLinks(true)
	p.AddTargetBlankToFullyQualifiedLinks(true)
	return p
}

// Routes registers every page of the website on r, all here so the whole
// site can be found with grep: the node's home, profiles at /@NAME and post
// pages at /@NAME/ID (the URLs federation.URLs gives as Profile and
// PostPage), and the static files. Unless r already has one, it also makes
// the site's 404 page the answer for any path no route claims.
//
// Forms post to the page that shows them. Every POST carries a form token
// (site_auth.go); pages for members send visitors to /login first, and
// /admin is for admins only.
func (s *Site) Routes(r *mux.Router) {
	get := []string{http.MethodGet, http.MethodHead}
	post := http.MethodPost
	r.Handle("/", s.page(s.home)).Methods(get...)
	r.Handle("/@{username}", s.page(s.profile)).Methods(get...)
	r.Handle("/@{username}/{id:[0-9]+}", s.page(s.postPage)).Methods(get...)
	r.PathPrefix("/static/").Handler(s.asset(s.staticFile)).Methods(get...)

	// Signing in and joining (site_auth.go).
	r.Handle("/login", s.page(s.loginForm)).Methods(get...)
	r.Handle("/login", s.page(s.login)).Methods(post)
	r.Handle("/logout", s.page(s.logout)).Methods(post)
	r.Handle("/join", s.page(s.joinForm)).Methods(get...)
	r.Handle("/join", s.page(s.join)).Methods(post)
	r.Handle("/join/sent", s.page(s.joinSent)).Methods(get...)

	// Members (site_member.go, site_settings.go).
	r.Handle("/compose", s.page(s.signedIn(s.composeForm))).Methods(get...)
	r.Handle("/compose", s.page(s.form(s.compose))).Methods(post)
	r.Handle("/@{username}/{id:[0-9]+}/reply", s.page(s.form(s.reply))).Methods(post)
	r.Handle("/@{username}/{id:[0-9]+}/edit", s.page(s.signedIn(s.editForm))).Methods(get...)
	r.Handle("/@{username}/{id:[0-9]+}/edit", s.page(s.form(s.edit))).Methods(post)
	r.Handle("/@{username}/{id:[0-9]+}/delete", s.page(s.signedIn(s.deleteForm))).Methods(get...)
	r.Handle("/@{username}/{id:[0-9]+}/delete", s.page(s.form(s.deletePost))).Methods(post)
	r.Handle("/@{username}/{id:[0-9]+}/follow", s.page(s.form(s.followThread))).Methods(post)
	r.Handle("/notifications", s.page(s.signedIn(s.notifications))).Methods(get...)
	r.Handle("/find", s.page(s.find)).Methods(get...)
	r.Handle("/settings/profile", s.page(s.signedIn(s.settingsForm))).Methods(get...)
	r.Handle("/settings/profile", s.page(s.form(s.saveProfile))).Methods(post)
	r.Handle("/settings/avatar", s.page(s.signedIn(s.uploadAvatar))).Methods(post)
	r.PathPrefix("/media/").Handler(s.asset(s.mediaFile)).Methods(get...)

	// Admins (site_admin.go).
	r.Handle("/admin", s.page(s.admin(s.adminPage))).Methods(get...)
	r.Handle("/admin/applications", s.page(s.admin(s.form(s.decideApplication)))).Methods(post)
	r.Handle("/admin/children", s.page(s.admin(s.form(s.approveChild)))).Methods(post)
	r.Handle("/admin/members", s.page(s.admin(s.form(s.moderateMember)))).Methods(post)
	r.Handle("/admin/posts", s.page(s.admin(s.form(s.removePost)))).Methods(post)
	r.Handle("/admin/domains", s.page(s.admin(s.form(s.blockDomain)))).Methods(post)
	r.Handle("/admin/audit", s.page(s.admin(s.auditPage))).Methods(get...)
	if r.NotFoundHandler == nil {
		r.NotFoundHandler = s.page(s.notFound)
	}
}

// sitePage is what every page shows around its content. Page views embed
// it, and through it the language, so templates reach {{.T}} everywhere.
type sitePage struct {
	*siteLang
	Title       string // the page's own title; the layout adds the site's name
	Description string
	Canonical   string
	// ActivityJSON is the ActivityPub id of what the page shows: a
	// fediverse server given the page's URL finds the object through it.
	ActivityJSON string
	OG           *openGraph
	SiteName     string
	HomeURL      string
	FeedURL      string
	Langs        []langLink
	// Me is the signed-in member, nil for a visitor; Unread counts their
	// unread notifications, shown in the header of every page.
	Me     *memberView
	Unread int
	// CSRF is the form token every form of the page carries.
	CSRF string
	// Nav names the header link of the current page: "compose",
	// "notifications", "find", "settings", "admin", "login", "join".
	Nav string
	// Notice is a line telling what the last form did ("Saved").
	Notice  string
	me      *chapter.Account // the signed-in member
	session string           // their session token
}

// memberView is the signed-in member as the header shows them.
type memberView struct {
	Name, Username string
	Admin          bool
}

// openGraph is what link previews (Mastodon's cards, chat apps) show.
type openGraph struct {
	Title, Description, URL, Type, Image string
}

// pageFunc serves one page in the language chosen for the request, or
// returns the error that becomes the error page.
type pageFunc func(w http.ResponseWriter, r *http.Request, pg *sitePage) error

// page runs a pageFunc with the request's language, the signed-in member
// and the common parts of the page ready, and renders its error, if any,
// as a page.
func (s *Site) page(f pageFunc) http.Handler { return s.handler(f, true) }

// asset is page for files (style sheet, images, avatars): no session is
// looked up for them, so a member's page does not cost a query per image.
func (s *Site) asset(f pageFunc) http.Handler { return s.handler(f, false) }

func (s *Site) handler(f pageFunc, session bool) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		l := s.i18n.langFor(w, r, s.secure)
		node := s.svc.Node()
		pg := &sitePage{siteLang: l, SiteName: node.Name, HomeURL: "/",
			FeedURL: "/feed.atom", Langs: s.i18n.switcher(r, l)}
		if pg.SiteName == "" {
			pg.SiteName = node.Handle
		}
		if session {
			if err := s.session(w, r, pg); err != nil {
				s.errorPage(w, r, pg, err)
				return
			}
		}
		if err := f(w, r, pg); err != nil {
			s.errorPage(w, r, pg, err)
		}
	})
}

// render draws a page into a buffer first, so that a template error
// becomes the error page rather than half a page.
func (s *Site) render(w http.ResponseWriter, pg *sitePage, name string, status int, view any) error {
	var buf bytes.Buffer
	if err := s.pages[name].ExecuteTemplate(&buf, "layout", view); err != nil {
		return fmt.Errorf("render %s page: %w", name, err)
	}
	h := w.Header()
	h.Set("Content-Type", "text/html; charset=utf-8")
	h.Set("Content-Security-Policy", contentSecurityPolicy)
	h.Set("X-Content-Type-Options", "nosniff")
	h.Set("Referrer-Policy", "same-origin")
	// The language comes from the cookie or Accept-Language, and Accept
	// sends fediverse servers to the ActivityPub document.
	h.Set("Vary", "Accept, Accept-Language, Cookie")
	h.Set("Content-Language", pg.Code)
	if pg.Me != nil || pg.CSRF != "" {
		// A member's page, or one with a form token: for them alone.
		h.Set("Cache-Control", "private, no-store")
	}
	w.WriteHeader(status)
	_, _ = w.Write(buf.Bytes())
	return nil
}

// errorView is the error page.
type errorView struct {
	*sitePage
	Heading, Text string
}

// errorPage is the one place where errors become pages: the visitor gets a
// status and a message in their language, the log the full error.
func (s *Site) errorPage(w http.ResponseWriter, r *http.Request, pg *sitePage, err error) {
	status, title, text := http.StatusInternalServerError, "ErrorTitle", "ErrorText"
	var se *siteError
	var tooLarge *http.MaxBytesError
	switch {
	case errors.As(err, &se):
		status, title, text = se.status, se.title, se.text
	case errors.As(err, &tooLarge):
		status, title, text = http.StatusRequestEntityTooLarge, "TooLargeTitle", "TooLargeText"
	case errors.Is(err, chapter.ErrForbidden):
		status, title, text = http.StatusForbidden, "ForbiddenTitle", "ForbiddenText"
	case errors.Is(err, chapter.ErrConflict):
		status, title, text = http.StatusConflict, "ConflictTitle", "ConflictText"
	case errors.Is(err, chapter.ErrNotFound):
		status, title, text = http.StatusNotFound, "NotFoundTitle", "NotFoundText"
	case errors.Is(err, chapter.ErrGone):
		status, title, text = http.StatusGone, "GoneTitle", "GoneText"
	case errors.Is(err, chapter.ErrInvalid):
		status, title, text = http.StatusBadRequest, "BadRequestTitle", "BadRequestText"
	}
	level := slog.LevelDebug
	if status >= http.StatusInternalServerError {
		level = slog.LevelError
	}
	s.log.LogAttrs(r.Context(), level, "site request failed",
		slog.String("method", r.Method), slog.String("path", r.URL.Path),
		slog.Int("status", status), slog.String("error", err.Error()))
	pg.Title, pg.OG, pg.Canonical, pg.ActivityJSON, pg.Description = pg.T(title), nil, "", "", ""
	view := &errorView{sitePage: pg, Heading: pg.T(title), Text: pg.T(text)}
	if err := s.render(w, pg, "error", status, view); err != nil {
		s.log.Error("site error page failed", "path", r.URL.Path, "error", err)
		http.Error(w, http.StatusText(status), status)
	}
}

// notFound is the page for any path nothing else serves.
func (s *Site) notFound(_ http.ResponseWriter, r *http.Request, _ *sitePage) error {
	return fmt.Errorf("no page at %q: %w", r.URL.Path, chapter.ErrNotFound)
}

// staticFile serves /static/NAME from the embedded files, with the site's
// 404 page for anything else (directories included: no listings).
func (s *Site) staticFile(w http.ResponseWriter, r *http.Request, _ *sitePage) error {
	name := strings.TrimPrefix(r.URL.Path, "/static/")
	if !fs.ValidPath(name) || name == "." {
		return fmt.Errorf("static %q: %w", name, chapter.ErrNotFound)
	}
	if fi, err := fs.Stat(s.static, name); err != nil || fi.IsDir() {
		return fmt.Errorf("static %q: %w", name, chapter.ErrNotFound)
	}
	w.Header().Set("Cache-Control", "public, max-age=86400")
	w.Header().Set("X-Content-Type-Options", "nosniff")
	http.ServeFileFS(w, r, s.static, name)
	return nil
}

// url is an absolute URL on the node for a path starting with "/".
func (s *Site) url(path string) string { return s.publicURL + path }

// wantsActivity reports whether the request asks for ActivityPub JSON: a
// fediverse server looking up a page's URL, which is sent to the object's
// id (served by package federation), as Mastodon does.
func wantsActivity(r *http.Request) bool {
	for part := range strings.SplitSeq(r.Header.Get("Accept"), ",") {
		mt, params, err := mime.ParseMediaType(strings.TrimSpace(part))
		if err != nil {
			continue
		}
		if mt == "application/activity+json" ||
			mt == "application/ld+json" && strings.Contains(params["profile"], "activitystreams") {
			return true
		}
	}
	return false
}
