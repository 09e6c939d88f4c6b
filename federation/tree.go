package federation

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"

	"github.com/chapterhouse/chapterhouse/chapter"
)

// This file is the federation side of the organization's tree: the parent
// and children named in the Group's actor document, the children
// collection, and relays (Announces between linked nodes).

// treeFields adds the Group's place in the tree to its actor document:
// "parent" (the parent's Group, once asked) and "children" (a collection
// of linked member chapters). Other servers ignore the unknown terms.
func (f *Federation) treeFields(ctx context.Context, g *chapter.Account, m map[string]any) error {
	m["level"] = string(f.svc.Node().Level)
	m["children"] = f.urls.Actor(g.Username) + "/children"
	parents, err := f.store.Links(ctx, chapter.RoleParent)
	if err != nil {
		return fmt.Errorf("parent link: %w", err)
	}
	if len(parents) > 0 {
		m["parent"] = parents[0].Account.ActorIRI
	}
	return nil
}

// handleChildren serves the linked children of the Group, so that any node
// or tool can walk the tree.
func (f *Federation) handleChildren(w http.ResponseWriter, r *http.Request) {
	a, err := f.localAccount(r)
	if err == nil && a.Kind != chapter.KindGroup {
		err = fmt.Errorf("%q has no children: %w", a.Username, chapter.ErrNotFound)
	}
	if err != nil {
		f.writeError(w, r, err)
		return
	}
	links, err := f.store.Links(r.Context(), chapter.RoleChild)
	if err != nil {
		f.writeError(w, r, err)
		return
	}
	items := []any{}
	for _, l := range links {
		if l.State == chapter.LinkLinked {
			items = append(items, map[string]any{"id": l.Account.ActorIRI, "type": "Group", "level": string(l.Account.Level)})
		}
	}
	id := f.urls.Actor(a.Username) + "/children"
	writeActivityJSON(w, http.StatusOK, map[string]any{"@context": asContext, "id": id,
		"type": "OrderedCollection", "totalItems": len(items), "orderedItems": items})
}

// processAnnounce handles an Announce: from a linked node it is a relay
// of a post through the tree; from anyone else, a boost of one of ours.
func (f *Federation) processAnnounce(ctx context.Context, actor *chapter.Account, objectIRI string, raw map[string]any, activityIRI string) error {
	if actor.Kind == chapter.KindGroup {
		if l, err := f.store.Link(ctx, actor.ID); err == nil && l.State == chapter.LinkLinked {
			switch inner := asMap(raw["object"]); typeName(inner["type"]) {
			case "Delete":
				return f.relayedDelete(ctx, actor, stringOrID(inner["object"]))
			case "Update":
				return f.relayedEdit(ctx, actor, stringOrID(inner["object"]))
			}
			return f.relay(ctx, actor, objectIRI, stringList(raw["via"]))
		} else if err != nil && !errors.Is(err, chapter.ErrNotFound) {
			return fmt.Errorf("link with %q: %w", actor.ActorIRI, err)
		}
	}
	return f.svc.ReceiveInteraction(ctx, chapter.InteractionAnnounce, actor, objectIRI, activityIRI)
}

// relay fetches the announced post, unless we have it, and hands it to the
// service, which stores it once and announces it on.
func (f *Federation) relay(ctx context.Context, from *chapter.Account, objectIRI string, via []string) error {
	p, err := f.store.PostByIRI(ctx, objectIRI)
	if errors.Is(err, chapter.ErrNotFound) {
		p, err = f.fetchPost(ctx, objectIRI)
	}
	if err != nil {
		return fmt.Errorf("relayed post %q: %w", objectIRI, err)
	}
	_, err = f.svc.ReceiveRelay(ctx, from, p, via)
	return err
}

// fetchPost GETs a post by its id (signed, for servers in authorized-fetch
// mode) and converts it; the document must be where it says it is, and its
// author is fetched too.
func (f *Federation) fetchPost(ctx context.Context, iri string) (*chapter.Post, error) {
	body, err := f.get(ctx, iri, activityAccept, true)
	if err != nil {
		return nil, err
	}
	t, raw, err := parseActivity(ctx, body)
	if err != nil {
		return nil, err
	}
	o, ok := asPost(t)
	if !ok {
		return nil, fmt.Errorf("a %s is not a post: %w", t.GetTypeName(), chapter.ErrInvalid)
	}
	p, _, err := postFromObject(o, raw)
	if err != nil {
		return nil, err
	}
	if p.IRI != iri {
		return nil, fmt.Errorf("fetched %q but it claims id %q: %w", iri, p.IRI, chapter.ErrForbidden)
	}
	author, err := f.remoteActor(ctx, attributedTo(o), false)
	if err != nil {
		return nil, fmt.Errorf("author of %q: %w", iri, err)
	}
	if author.Host != hostOf(iri) {
		return nil, fmt.Errorf("post %q attributed to %q on another host: %w", iri, author.ActorIRI, chapter.ErrForbidden)
	}
	p.Author = author
	p.CreatedAt = clampTime(p.CreatedAt, f.now())
	return p, nil
}

// stringList reads a JSON value that is a string or a list of strings.
func stringList(v any) []string {
	switch x := v.(type) {
	case string:
		return []string{x}
	case []any:
		var out []string
		for _, e := range x {
			if s, ok := e.(string); ok {
				out = append(out, s)
			}
		}
		return out
	}
	return nil
}

// hostOf is the lower-cased host[:port] of an IRI.
func hostOf(iri string) string {
	u, err := url.Parse(iri)
	if err != nil {
		return ""
	}
	return strings.ToLower(u.Host)
}

// publishWithdraw takes back the Group's boost of a post that is gone at
// its source, for the followers who got the boost: Undo{Announce}, which
// Mastodon and others act on, and the deletion itself wrapped in an
// Announce (FEP-1b12 groups relay their members' Deletes this way), which
// parent nodes act on after checking the source. Only the author's server
// can sign a Delete of the post; these are the Group's own activities.
func (f *Federation) publishWithdraw(ctx context.Context, g *chapter.Account, p *chapter.Post, exclude []string) ([]chapter.Outgoing, error) {
	inboxes, err := f.groupInboxes(ctx, g, exclude)
	if err != nil || len(inboxes) == 0 {
		return nil, err
	}
	announce := f.announceID(g, p)
	undoID := announce + "/undo"
	undo, err := json.Marshal(map[string]any{"@context": asContext, "id": undoID, "type": "Undo", "actor": g.ActorIRI,
		"to": []string{publicIRI}, "cc": []string{f.urls.Followers(g.Username)},
		"object": map[string]any{"id": announce, "type": "Announce", "actor": g.ActorIRI, "object": p.IRI}})
	if err != nil {
		return nil, fmt.Errorf("marshal undo: %w", err)
	}
	relayID := announce + "/delete"
	relayed, err := json.Marshal(map[string]any{"@context": asContext, "id": relayID, "type": "Announce",
		"actor": g.ActorIRI, "to": []string{publicIRI}, "cc": []string{f.urls.Followers(g.Username)},
		"via": p.Via, "object": map[string]any{"id": p.IRI + "#delete", "type": "Delete",
			"actor": p.Author.ActorIRI, "object": map[string]any{"id": p.IRI, "type": "Tombstone"}}})
	if err != nil {
		return nil, fmt.Errorf("marshal relayed delete: %w", err)
	}
	return []chapter.Outgoing{
		{ActivityIRI: undoID, SignerID: g.ID, Body: undo, Inboxes: inboxes},
		{ActivityIRI: relayID, SignerID: g.ID, Body: relayed, Inboxes: inboxes},
	}, nil
}

// groupInboxes are the Group's followers' inboxes, less those of the
// excluded actors.
func (f *Federation) groupInboxes(ctx context.Context, g *chapter.Account, exclude []string) ([]string, error) {
	inboxes, err := f.store.FollowerInboxes(ctx, g.ID)
	if err != nil {
		return nil, fmt.Errorf("followers of the group: %w", err)
	}
	skip := map[string]bool{}
	for _, iri := range exclude {
		if a, err := f.store.AccountByIRI(ctx, iri); err == nil && !a.Local() {
			skip[a.DeliveryInbox()], skip[a.InboxIRI] = true, true
		}
	}
	return slices.DeleteFunc(inboxes, func(in string) bool { return skip[in] }), nil
}

// relayedDelete handles a linked node's word that a post is gone (an
// Announce of a Delete, or an Undo of its Announce): the post's id must
// answer 410 or 404 at its source before we believe it.
func (f *Federation) relayedDelete(ctx context.Context, from *chapter.Account, iri string) error {
	if _, err := f.store.PostByIRI(ctx, iri); errors.Is(err, chapter.ErrNotFound) {
		return nil
	}
	_, err := f.get(ctx, iri, activityAccept, true)
	var status errHTTPStatus
	if !errors.As(err, &status) || (status.code != http.StatusGone && status.code != http.StatusNotFound) {
		return fmt.Errorf("relayed deletion of %q, but its source does not say it is gone (%v): %w", iri, err, chapter.ErrForbidden)
	}
	return f.svc.ReceiveRelayedDelete(ctx, from, iri)
}

// publishRelayedEdit tells the followers who got the Group's boost of a post
// that it was edited at its source: an Announce of an Update naming the
// post. Parent nodes fetch the post from its source to see the change;
// only the author's server can sign the Update itself.
func (f *Federation) publishRelayedEdit(ctx context.Context, g *chapter.Account, p *chapter.Post, exclude []string) ([]chapter.Outgoing, error) {
	inboxes, err := f.groupInboxes(ctx, g, exclude)
	if err != nil || len(inboxes) == 0 {
		return nil, err
	}
	id := f.announceID(g, p) + "/edits/" + strconv.FormatInt(p.UpdatedAt.UnixMilli(), 10)
	body, err := json.Marshal(map[string]any{"@context": asContext, "id": id, "type": "Announce",
		"actor": g.ActorIRI, "to": []string{publicIRI}, "cc": []string{f.urls.Followers(g.Username)},
		"via": p.Via, "object": map[string]any{"id": p.IRI + "#updates/" + strconv.FormatInt(p.UpdatedAt.UnixMilli(), 10),
			"type": "Update", "actor": p.Author.ActorIRI, "object": p.IRI}})
	if err != nil {
		return nil, fmt.Errorf("marshal relayed edit: %w", err)
	}
	return []chapter.Outgoing{{ActivityIRI: id, SignerID: g.ID, Body: body, Inboxes: inboxes}}, nil
}

// relayedEdit handles a linked node's word that a post changed: the post
// is fetched again from its source, and only what the source says is kept.
func (f *Federation) relayedEdit(ctx context.Context, from *chapter.Account, iri string) error {
	if _, err := f.store.PostByIRI(ctx, iri); errors.Is(err, chapter.ErrNotFound) {
		return nil
	}
	fresh, err := f.fetchPost(ctx, iri)
	if err != nil {
		return fmt.Errorf("relayed edit of %q: %w", iri, err)
	}
	return f.svc.ReceiveRelayedEdit(ctx, from, fresh)
}
