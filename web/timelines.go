package web

import (
	"net/http"
	"strings"

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

// publicPosts reads one page. With node=@handle@host (or the node's actor
// URL) it is that node's part of the tree, as this node sees it: the posts
// that came up through it; this node's own handle means the whole public
// timeline, and a node this one does not know is a 404. No post here has
// media, so only_media=true is an empty page (once the node is known).
func (a *API) publicPosts(r *http.Request, pg page) ([]*chapter.Post, error) {
	params := r.URL.Query()
	onlyMedia, ok := parseBool(params.Get("only_media"))
	if !ok {
		return nil, badRequest("only_media must be true or false")
	}
	q := chapter.TimelineQuery{MaxID: pg.MaxID, SinceID: pg.SinceID, MinID: pg.MinID, Limit: pg.Limit}
	var posts []*chapter.Post
	var err error
	switch node := strings.TrimSpace(params.Get("node")); {
	case node != "":
		if onlyMedia {
			q.Limit = 1 // only to tell an unknown node
		}
		posts, err = a.svc.SubtreeTimeline(r.Context(), node, q)
	case onlyMedia:
		return nil, nil
	default:
		posts, err = a.svc.PublicTimeline(r.Context(), q)
	}
	if err != nil || onlyMedia {
		return nil, err
	}
	newestFirst(posts)
	return posts, nil
}
