package web

import (
	"context"
	"fmt"
	"net/http"
	"strings"

	"github.com/chapterhouse/chapterhouse/chapter"
)

// verifyCredentials shows the signed-in member their own account, with the
// source of their profile: GET /api/v1/accounts/verify_credentials.
// Clients call it first, to learn who the token belongs to.
func (a *API) verifyCredentials(w http.ResponseWriter, r *http.Request) {
	me, err := a.member(r)
	if err != nil {
		a.writeError(w, r, err)
		return
	}
	j, err := a.renderer(r.Context(), me).credentialAccount(me)
	if err != nil {
		a.writeError(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, j)
}

// updateCredentials edits the signed-in member's profile:
// PATCH /api/v1/accounts/update_credentials. Of Mastodon's fields only
// display_name and note (plain text) mean something here; the others
// (avatar, header, fields_attributes, locked, source[…]) are accepted and
// ignored, so clients that send the whole form work. A field left out
// keeps its value. The service validates and tells the member's followers
// with an Update.
func (a *API) updateCredentials(w http.ResponseWriter, r *http.Request) {
	me, err := a.member(r)
	if err != nil {
		a.writeError(w, r, err)
		return
	}
	p, err := a.readParams(w, r)
	if err != nil {
		a.writeError(w, r, err)
		return
	}
	displayName, ok := p["display_name"]
	if !ok {
		displayName = me.DisplayName
	}
	if strings.TrimSpace(displayName) == "" {
		// Mastodon allows an empty display name and shows the username
		// instead; chapter requires one, so keep what will be shown.
		displayName = me.Username
	}
	note, ok := p["note"]
	if !ok {
		// chapter keeps only the HTML of a bio: the text a member typed
		// is recovered as verify_credentials shows it in source.note.
		note = htmlToText(me.Bio)
	}
	updated, err := a.svc.UpdateProfile(r.Context(), me.ID, displayName, note)
	if err != nil {
		a.writeError(w, r, err)
		return
	}
	j, err := a.renderer(r.Context(), updated).credentialAccount(updated)
	if err != nil {
		a.writeError(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, j)
}

// getAccount shows any account this node knows: GET /api/v1/accounts/{id}.
// Local people who are not active members (pending applicants, suspended
// members) are not shown to anyone but themselves.
func (a *API) getAccount(w http.ResponseWriter, r *http.Request) {
	viewer, err := a.viewer(r)
	if err != nil {
		a.writeError(w, r, err)
		return
	}
	acc, err := a.shownAccount(r, viewer)
	if err != nil {
		a.writeError(w, r, err)
		return
	}
	j, err := a.renderer(r.Context(), viewer).account(acc)
	if err != nil {
		a.writeError(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, j)
}

// shownAccount loads the account named by the {id} route variable, as
// viewer may see it: local people who are not active members are
// ErrNotFound to everyone but themselves.
func (a *API) shownAccount(r *http.Request, viewer *chapter.Account) (*chapter.Account, error) {
	id, err := pathID(r)
	if err != nil {
		return nil, err
	}
	acc, err := a.svc.Store().Account(r.Context(), id)
	if err != nil {
		return nil, err
	}
	if acc.Local() && !acc.Member() && (viewer == nil || viewer.ID != acc.ID) {
		return nil, fmt.Errorf("account %d is %q: %w", id, acc.State, chapter.ErrNotFound)
	}
	return acc, nil
}

// Account status page sizes, as on Mastodon.
const (
	defaultAccountStatusesLimit = 20
	maxAccountStatusesLimit     = 40
)

// accountStatuses lists an account's public and unlisted posts, newest
// first, with Mastodon's paging: GET /api/v1/accounts/{id}/statuses.
// Anyone may read it; a token, if sent, must be valid.
func (a *API) accountStatuses(w http.ResponseWriter, r *http.Request) {
	viewer, err := a.viewer(r)
	if err != nil {
		a.writeError(w, r, err)
		return
	}
	acc, err := a.shownAccount(r, viewer)
	if err != nil {
		a.writeError(w, r, err)
		return
	}
	q, err := accountStatusesQuery(r, acc.ID)
	if err != nil {
		a.writeError(w, r, err)
		return
	}
	var posts []*chapter.Post
	if q != nil {
		if posts, err = a.accountPosts(r.Context(), *q); err != nil {
			a.writeError(w, r, err)
			return
		}
	}
	list, err := a.renderer(r.Context(), viewer).statuses(posts)
	if err != nil {
		a.writeError(w, r, err)
		return
	}
	if len(posts) > 0 {
		a.setLink(w, r, posts[0].ID, posts[len(posts)-1].ID)
	}
	writeJSON(w, http.StatusOK, list)
}

// accountStatusesQuery reads the parameters of accountStatuses. A nil
// query means the page is empty whatever the account posted: this node
// has no pinned posts, no media and no hashtags, so pinned=true,
// only_media=true and tagged=… select nothing. (Clients ask for
// pinned=true first when they open a profile: answering with every post
// would show them all as pinned.)
func accountStatusesQuery(r *http.Request, accountID int64) (*chapter.TimelineQuery, error) {
	query := r.URL.Query()
	pg, err := parsePage(query)
	if err != nil {
		return nil, err
	}
	flags := map[string]bool{}
	for _, name := range []string{"exclude_replies", "exclude_reblogs", "only_media", "pinned"} {
		b, ok := parseBool(query.Get(name))
		if !ok {
			return nil, badRequest("%s must be true or false", name)
		}
		flags[name] = b
	}
	if flags["pinned"] || flags["only_media"] || query.Get("tagged") != "" {
		return nil, nil
	}
	limit := pg.Limit
	if limit <= 0 {
		limit = defaultAccountStatusesLimit
	}
	return &chapter.TimelineQuery{
		MaxID: pg.MaxID, SinceID: pg.SinceID, MinID: pg.MinID,
		Limit:     min(limit, maxAccountStatusesLimit),
		AccountID: accountID,
		// Followers-only and direct posts are left out for every viewer.
		Visibilities:   []chapter.Visibility{chapter.VisibilityPublic, chapter.VisibilityUnlisted},
		ExcludeReplies: flags["exclude_replies"],
		// exclude_reblogs needs nothing: boosts are not posts here.
	}, nil
}

// accountPosts reads one page of an account's posts, newest first.
func (a *API) accountPosts(ctx context.Context, q chapter.TimelineQuery) ([]*chapter.Post, error) {
	posts, err := a.svc.Store().Timeline(ctx, q)
	if err != nil {
		return nil, fmt.Errorf("posts of account %d: %w", q.AccountID, err)
	}
	newestFirst(posts)
	return posts, nil
}
