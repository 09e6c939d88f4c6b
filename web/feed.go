package web

import (
	"context"
	"encoding/xml"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/chapterhouse/chapterhouse/chapter"
)

// This file serves the node's public timeline as an Atom 1.0 feed (RFC
// 4287), for feed readers and for people without a fediverse account.
// Written with encoding/xml: github.com/gorilla/feeds was considered, but
// its Atom feed holds one link only, and a feed needs rel="self" and
// rel="alternate". encoding/xml escapes all text and attributes and
// replaces characters XML cannot hold, so whatever a post contains the
// feed stays well-formed.

// feedSize is how many of the newest posts a feed holds.
const feedSize = 40

// feedTitleLength is how many characters of a post's text make the title
// of its entry.
const feedTitleLength = 80

type atomFeed struct {
	XMLName   xml.Name      `xml:"http://www.w3.org/2005/Atom feed"`
	ID        string        `xml:"id"`
	Title     atomText      `xml:"title"`
	Subtitle  *atomText     `xml:"subtitle,omitempty"`
	Updated   string        `xml:"updated"`
	Links     []atomLink    `xml:"link"`
	Generator atomGenerator `xml:"generator"`
	Entries   []atomEntry   `xml:"entry"`
}

type atomEntry struct {
	ID        string     `xml:"id"`
	Title     atomText   `xml:"title"`
	Links     []atomLink `xml:"link"`
	Author    atomPerson `xml:"author"`
	Published string     `xml:"published"`
	Updated   string     `xml:"updated"`
	Content   atomText   `xml:"content"`
}

// atomText is a text construct: Type "" is plain text, "html" escaped HTML.
type atomText struct {
	Type string `xml:"type,attr,omitempty"`
	Text string `xml:",chardata"`
}

type atomLink struct {
	Rel  string `xml:"rel,attr"`
	Type string `xml:"type,attr,omitempty"`
	Href string `xml:"href,attr"`
}

type atomPerson struct {
	Name string `xml:"name"`
	URI  string `xml:"uri,omitempty"`
}

type atomGenerator struct {
	URI     string `xml:"uri,attr"`
	Version string `xml:"version,attr"`
	Name    string `xml:",chardata"`
}

// atomTime is an Atom date: RFC 3339 in UTC.
func atomTime(t time.Time) string { return t.UTC().Format(time.RFC3339) }

// atomFeedHandler serves GET /feed.atom: the newest public posts of the
// node with its subtree, or with ?node=@handle@host (or the node's actor
// URL) those of one node of the tree, as in GET /api/v1/timelines/public.
func (a *API) atomFeedHandler(w http.ResponseWriter, r *http.Request) {
	ctx := r.Context()
	node, own, err := a.feedNode(ctx, strings.TrimSpace(r.URL.Query().Get("node")))
	if err != nil {
		a.writeError(w, r, err)
		return
	}
	q := chapter.TimelineQuery{Limit: feedSize}
	var posts []*chapter.Post
	if own {
		posts, err = a.svc.PublicTimeline(ctx, q)
	} else {
		posts, err = a.svc.SubtreeTimeline(ctx, node.ActorIRI, q)
	}
	if err != nil {
		a.writeError(w, r, err)
		return
	}
	newestFirst(posts)
	feed, err := a.atomFeed(ctx, node, own, posts)
	if err != nil {
		a.writeError(w, r, err)
		return
	}
	body, err := xml.MarshalIndent(feed, "", "  ")
	if err != nil {
		a.writeError(w, r, fmt.Errorf("encode feed: %w", err))
		return
	}
	h := w.Header()
	h.Set("Content-Type", "application/atom+xml; charset=utf-8")
	h.Set("X-Content-Type-Options", "nosniff")
	w.WriteHeader(http.StatusOK)
	_, _ = w.Write([]byte(xml.Header))
	_, _ = w.Write(append(body, '\n'))
}

// feedNode finds the node a feed is about: this one when ref is empty,
// else the Group that ref names, read as SubtreeTimeline reads it. own
// tells whether it is this node.
func (a *API) feedNode(ctx context.Context, ref string) (node *chapter.Account, own bool, err error) {
	g, err := a.svc.Group(ctx)
	if err != nil || ref == "" {
		return g, true, err
	}
	if node, err = a.svc.NodeAccount(ctx, ref); err != nil {
		return nil, false, err
	}
	return node, node.ID == g.ID, nil
}

// atomFeed builds the feed of node from its posts, newest first.
func (a *API) atomFeed(ctx context.Context, node *chapter.Account, own bool, posts []*chapter.Post) (*atomFeed, error) {
	rd := a.renderer(ctx, nil)
	self := a.publicURL + "/feed.atom"
	title, alternate, summary := a.svc.Node().Name, a.publicURL+"/", a.svc.Node().Summary
	if !own {
		self += "?node=" + url.QueryEscape("@"+node.Acct())
		title, alternate, summary = displayName(node), rd.accountURL(node), htmlToText(node.Bio)
	}
	if title == "" {
		title = node.Username
	}
	f := &atomFeed{
		ID: self, Title: atomText{Text: title},
		Links: []atomLink{
			{Rel: "self", Type: "application/atom+xml", Href: self},
			{Rel: "alternate", Type: "text/html", Href: alternate},
		},
		Generator: atomGenerator{URI: sourceURL, Version: a.version, Name: "Chapterhouse"},
		Entries:   make([]atomEntry, 0, len(posts)),
	}
	if summary != "" {
		f.Subtitle = &atomText{Text: summary}
	}
	updated := node.UpdatedAt
	if updated.IsZero() {
		updated = node.CreatedAt
	}
	if len(posts) > 0 {
		updated = time.Time{} // the newest post's time, not the node's
	}
	for _, p := range posts {
		author := p.Author
		if author == nil {
			var err error
			if author, err = rd.store.Account(ctx, p.AccountID); err != nil {
				return nil, fmt.Errorf("author of post %d: %w", p.ID, err)
			}
		}
		link := p.URL
		if link == "" {
			link = p.IRI
		}
		changed := p.CreatedAt
		if edited(p) {
			changed = p.UpdatedAt
		}
		if changed.After(updated) {
			updated = changed
		}
		f.Entries = append(f.Entries, atomEntry{
			ID: p.IRI, Title: atomText{Text: entryTitle(p, author)},
			Links:  []atomLink{{Rel: "alternate", Type: "text/html", Href: link}},
			Author: atomPerson{Name: displayName(author), URI: rd.accountURL(author)},
			// The stored HTML is sanitized; encoding/xml escapes it.
			Published: atomTime(p.CreatedAt), Updated: atomTime(changed),
			Content: atomText{Type: "html", Text: p.Content},
		})
	}
	f.Updated = atomTime(updated)
	return f, nil
}

// displayName is an account's display name, else its username.
func displayName(a *chapter.Account) string {
	if strings.TrimSpace(a.DisplayName) != "" {
		return a.DisplayName
	}
	return a.Username
}

// entryTitle is the start of a post's text, without HTML. A post with a
// content warning is titled by its warning, so a feed reader's list of
// titles does not show what the warning hides.
func entryTitle(p *chapter.Post, author *chapter.Account) string {
	text := p.Summary
	if strings.TrimSpace(text) == "" {
		text = htmlToText(p.Content)
	}
	if t := excerpt(text, feedTitleLength); t != "" {
		return t
	}
	return "Post by " + displayName(author)
}

// excerpt collapses the white space of s and cuts it to about n
// characters, at a word boundary when there is one not too far back.
func excerpt(s string, n int) string {
	s = strings.Join(strings.Fields(s), " ")
	runes := []rune(s)
	if len(runes) <= n {
		return s
	}
	cut := string(runes[:n])
	if i := strings.LastIndexByte(cut, ' '); i > len(cut)/2 {
		cut = cut[:i]
	}
	return strings.TrimRight(cut, " ,.;:") + "…"
}
