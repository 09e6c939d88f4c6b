package federation

import (
	"encoding/json"
	"errors"
	"fmt"
	"html"
	"log/slog"
	"net/http"
	"strings"

	"github.com/gorilla/mux"

	"github.com/chapterhouse/chapterhouse/chapter"
)

// Routes registers every ActivityPub, WebFinger and NodeInfo route on r, in
// one place so they can be found with grep.
func (f *Federation) Routes(r *mux.Router) {
	r.HandleFunc("/.well-known/webfinger", f.cached(f.handleWebFinger)).Methods(http.MethodGet, http.MethodHead)
	r.HandleFunc("/.well-known/host-meta", f.handleHostMeta).Methods(http.MethodGet, http.MethodHead)
	r.HandleFunc("/.well-known/nodeinfo", f.handleNodeInfoIndex).Methods(http.MethodGet, http.MethodHead)
	r.HandleFunc("/nodeinfo/{version:2\\.[01]}", f.handleNodeInfo).Methods(http.MethodGet, http.MethodHead)
	r.HandleFunc("/directory", f.handleDirectory).Methods(http.MethodGet, http.MethodHead)
	r.HandleFunc("/inbox", f.handleInbox).Methods(http.MethodPost)
	r.HandleFunc("/users/{username}/inbox", f.handleInbox).Methods(http.MethodPost)
	r.HandleFunc("/users/{username}", f.signedGET(f.cached(f.handleActor))).Methods(http.MethodGet, http.MethodHead)
	r.HandleFunc("/users/{username}/outbox", f.signedGET(f.cached(f.handleOutbox))).Methods(http.MethodGet, http.MethodHead)
	r.HandleFunc("/users/{username}/followers", f.signedGET(f.cached(f.handleFollowers))).Methods(http.MethodGet, http.MethodHead)
	r.HandleFunc("/users/{username}/following", f.signedGET(f.cached(f.handleFollowing))).Methods(http.MethodGet, http.MethodHead)
	r.HandleFunc("/users/{username}/children", f.signedGET(f.cached(f.handleChildren))).Methods(http.MethodGet, http.MethodHead)
	r.HandleFunc("/users/{username}/statuses/{id:[0-9]+}", f.signedGET(f.cached(f.handlePost))).Methods(http.MethodGet, http.MethodHead)
}

// jrd is a WebFinger answer (RFC 7033).
type jrd struct {
	Subject string    `json:"subject"`
	Aliases []string  `json:"aliases,omitempty"`
	Links   []jrdLink `json:"links"`
}

type jrdLink struct {
	Rel      string `json:"rel"`
	Type     string `json:"type,omitempty"`
	Href     string `json:"href,omitempty"`
	Template string `json:"template,omitempty"`
}

// handleWebFinger answers acct:NAME@HOST (and the actor URL itself) for the
// Group and every active member. The round trip is exact: the self link is
// the actor id, whose preferredUsername is NAME, which Mastodon checks.
func (f *Federation) handleWebFinger(w http.ResponseWriter, r *http.Request) {
	resource := r.URL.Query().Get("resource")
	username := ""
	switch {
	case strings.HasPrefix(resource, "acct:"):
		user, host, ok := strings.Cut(strings.TrimPrefix(resource, "acct:"), "@")
		if !ok || !strings.EqualFold(host, f.urls.Host()) {
			f.writeError(w, r, fmt.Errorf("webfinger %q: not this host: %w", resource, chapter.ErrNotFound))
			return
		}
		username = strings.ToLower(strings.TrimPrefix(user, "@"))
	case resource != "":
		username = f.urls.ParseLocalActor(resource)
		if username == "" {
			username = strings.TrimPrefix(strings.TrimPrefix(resource, f.urls.Base()+"/@"), "@")
		}
	default:
		writeJSONError(w, http.StatusBadRequest, "resource parameter required")
		return
	}
	a, err := f.store.AccountByUsername(r.Context(), username)
	if err == nil && a.State != chapter.StateActive {
		err = chapter.ErrNotFound
	}
	if err != nil {
		f.writeError(w, r, fmt.Errorf("webfinger %q: %w", resource, err))
		return
	}
	actor := f.urls.Actor(a.Username)
	answer := jrd{
		Subject: "acct:" + a.Username + "@" + f.urls.Host(),
		Aliases: []string{f.urls.Profile(a.Username), actor},
		Links: []jrdLink{
			{Rel: "http://webfinger.net/rel/profile-page", Type: "text/html", Href: f.urls.Profile(a.Username)},
			{Rel: "self", Type: activityMediaType, Href: actor},
			{Rel: "http://ostatus.org/schema/1.0/subscribe", Template: f.urls.Base() + "/authorize_interaction?uri={uri}"},
		},
	}
	w.Header().Set("Access-Control-Allow-Origin", "*")
	writeJSON(w, http.StatusOK, "application/jrd+json; charset=utf-8", answer)
}

// handleHostMeta points old clients at WebFinger.
func (f *Federation) handleHostMeta(w http.ResponseWriter, _ *http.Request) {
	w.Header().Set("Content-Type", "application/xrd+xml; charset=utf-8")
	fmt.Fprintf(w, `<?xml version="1.0" encoding="UTF-8"?>
<XRD xmlns="http://docs.oasis-open.org/ns/xri/xrd-1.0">
  <Link rel="lrdd" template="%s/.well-known/webfinger?resource={uri}"/>
</XRD>
`, html.EscapeString(f.urls.Base()))
}

// handleNodeInfoIndex lists the NodeInfo documents we serve.
func (f *Federation) handleNodeInfoIndex(w http.ResponseWriter, _ *http.Request) {
	links := []map[string]string{}
	for _, v := range []string{"2.0", "2.1"} {
		links = append(links, map[string]string{
			"rel": "http://nodeinfo.diaspora.software/ns/schema/" + v, "href": f.urls.Base() + "/nodeinfo/" + v})
	}
	writeJSON(w, http.StatusOK, "application/json", map[string]any{"links": links})
}

// handleNodeInfo serves NodeInfo 2.0 or 2.1: what software this is and how
// big the node is, which directories and Mastodon's admin pages show.
func (f *Federation) handleNodeInfo(w http.ResponseWriter, r *http.Request) {
	version := mux.Vars(r)["version"]
	ctx := r.Context()
	members, err := f.store.CountMembers(ctx)
	if err != nil {
		f.writeError(w, r, err)
		return
	}
	posts, err := f.store.CountPosts(ctx, 0)
	if err != nil {
		f.writeError(w, r, err)
		return
	}
	software := map[string]any{"name": "chapterhouse", "version": f.o.Version}
	if version == "2.1" {
		software["repository"] = "https://github.com/chapterhouse/chapterhouse"
	}
	node := f.svc.Node()
	doc := map[string]any{
		"version": version, "software": software, "protocols": []string{"activitypub"},
		"services":          map[string]any{"inbound": []string{}, "outbound": []string{"atom1.0"}},
		"openRegistrations": false,
		"usage": map[string]any{"users": map[string]any{"total": members, "activeMonth": members, "activeHalfyear": members},
			"localPosts": posts},
		"metadata": map[string]any{"nodeName": node.Name, "nodeDescription": node.Summary, "level": string(node.Level)},
	}
	writeJSON(w, http.StatusOK, "application/json; profile=\"http://nodeinfo.diaspora.software/ns/schema/"+version+"#\"", doc)
}

// writeActivityJSON answers with an ActivityPub document.
func writeActivityJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Vary", "Accept")
	writeJSON(w, status, activityMediaType+"; charset=utf-8", v)
}

func writeJSON(w http.ResponseWriter, status int, contentType string, v any) {
	b, err := json.Marshal(v)
	if err != nil {
		writeJSONError(w, http.StatusInternalServerError, "internal error")
		return
	}
	w.Header().Set("Content-Type", contentType)
	w.WriteHeader(status)
	_, _ = w.Write(b)
}

func writeJSONError(w http.ResponseWriter, status int, msg string) {
	b, _ := json.Marshal(map[string]string{"error": msg})
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.WriteHeader(status)
	_, _ = w.Write(b)
}

// writeError maps an error to a status, in this one place for the
// federation side. Clients get a safe message; the log gets the details.
func (f *Federation) writeError(w http.ResponseWriter, r *http.Request, err error) {
	status, msg := http.StatusInternalServerError, "internal error"
	switch {
	case errors.Is(err, chapter.ErrNotFound):
		status, msg = http.StatusNotFound, "not found"
	case errors.Is(err, chapter.ErrGone):
		status, msg = http.StatusGone, "gone"
	case errors.Is(err, chapter.ErrForbidden):
		status, msg = http.StatusForbidden, "forbidden"
	case errors.Is(err, chapter.ErrInvalid):
		status, msg = http.StatusBadRequest, "invalid request"
	case errors.Is(err, ErrUnsigned), errors.Is(err, ErrBadSignature):
		status, msg = http.StatusUnauthorized, "signature verification failed"
	case errors.Is(err, ErrTooLarge):
		status, msg = http.StatusRequestEntityTooLarge, "request body too large"
	case errors.Is(err, ErrTooDeep), errors.Is(err, errMalformed):
		status, msg = http.StatusBadRequest, "malformed activity"
	case errors.Is(err, errUnsupportedMedia):
		status, msg = http.StatusUnsupportedMediaType, "content type must be application/activity+json or application/ld+json"
	case errors.Is(err, errRateLimited):
		status, msg = http.StatusTooManyRequests, "too many requests"
	case errors.Is(err, errBlocked):
		status, msg = http.StatusForbidden, "domain blocked"
	}
	level := slog.LevelInfo
	if status >= 500 {
		level = slog.LevelError
	}
	f.log.Log(r.Context(), level, "federation request refused", "method", r.Method, "path", r.URL.Path,
		"status", status, "remote_addr", r.RemoteAddr, "error", err.Error())
	writeJSONError(w, status, msg)
}
