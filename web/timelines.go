package web

import (
	"net/http"

	"github.com/chapterhouse/chapterhouse/chapter"
)

// publicTimeline lists the node's public posts, newest first, with
// Mastodon's paging: GET /api/v1/timelines/public. On a parent node these
// are its own and its descendants' posts (what its Group announced).
// Anyone may read it; a token, if sent, must be valid.
func (a *API) publicTimeline(w http.ResponseWriter, r *http.Request) {
	viewer, err := a.viewer(r)
	if err != nil {
		a.writeError(w, r, err)
		return
	}
	pg, err := parsePage(r.URL.Query())
	if err != nil {
		a.writeError(w, r, err)
		return
	}
	posts, err := a.publicPosts(r, pg)
	if err != nil {
		a.writeError(w, r, err)
		return
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

// publicPosts reads one page. No post here has media, so only_media=true
// is an empty page.
func (a *API) publicPosts(r *http.Request, pg page) ([]*chapter.Post, error) {
	if onlyMedia, ok := parseBool(r.URL.Query().Get("only_media")); !ok {
		return nil, badRequest("only_media must be true or false")
	} else if onlyMedia {
		return nil, nil
	}
	posts, err := a.svc.PublicTimeline(r.Context(), chapter.TimelineQuery{
		MaxID: pg.MaxID, SinceID: pg.SinceID, MinID: pg.MinID, Limit: pg.Limit})
	if err != nil {
		return nil, err
	}
	newestFirst(posts)
	return posts, nil
}
