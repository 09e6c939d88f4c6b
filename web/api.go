package web

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"

	"github.com/gorilla/mux"

	"github.com/chapterhouse/chapterhouse/chapter"
)

// DefaultMaxBodyBytes caps request bodies when APIOptions.MaxBodyBytes is
// zero: 1 MiB, far more than a 5,000-character post needs.
const DefaultMaxBodyBytes = 1 << 20

// API serves the member API: the subset of Mastodon's client API that lets
// members post, read threads and timelines and see their notifications with
// the apps they already use. Build it with NewAPI and mount it with Routes.
type API struct {
	svc       *chapter.Service
	publicURL string
	version   string
	log       *slog.Logger
	maxBody   int64
	idem      *idempotency
}

// APIOptions configure an API. Service is required; the rest have defaults.
type APIOptions struct {
	Service *chapter.Service
	// PublicURL is the node's base URL without a trailing slash, e.g.
	// https://chapter.example: account URLs and paging links start with it.
	PublicURL string
	// Version is Chapterhouse's version, shown by the instance endpoints.
	Version string
	// Logger receives one line per failed request; nil discards.
	Logger *slog.Logger
	// MaxBodyBytes caps request bodies; 0 means DefaultMaxBodyBytes.
	MaxBodyBytes int64
}

// NewAPI builds the member API over a service.
func NewAPI(o APIOptions) *API {
	log := o.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	maxBody := o.MaxBodyBytes
	if maxBody <= 0 {
		maxBody = DefaultMaxBodyBytes
	}
	version := o.Version
	if version == "" {
		version = "dev"
	}
	return &API{
		svc: o.Service, publicURL: strings.TrimRight(o.PublicURL, "/"), version: version,
		log: log, maxBody: maxBody, idem: newIdempotency(o.Service.Clock),
	}
}

// Routes registers every route of the member API on r, all here so the
// whole API can be found with grep, and the node's Atom feed, /feed.atom. Everything under /api/ belongs to this
// API: unknown paths there answer with a JSON 404, wrong methods with a
// JSON 405, and browser clients get CORS headers (tokens travel in the
// Authorization header, never in cookies, so any origin may call).
func (a *API) Routes(r *mux.Router) {
	api := r.PathPrefix("/api/").Subrouter()
	api.Use(cors)
	api.NotFoundHandler = cors(http.HandlerFunc(a.notFound))

	api.Handle("/v1/statuses", a.methods(byMethod{http.MethodPost: a.createStatus}))
	api.Handle("/v1/statuses/{id}", a.methods(byMethod{http.MethodGet: a.getStatus, http.MethodPut: a.editStatus,
		http.MethodDelete: a.deleteStatus}))
	api.Handle("/v1/statuses/{id}/context", a.methods(byMethod{http.MethodGet: a.statusContext}))
	api.Handle("/v1/timelines/public", a.methods(byMethod{http.MethodGet: a.publicTimeline}))
	api.Handle("/v1/notifications", a.methods(byMethod{http.MethodGet: a.notifications}))
	api.Handle("/v1/accounts/verify_credentials", a.methods(byMethod{http.MethodGet: a.verifyCredentials}))
	api.Handle("/v1/accounts/update_credentials", a.methods(byMethod{http.MethodPatch: a.updateCredentials}))
	// After the named routes above, which {id} would otherwise take.
	api.Handle("/v1/accounts/{id}", a.methods(byMethod{http.MethodGet: a.getAccount}))
	api.Handle("/v1/accounts/{id}/statuses", a.methods(byMethod{http.MethodGet: a.accountStatuses}))
	api.Handle("/v1/instance", a.methods(byMethod{http.MethodGet: a.instanceV1}))
	api.Handle("/v2/instance", a.methods(byMethod{http.MethodGet: a.instanceV2}))

	// Outside /api/: the node's public timeline for feed readers.
	r.Handle("/feed.atom", cors(a.methods(byMethod{http.MethodGet: a.atomFeedHandler})))
}

// byMethod maps the methods a path accepts to their handlers.
type byMethod map[string]http.HandlerFunc

// methods dispatches on the method itself rather than with mux's Methods
// matcher: in a subrouter, gorilla/mux v1.8.1 loses the method mismatch of
// one route when a later route's path prefix matches, and answers 404
// where 405 is right. It also answers CORS preflights and HEAD.
func (a *API) methods(m byMethod) http.Handler {
	allowed := make([]string, 0, len(m)+1)
	for method := range m {
		allowed = append(allowed, method)
	}
	slices.Sort(allowed)
	allow := strings.Join(append(allowed, http.MethodOptions), ", ")
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		method := r.Method
		if method == http.MethodHead {
			method = http.MethodGet
		}
		if h, ok := m[method]; ok {
			h(w, r)
			return
		}
		w.Header().Set("Allow", allow)
		if r.Method == http.MethodOptions {
			h := w.Header()
			h.Set("Access-Control-Allow-Methods", allow)
			h.Set("Access-Control-Allow-Headers", "Authorization, Content-Type, Idempotency-Key")
			h.Set("Access-Control-Max-Age", "86400")
			w.WriteHeader(http.StatusNoContent)
			return
		}
		a.writeError(w, r, &clientError{status: http.StatusMethodNotAllowed, msg: "Method not allowed"})
	})
}

// cors lets browser-based clients (Elk, Phanpy, Pinafore…) call the API,
// as Mastodon does for /api.
func cors(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		h := w.Header()
		h.Set("Access-Control-Allow-Origin", "*")
		h.Set("Access-Control-Expose-Headers", "Link")
		next.ServeHTTP(w, r)
	})
}

func (a *API) notFound(w http.ResponseWriter, r *http.Request) {
	a.writeError(w, r, &clientError{status: http.StatusNotFound, msg: "Record not found"})
}

// clientError is an error this package decides on itself (bad parameters,
// missing token, wrong media type): its status and the safe text for the
// client, with the underlying error, if any, for the log.
type clientError struct {
	status int
	msg    string
	err    error
}

func (e *clientError) Error() string {
	if e.err != nil {
		return e.msg + ": " + e.err.Error()
	}
	return e.msg
}

func (e *clientError) Unwrap() error { return e.err }

// badRequest is a 400 whose text tells the client what to fix.
func badRequest(format string, args ...any) error {
	return &clientError{status: http.StatusBadRequest, msg: fmt.Sprintf(format, args...)}
}

// errInvalidToken is Mastodon's answer to a missing or unknown token.
var errInvalidToken = &clientError{status: http.StatusUnauthorized, msg: "The access token is invalid"}

// writeError is the one place where errors become responses: the client
// gets a status and a safe message, the log the full error.
func (a *API) writeError(w http.ResponseWriter, r *http.Request, err error) {
	status, msg := errorStatus(err)
	level := slog.LevelDebug
	if status >= http.StatusInternalServerError {
		level = slog.LevelError
	}
	a.log.LogAttrs(r.Context(), level, "api request failed",
		slog.String("method", r.Method), slog.String("path", r.URL.Path),
		slog.Int("status", status), slog.String("error", err.Error()))
	if status == http.StatusUnauthorized {
		w.Header().Set("WWW-Authenticate", `Bearer realm="chapterhouse", error="invalid_token"`)
	}
	writeJSON(w, status, errorJSON{Error: msg})
}

// errorStatus maps an error to a status and the text a client may see.
func errorStatus(err error) (int, string) {
	var ce *clientError
	var tooLarge *http.MaxBytesError
	switch {
	case errors.As(err, &ce):
		return ce.status, ce.msg
	case errors.As(err, &tooLarge):
		return http.StatusRequestEntityTooLarge, "Request body is too large"
	case errors.Is(err, chapter.ErrNotFound), errors.Is(err, chapter.ErrGone):
		// The API hides tombstones: a deleted post is simply not there.
		return http.StatusNotFound, "Record not found"
	case errors.Is(err, chapter.ErrForbidden):
		return http.StatusForbidden, "This action is not allowed"
	case errors.Is(err, chapter.ErrInvalid):
		return http.StatusUnprocessableEntity, validationMessage(err)
	case errors.Is(err, chapter.ErrConflict):
		return http.StatusConflict, "This conflicts with what is already there"
	case errors.Is(err, context.DeadlineExceeded):
		return http.StatusServiceUnavailable, "The server took too long; try again later"
	}
	return http.StatusInternalServerError, "Internal server error"
}

// validationMessage turns "post text is empty: invalid" into Mastodon's
// "Validation failed: Post text is empty". chapter writes the text of
// ErrInvalid wraps for people, so it is safe to show.
func validationMessage(err error) string {
	text := strings.TrimSuffix(err.Error(), ": "+chapter.ErrInvalid.Error())
	if text == "" || text == chapter.ErrInvalid.Error() {
		return "Validation failed"
	}
	return "Validation failed: " + strings.ToUpper(text[:1]) + text[1:]
}

// errorJSON is Mastodon's error entity.
type errorJSON struct {
	Error string `json:"error"`
}

// writeJSON writes v with a status. Encoding escapes <, > and & as \u003c
// and so on, so no HTML is ever raw in a response, whatever a post holds.
func writeJSON(w http.ResponseWriter, status int, v any) {
	body, err := json.Marshal(v)
	if err != nil {
		// Only unsupported types fail to marshal: a programming error.
		status, body = http.StatusInternalServerError, []byte(`{"error":"Internal server error"}`)
	}
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.WriteHeader(status)
	_, _ = w.Write(append(body, '\n'))
}

// viewer returns the account behind the request's bearer token, or nil for
// an anonymous request. A token that is present but wrong is an error, as
// on Mastodon, so a client learns its login expired.
func (a *API) viewer(r *http.Request) (*chapter.Account, error) {
	h := r.Header.Get("Authorization")
	if h == "" {
		return nil, nil
	}
	scheme, token, ok := strings.Cut(h, " ")
	token = strings.TrimSpace(token)
	if !ok || !strings.EqualFold(scheme, "Bearer") || token == "" {
		return nil, errInvalidToken
	}
	acc, err := a.svc.Authenticate(r.Context(), token)
	switch {
	case errors.Is(err, chapter.ErrNotFound):
		return nil, &clientError{status: http.StatusUnauthorized, msg: errInvalidToken.msg, err: err}
	case errors.Is(err, chapter.ErrForbidden):
		return nil, &clientError{status: http.StatusForbidden, msg: "Your login is currently disabled", err: err}
	case err != nil:
		return nil, err
	}
	return acc, nil
}

// member is viewer for routes that need a signed-in member.
func (a *API) member(r *http.Request) (*chapter.Account, error) {
	acc, err := a.viewer(r)
	if err == nil && acc == nil {
		err = errInvalidToken
	}
	return acc, err
}

// pathID reads the {id} route variable. Mastodon ids are opaque strings:
// one that is not a number names nothing, so it is a 404, not a 400.
func pathID(r *http.Request) (int64, error) {
	s := mux.Vars(r)["id"]
	id, err := strconv.ParseInt(s, 10, 64)
	if err != nil || id <= 0 {
		return 0, fmt.Errorf("id %q: %w", s, chapter.ErrNotFound)
	}
	return id, nil
}

// queryInt reads an optional non-negative integer parameter; absent or
// empty is 0.
func queryInt(q url.Values, name string) (int64, error) {
	s := q.Get(name)
	if s == "" {
		return 0, nil
	}
	n, err := strconv.ParseInt(s, 10, 64)
	if err != nil || n < 0 {
		return 0, badRequest("%s must be a non-negative integer", name)
	}
	return n, nil
}

// page is Mastodon's paging: max_id for older items, since_id for the
// newest items after an id, min_id for the items right after an id.
type page struct {
	MaxID, SinceID, MinID int64
	Limit                 int
}

func parsePage(q url.Values) (page, error) {
	var p page
	var limit int64
	var err error
	for _, f := range []struct {
		name string
		dst  *int64
	}{{"max_id", &p.MaxID}, {"since_id", &p.SinceID}, {"min_id", &p.MinID}, {"limit", &limit}} {
		if *f.dst, err = queryInt(q, f.name); err != nil {
			return page{}, err
		}
	}
	p.Limit = int(min(limit, 1000))
	return p, nil
}

// setLink writes Mastodon's paging Link header for a page whose items run
// from newest (first) to oldest (last): rel="next" goes to older items,
// rel="prev" to newer ones. Other query parameters are kept.
func (a *API) setLink(w http.ResponseWriter, r *http.Request, newest, oldest int64) {
	link := func(param string, id int64) string {
		q := r.URL.Query()
		q.Del("max_id")
		q.Del("since_id")
		q.Del("min_id")
		q.Set(param, strconv.FormatInt(id, 10))
		return "<" + a.publicURL + r.URL.Path + "?" + q.Encode() + ">"
	}
	w.Header().Set("Link", link("max_id", oldest)+`; rel="next", `+link("min_id", newest)+`; rel="prev"`)
}
