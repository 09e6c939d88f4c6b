package web

import (
	"net/http"
	"sort"

	"github.com/chapterhouse/chapterhouse/chapter"
)

// createStatus publishes a member's post: POST /api/v1/statuses.
func (a *API) createStatus(w http.ResponseWriter, r *http.Request) {
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
	np, err := newPost(p)
	if err != nil {
		a.writeError(w, r, err)
		return
	}
	post, err := a.idem.do(r.Context(), me.ID, r.Header.Get("Idempotency-Key"),
		func() (*chapter.Post, error) { return a.svc.CreatePost(r.Context(), me.ID, np) },
		func(id int64) (*chapter.Post, error) { return a.svc.Post(r.Context(), me, id) })
	if err != nil {
		a.writeError(w, r, err)
		return
	}
	a.writeStatus(w, r, me, post, false)
}

// newPost reads Mastodon's status parameters. Shapes that are wrong (an id
// that is not a number) are 400; rules the post breaks are the service's
// to judge (422).
func newPost(p params) (chapter.NewPost, error) {
	replyTo, err := p.id("in_reply_to_id")
	if err != nil {
		return chapter.NewPost{}, err
	}
	sensitive, err := p.bool("sensitive")
	if err != nil {
		return chapter.NewPost{}, err
	}
	visibility, err := chapter.ParseVisibility(p["visibility"])
	if err != nil {
		return chapter.NewPost{}, err
	}
	return chapter.NewPost{Text: p["status"], Visibility: visibility, InReplyToID: replyTo,
		Language: p["language"], Summary: p["spoiler_text"], Sensitive: sensitive}, nil
}

// getStatus shows one post: GET /api/v1/statuses/{id}.
func (a *API) getStatus(w http.ResponseWriter, r *http.Request) {
	viewer, err := a.viewer(r)
	if err != nil {
		a.writeError(w, r, err)
		return
	}
	id, err := pathID(r)
	if err != nil {
		a.writeError(w, r, err)
		return
	}
	post, err := a.svc.Post(r.Context(), viewer, id)
	if err != nil {
		a.writeError(w, r, err)
		return
	}
	a.writeStatus(w, r, viewer, post, false)
}

// deleteStatus deletes a post (its author, or an admin moderating):
// DELETE /api/v1/statuses/{id}. Like Mastodon it answers with the deleted
// post and its source text, so a client can offer "delete and redraft".
func (a *API) deleteStatus(w http.ResponseWriter, r *http.Request) {
	me, err := a.member(r)
	if err != nil {
		a.writeError(w, r, err)
		return
	}
	id, err := pathID(r)
	if err != nil {
		a.writeError(w, r, err)
		return
	}
	post, err := a.svc.DeletePost(r.Context(), me.ID, id)
	if err != nil {
		a.writeError(w, r, err)
		return
	}
	a.writeStatus(w, r, me, post, true)
}

// editStatus changes the text of the member's own post, as Mastodon's
// PUT /api/v1/statuses/{id} does (status, spoiler_text, sensitive,
// language); followers, and the tree above when the Group boosted it, get
// the edit.
func (a *API) editStatus(w http.ResponseWriter, r *http.Request) {
	me, err := a.member(r)
	if err != nil {
		a.writeError(w, r, err)
		return
	}
	id, err := pathID(r)
	if err != nil {
		a.writeError(w, r, err)
		return
	}
	p, err := a.readParams(w, r)
	if err != nil {
		a.writeError(w, r, err)
		return
	}
	np, err := newPost(p)
	if err != nil {
		a.writeError(w, r, err)
		return
	}
	post, err := a.svc.EditPost(r.Context(), me.ID, id, np)
	if err != nil {
		a.writeError(w, r, err)
		return
	}
	a.writeStatus(w, r, me, post, false)
}

// statusContext shows the thread around a post:
// GET /api/v1/statuses/{id}/context.
func (a *API) statusContext(w http.ResponseWriter, r *http.Request) {
	viewer, err := a.viewer(r)
	if err != nil {
		a.writeError(w, r, err)
		return
	}
	id, err := pathID(r)
	if err != nil {
		a.writeError(w, r, err)
		return
	}
	ancestors, descendants, err := a.svc.Context(r.Context(), viewer, id)
	if err != nil {
		a.writeError(w, r, err)
		return
	}
	rd := a.renderer(r.Context(), viewer)
	var c contextJSON
	if c.Ancestors, err = rd.statuses(ancestors); err == nil {
		c.Descendants, err = rd.statuses(descendants)
	}
	if err != nil {
		a.writeError(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, c)
}

// writeStatus replies with one post; withSource adds the text its author
// typed (only ever for the author, on delete).
func (a *API) writeStatus(w http.ResponseWriter, r *http.Request, viewer *chapter.Account, p *chapter.Post, withSource bool) {
	s, err := a.renderer(r.Context(), viewer).status(p)
	if err != nil {
		a.writeError(w, r, err)
		return
	}
	if withSource {
		s.Text = &p.Source
	}
	writeJSON(w, http.StatusOK, s)
}

// newestFirst orders a page of posts by id, descending, as Mastodon
// returns every page, whichever way the store read it (a min_id page is
// read oldest first).
func newestFirst(posts []*chapter.Post) {
	sort.SliceStable(posts, func(i, j int) bool { return posts[i].ID > posts[j].ID })
}
