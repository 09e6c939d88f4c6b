package web

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"errors"
	"fmt"
	"net/http"
	"net/mail"
	"net/url"
	"strings"

	"github.com/chapterhouse/chapterhouse/chapter"
)

// This file is how people get in: sessions, the form tokens that protect
// every form, signing in and out with their limits, and the application
// to join. The session is a chapter token in an HttpOnly cookie; the form
// token is derived from it (or, before signing in, from a random visitor
// cookie), so a page on another site cannot post a form as the member.

const (
	// sessionCookie holds a member's session token.
	sessionCookie = "session"
	// sessionMaxAge is how long a browser keeps a session: 30 days.
	sessionMaxAge = 30 * 24 * 60 * 60
	// visitorCookie holds the random secret behind the form tokens of
	// visitors, for the sign-in and join forms. It lasts the browser
	// session.
	visitorCookie = "visitor"
	// tokenField is the hidden field every form carries its token in.
	tokenField = "csrf"
	// maxFormBytes caps a form's body: a 5,000-character post in any
	// script, percent-encoded, fits several times over.
	maxFormBytes = 256 << 10
	// kdfConcurrency is how many password hashings may run at once.
	kdfConcurrency = 4
)

// formToken is the token forms carry for a secret: a session token or a
// visitor's random cookie. It is a hash of the secret under a label of its
// own, so it is neither the secret nor the SHA-256 the store keeps of a
// session token.
func formToken(secret string) string {
	sum := sha256.Sum256([]byte("chapterhouse form token\x00" + secret))
	return base64.RawURLEncoding.EncodeToString(sum[:])
}

// session finds the signed-in member of a request, fills the parts of the
// page that show them, and forgets a session cookie that no longer works
// (signed out elsewhere, or the member suspended).
func (s *Site) session(w http.ResponseWriter, r *http.Request, pg *sitePage) error {
	c, err := r.Cookie(sessionCookie)
	if err != nil || c.Value == "" {
		return nil
	}
	ctx := r.Context()
	acc, err := s.svc.Authenticate(ctx, c.Value)
	if errors.Is(err, chapter.ErrNotFound) || errors.Is(err, chapter.ErrForbidden) {
		s.setSession(w, "")
		return nil
	}
	if err != nil {
		return fmt.Errorf("session: %w", err)
	}
	pg.me, pg.session, pg.CSRF = acc, c.Value, formToken(c.Value)
	pg.Me = &memberView{Name: displayName(acc), Username: acc.Username, Admin: acc.Role == chapter.RoleAdmin}
	if pg.Unread, err = s.svc.UnreadCount(ctx, acc.ID); err != nil {
		return fmt.Errorf("unread notifications of %q: %w", acc.Username, err)
	}
	return nil
}

// setSession sets the session cookie, or clears it for "".
func (s *Site) setSession(w http.ResponseWriter, token string) {
	c := &http.Cookie{Name: sessionCookie, Value: token, Path: "/", MaxAge: sessionMaxAge,
		HttpOnly: true, Secure: s.secure, SameSite: http.SameSiteLaxMode}
	if token == "" {
		c.MaxAge = -1
	}
	http.SetCookie(w, c)
}

// visitorSecret returns the visitor's form secret, making one (and its
// cookie) when create is set and there is none.
func (s *Site) visitorSecret(w http.ResponseWriter, r *http.Request, create bool) string {
	if c, err := r.Cookie(visitorCookie); err == nil && len(c.Value) >= 32 && len(c.Value) <= 64 {
		return c.Value
	}
	if !create {
		return ""
	}
	var b [32]byte
	_, _ = rand.Read(b[:]) // never fails (crypto/rand)
	secret := base64.RawURLEncoding.EncodeToString(b[:])
	http.SetCookie(w, &http.Cookie{Name: visitorCookie, Value: secret, Path: "/",
		HttpOnly: true, Secure: s.secure, SameSite: http.SameSiteLaxMode})
	return secret
}

// parseForm reads a form's body, at most maxFormBytes of it.
func (s *Site) parseForm(w http.ResponseWriter, r *http.Request) error {
	r.Body = http.MaxBytesReader(w, r.Body, maxFormBytes)
	if err := r.ParseForm(); err != nil {
		if _, tooLarge := errors.AsType[*http.MaxBytesError](err); tooLarge {
			return err
		}
		return fmt.Errorf("form: %v: %w", err, chapter.ErrInvalid)
	}
	return nil
}

// checkToken refuses a form post that does not carry the token of secret
// (the session's or the visitor's), or that the browser says came from
// another site. Nothing has been changed when it refuses.
func (s *Site) checkToken(r *http.Request, secret string) error {
	if err := s.origins.Check(r); err != nil {
		return &siteError{status: http.StatusForbidden, title: "FormExpiredTitle", text: "FormExpiredText", err: err}
	}
	got := r.PostForm.Get(tokenField)
	if secret == "" || got == "" || subtle.ConstantTimeCompare([]byte(got), []byte(formToken(secret))) != 1 {
		return &siteError{status: http.StatusForbidden, title: "FormExpiredTitle", text: "FormExpiredText",
			err: errors.New("missing or wrong form token")}
	}
	return nil
}

// signedIn serves f to members; a visitor asking for the page is sent to
// sign in first, and comes back after.
func (s *Site) signedIn(f pageFunc) pageFunc {
	return func(w http.ResponseWriter, r *http.Request, pg *sitePage) error {
		if pg.me != nil {
			return f(w, r, pg)
		}
		if r.Method == http.MethodGet || r.Method == http.MethodHead {
			http.Redirect(w, r, "/login?next="+url.QueryEscape(r.URL.RequestURI()), http.StatusSeeOther)
			return nil
		}
		return &siteError{status: http.StatusForbidden, title: "SignInFirstTitle", text: "SignInFirstText",
			err: errors.New("form posted without a session")}
	}
}

// form serves a member's form post: signed in, the body bounded and the
// token checked before f changes anything.
func (s *Site) form(f pageFunc) pageFunc {
	return s.signedIn(func(w http.ResponseWriter, r *http.Request, pg *sitePage) error {
		if err := s.parseForm(w, r); err != nil {
			return err
		}
		if err := s.checkToken(r, pg.session); err != nil {
			return err
		}
		return f(w, r, pg)
	})
}

// admin serves f to admins only: 403 for other members.
func (s *Site) admin(f pageFunc) pageFunc {
	return s.signedIn(func(w http.ResponseWriter, r *http.Request, pg *sitePage) error {
		if pg.me.Role != chapter.RoleAdmin {
			return fmt.Errorf("%q is not an admin: %w", pg.me.Username, chapter.ErrForbidden)
		}
		return f(w, r, pg)
	})
}

// withKDF runs f, which hashes a password, once one of the kdfConcurrency
// slots is free.
func (s *Site) withKDF(ctx context.Context, f func() error) error {
	select {
	case s.kdf <- struct{}{}:
	case <-ctx.Done():
		return ctx.Err()
	}
	defer func() { <-s.kdf }()
	return f()
}

// safeNext keeps a ?next= that is a path on this site, else "/": a
// sign-in link must not send anyone elsewhere.
func safeNext(next string) string {
	u, err := url.Parse(next)
	if err != nil || next == "" || next[0] != '/' || strings.HasPrefix(next, "//") ||
		strings.HasPrefix(next, "/\\") || u.Scheme != "" || u.Host != "" {
		return "/"
	}
	return next
}

// loginView is the sign-in page.
type loginView struct {
	*sitePage
	Form *form
	Next string
}

func (s *Site) loginFields(l *siteLang) *form {
	f := newForm("login")
	f.add(&field{Name: "username", Label: l.T("FieldUsername"), Required: true, MaxLength: 30,
		Autocomplete: "username", Dir: "ltr"})
	f.add(&field{Name: "password", Type: "password", Label: l.T("FieldPassword"), Required: true,
		Autocomplete: "current-password"})
	return f.optional(l)
}

// loginForm serves GET /login.
func (s *Site) loginForm(w http.ResponseWriter, r *http.Request, pg *sitePage) error {
	next := safeNext(r.URL.Query().Get("next"))
	if pg.me != nil {
		http.Redirect(w, r, next, http.StatusSeeOther)
		return nil
	}
	return s.renderLogin(w, r, pg, s.loginFields(pg.siteLang), next, http.StatusOK)
}

func (s *Site) renderLogin(w http.ResponseWriter, r *http.Request, pg *sitePage, f *form, next string, status int) error {
	pg.CSRF = formToken(s.visitorSecret(w, r, true))
	pg.Title, pg.Nav = pg.T("SignInTitle"), "login"
	return s.render(w, pg, "login", status, &loginView{sitePage: pg, Form: f, Next: next})
}

// login serves POST /login: too many failures from the address or for the
// name answer 429 before any password is checked; a wrong password shows
// the form again and sets nothing.
func (s *Site) login(w http.ResponseWriter, r *http.Request, pg *sitePage) error {
	if err := s.parseForm(w, r); err != nil {
		return err
	}
	if err := s.checkToken(r, s.visitorSecret(w, r, false)); err != nil {
		return err
	}
	f := s.loginFields(pg.siteLang)
	f.fill(r.PostForm)
	username := strings.ToLower(strings.TrimSpace(f.F("username").Value))
	password := r.PostForm.Get("password")
	next := safeNext(r.PostForm.Get("next"))
	keys := []string{"ip:" + clientAddress(r)}
	if username != "" {
		keys = append(keys, "user:"+excerpt(username, 40))
	}
	if wait := s.logins.blocked(keys...); wait > 0 {
		return tooManyAttempts(w, wait)
	}
	if username == "" {
		f.set("username", pg.T("ErrRequired"))
	}
	if password == "" {
		f.set("password", pg.T("ErrRequired"))
	}
	if f.invalid() {
		return s.renderLogin(w, r, pg, f, next, http.StatusUnprocessableEntity)
	}
	var token string
	err := s.withKDF(r.Context(), func() (err error) {
		_, token, err = s.svc.SignIn(r.Context(), username, password)
		return err
	})
	switch {
	case errors.Is(err, chapter.ErrPending):
		f.Error = pg.T("SignInPending")
		return s.renderLogin(w, r, pg, f, next, http.StatusForbidden)
	case errors.Is(err, chapter.ErrBadCredentials):
		s.logins.fail(keys...)
		f.Error = pg.T("SignInWrong")
		return s.renderLogin(w, r, pg, f, next, http.StatusUnprocessableEntity)
	case errors.Is(err, chapter.ErrForbidden):
		f.Error = pg.T("SignInSuspended")
		return s.renderLogin(w, r, pg, f, next, http.StatusForbidden)
	case err != nil:
		return err
	}
	s.logins.reset("user:" + excerpt(username, 40))
	s.setSession(w, token)
	http.Redirect(w, r, next, http.StatusSeeOther)
	return nil
}

// logout serves POST /logout: the session ends on the server too. A
// session that already ended just loses its cookie.
func (s *Site) logout(w http.ResponseWriter, r *http.Request, pg *sitePage) error {
	if pg.me != nil {
		if err := s.parseForm(w, r); err != nil {
			return err
		}
		if err := s.checkToken(r, pg.session); err != nil {
			return err
		}
		if err := s.svc.SignOut(r.Context(), pg.session); err != nil {
			return err
		}
	}
	s.setSession(w, "")
	http.Redirect(w, r, "/", http.StatusSeeOther)
	return nil
}

// joinView is the application form, or (Sent) the page after it.
type joinView struct {
	*sitePage
	Form *form
	Sent bool
}

func (s *Site) joinFields(l *siteLang) *form {
	f := newForm("join")
	f.add(&field{Name: "name", Label: l.T("FieldName"), Required: true, MaxLength: 100, Autocomplete: "name"})
	f.add(&field{Name: "username", Label: l.T("FieldUsername"), Help: l.T("HelpUsername"), Required: true,
		MaxLength: 30, Autocomplete: "username", Dir: "ltr"})
	f.add(&field{Name: "email", Type: "email", Label: l.T("FieldEmail"), Help: l.T("HelpEmail"),
		Required: true, MaxLength: 254, Autocomplete: "email", Dir: "ltr"})
	f.add(&field{Name: "password", Type: "password", Label: l.T("FieldPassword"),
		Help: l.T("HelpPassword", "Min", l.Number(chapter.MinPasswordLength)), Required: true,
		MaxLength: chapter.MaxPasswordLength, Autocomplete: "new-password"})
	f.add(&field{Name: "note", Kind: "textarea", Rows: 4, Label: l.T("FieldNote"), Help: l.T("HelpNote"),
		Required: true, MaxLength: 1000})
	f.add(&field{Name: "region", Label: l.T("FieldRegion"), Help: l.T("HelpRegion"), MaxLength: 100,
		Autocomplete: "address-level2"})
	return f.optional(l)
}

// joinForm serves GET /join.
func (s *Site) joinForm(w http.ResponseWriter, r *http.Request, pg *sitePage) error {
	if pg.me != nil {
		http.Redirect(w, r, "/", http.StatusSeeOther)
		return nil
	}
	return s.renderJoin(w, r, pg, s.joinFields(pg.siteLang), http.StatusOK)
}

func (s *Site) renderJoin(w http.ResponseWriter, r *http.Request, pg *sitePage, f *form, status int) error {
	pg.CSRF = formToken(s.visitorSecret(w, r, true))
	pg.Title, pg.Nav = pg.T("JoinTitle", "Name", pg.SiteName), "join"
	return s.render(w, pg, "join", status, &joinView{sitePage: pg, Form: f})
}

// joinSent serves GET /join/sent, where a sent application lands.
func (s *Site) joinSent(w http.ResponseWriter, _ *http.Request, pg *sitePage) error {
	pg.Title, pg.Nav = pg.T("JoinSentTitle"), "join"
	return s.render(w, pg, "join", http.StatusOK, &joinView{sitePage: pg, Sent: true})
}

// join serves POST /join: the application becomes a pending member whom
// an admin approves. Mistakes show the form again with what to fix.
func (s *Site) join(w http.ResponseWriter, r *http.Request, pg *sitePage) error {
	if err := s.parseForm(w, r); err != nil {
		return err
	}
	if err := s.checkToken(r, s.visitorSecret(w, r, false)); err != nil {
		return err
	}
	addr := "ip:" + clientAddress(r)
	if wait := s.joins.blocked(addr); wait > 0 {
		return tooManyAttempts(w, wait)
	}
	f := s.joinFields(pg.siteLang)
	f.fill(r.PostForm)
	app := chapter.Application{
		DisplayName: strings.TrimSpace(f.F("name").Value),
		Username:    strings.ToLower(strings.TrimSpace(f.F("username").Value)),
		Email:       strings.TrimSpace(f.F("email").Value),
		Password:    r.PostForm.Get("password"),
		Note:        strings.TrimSpace(f.F("note").Value),
		Region:      strings.TrimSpace(f.F("region").Value),
	}
	s.checkApplication(pg.siteLang, f, app)
	if f.invalid() {
		return s.renderJoin(w, r, pg, f, http.StatusUnprocessableEntity)
	}
	err := s.withKDF(r.Context(), func() error {
		_, err := s.svc.Apply(r.Context(), app)
		return err
	})
	switch {
	case errors.Is(err, chapter.ErrConflict):
		f.set("username", pg.T("ErrUsernameTaken"))
		return s.renderJoin(w, r, pg, f, http.StatusUnprocessableEntity)
	case errors.Is(err, chapter.ErrInvalid):
		s.log.Debug("application refused", "error", err)
		f.Error = pg.T("ErrFormInvalid")
		return s.renderJoin(w, r, pg, f, http.StatusUnprocessableEntity)
	case err != nil:
		return err
	}
	s.joins.fail(addr)
	s.log.Info("application received", "username", app.Username)
	http.Redirect(w, r, "/join/sent", http.StatusSeeOther)
	return nil
}

// checkApplication tells, field by field and in the visitor's language,
// what the domain's rules for an application (chapter.Service.Apply, which
// has the last word) would refuse.
func (s *Site) checkApplication(l *siteLang, f *form, app chapter.Application) {
	if app.DisplayName == "" {
		f.set("name", l.T("ErrRequired"))
	} else if len([]rune(app.DisplayName)) > 100 {
		f.set("name", l.T("ErrTooLong", "Max", l.Number(100)))
	}
	switch {
	case app.Username == "":
		f.set("username", l.T("ErrRequired"))
	case app.Username == s.svc.Node().Handle:
		f.set("username", l.T("ErrUsernameTaken"))
	case chapter.ValidateUsername(app.Username) != nil:
		if usernameChars(app.Username) {
			f.set("username", l.T("ErrUsernameTaken"))
		} else {
			f.set("username", l.T("ErrUsernameRule"))
		}
	}
	if app.Email == "" {
		f.set("email", l.T("ErrRequired"))
	} else if a, err := mail.ParseAddress(app.Email); err != nil || a.Address != app.Email || len(app.Email) > 254 {
		f.set("email", l.T("ErrEmail"))
	}
	if n := len([]rune(app.Password)); n < chapter.MinPasswordLength || n > chapter.MaxPasswordLength {
		f.set("password", l.T("ErrPasswordLength", "Min", l.Number(chapter.MinPasswordLength), "Max", l.Number(chapter.MaxPasswordLength)))
	}
	if app.Note == "" {
		f.set("note", l.T("ErrRequired"))
	} else if len([]rune(app.Note)) > 1000 {
		f.set("note", l.T("ErrTooLong", "Max", l.Number(1000)))
	}
	if len([]rune(app.Region)) > 100 {
		f.set("region", l.T("ErrTooLong", "Max", l.Number(100)))
	}
}

// usernameChars reports whether name is made of what usernames may hold,
// so a name refused anyway is a reserved one.
func usernameChars(name string) bool {
	if name == "" || len(name) > 30 {
		return false
	}
	for _, r := range name {
		if (r < 'a' || r > 'z') && (r < '0' || r > '9') && r != '_' {
			return false
		}
	}
	return true
}
