package federation

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"

	"github.com/chapterhouse/chapterhouse/chapter"
)

var _ chapter.Directory = (*Federation)(nil)

// handleDirectory answers GET /directory?region=…: this node's members near
// a place, and its subtree's (each node asks its own children), as JSON,
// for a parent's "find members near you". Only members who gave a region
// are listed: giving one is opting in.
func (f *Federation) handleDirectory(w http.ResponseWriter, r *http.Request) {
	entries, err := f.svc.FindMembersNear(r.Context(), r.URL.Query().Get("region"))
	if err != nil {
		f.writeError(w, r, err)
		return
	}
	if entries == nil {
		entries = []chapter.DirectoryEntry{}
	}
	writeJSON(w, http.StatusOK, "application/json; charset=utf-8", entries)
}

// SearchMembers implements chapter.Directory: it asks a child node's
// /directory, with the usual guarded, signed and bounded request.
func (f *Federation) SearchMembers(ctx context.Context, node *chapter.Account, region string) ([]chapter.DirectoryEntry, error) {
	base, err := url.Parse(node.ActorIRI)
	if err != nil || base.Host == "" {
		return nil, fmt.Errorf("node %q: %w", node.ActorIRI, errMalformed)
	}
	u := base.Scheme + "://" + base.Host + "/directory?region=" + url.QueryEscape(region)
	body, err := f.get(ctx, u, "application/json", true)
	if err != nil {
		return nil, fmt.Errorf("directory of %q: %w", node.Acct(), err)
	}
	var entries []chapter.DirectoryEntry
	if err := json.Unmarshal(body, &entries); err != nil {
		return nil, fmt.Errorf("directory of %q: %v: %w", node.Acct(), err, errMalformed)
	}
	if len(entries) > 200 {
		entries = entries[:200]
	}
	return entries, nil
}
