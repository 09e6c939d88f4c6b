package web

import (
	"bytes"
	"context"
	"encoding/xml"
	"errors"
	"io"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/chapterhouse/chapterhouse/chapter"
)

// parseFeed checks that a feed response is well-formed Atom and decodes
// it: the decode uses feed.go's own types, whose tags name the fields the
// test reads.
func parseFeed(t *testing.T, res response) *atomFeed {
	t.Helper()
	if res.status != http.StatusOK {
		t.Fatalf("status %d, want 200; body %s", res.status, res.body)
	}
	if ct := res.header.Get("Content-Type"); ct != "application/atom+xml; charset=utf-8" {
		t.Errorf("Content-Type %q", ct)
	}
	if !bytes.HasPrefix(res.body, []byte(`<?xml version="1.0" encoding="UTF-8"?>`)) {
		t.Errorf("no XML declaration: %.60s", res.body)
	}
	if !utf8.Valid(res.body) {
		t.Errorf("the feed is not UTF-8")
	}
	// Well-formed: a strict decoder reads every token to the end.
	dec := xml.NewDecoder(bytes.NewReader(res.body))
	dec.Strict = true
	roots := 0
	for depth := 0; ; {
		tok, err := dec.Token()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			t.Fatalf("the feed is not well-formed XML: %v\n%s", err, res.body)
		}
		switch tok := tok.(type) {
		case xml.StartElement:
			if depth == 0 {
				roots++
				if tok.Name.Space != "http://www.w3.org/2005/Atom" || tok.Name.Local != "feed" {
					t.Errorf("root element %v, want Atom's feed", tok.Name)
				}
			}
			depth++
		case xml.EndElement:
			depth--
		}
	}
	if roots != 1 {
		t.Errorf("%d root elements", roots)
	}
	var f atomFeed
	if err := xml.Unmarshal(res.body, &f); err != nil {
		t.Fatalf("decode feed: %v", err)
	}
	return &f
}

func entryIDs(f *atomFeed) []string {
	out := make([]string, len(f.Entries))
	for i, e := range f.Entries {
		out[i] = e.ID
	}
	return out
}

func link(links []atomLink, rel string) string {
	for _, l := range links {
		if l.Rel == rel {
			return l.Href
		}
	}
	return ""
}

func parseAtomTime(t *testing.T, s string) time.Time {
	t.Helper()
	tm, err := time.Parse(time.RFC3339, s)
	if err != nil {
		t.Fatalf("date %q: %v", s, err)
	}
	return tm
}

// TestAtomFeed reads the feed of the node and of nodes below it.
func TestAtomFeed(t *testing.T) {
	tr := newTree(t)
	e := tr.e

	t.Run("this node", func(t *testing.T) {
		f := parseFeed(t, e.do(t, request{path: "/feed.atom"}))
		if f.Title.Text != "Test national" {
			t.Errorf("title %q", f.Title.Text)
		}
		if f.ID != testPublicURL+"/feed.atom" {
			t.Errorf("id %q", f.ID)
		}
		if self := link(f.Links, "self"); self != testPublicURL+"/feed.atom" {
			t.Errorf("self link %q", self)
		}
		if alt := link(f.Links, "alternate"); alt != testPublicURL+"/" {
			t.Errorf("alternate link %q", alt)
		}
		if f.Subtitle == nil || f.Subtitle.Text != "We meet on Tuesdays." {
			t.Errorf("subtitle %+v", f.Subtitle)
		}
		want := []string{tr.local.URI, tr.northPost.IRI, tr.cityPost.IRI}
		if !slices.Equal(entryIDs(f), want) {
			t.Fatalf("entries %v, want %v", entryIDs(f), want)
		}
		if !parseAtomTime(t, f.Updated).Equal(parseAtomTime(t, f.Entries[0].Updated)) {
			t.Errorf("feed updated %s, newest entry %s", f.Updated, f.Entries[0].Updated)
		}

		local := f.Entries[0]
		if local.Title.Text != "Hello <b>world</b> & friends" {
			t.Errorf("local title %q: the member typed the tags, so they are text", local.Title.Text)
		}
		if local.Author.Name != "alice" || local.Author.URI != testPublicURL+"/@alice" {
			t.Errorf("local author %+v", local.Author)
		}
		if l := link(local.Links, "alternate"); l != tr.local.URL {
			t.Errorf("local link %q, want %q", l, tr.local.URL)
		}
		if local.Content.Type != "html" || local.Content.Text != tr.local.Content {
			t.Errorf("local content %+v, want html %q", local.Content, tr.local.Content)
		}

		north := f.Entries[1]
		if north.Title.Text != "From the north chapter" {
			t.Errorf("title %q", north.Title.Text)
		}
		if north.Author.Name != "Dan" || north.Author.URI != "https://north.test/@dan" {
			t.Errorf("author %+v", north.Author)
		}
		if l := link(north.Links, "alternate"); l != tr.northPost.URL {
			t.Errorf("link %q", l)
		}
		if !parseAtomTime(t, north.Published).Equal(tr.northPost.CreatedAt) ||
			!parseAtomTime(t, north.Updated).Equal(tr.northPost.CreatedAt) {
			t.Errorf("published %s updated %s, want %s", north.Published, north.Updated, tr.northPost.CreatedAt)
		}
		if north.Content.Type != "html" || north.Content.Text != tr.northPost.Content {
			t.Errorf("content %+v", north.Content)
		}
		if f.Entries[2].Author.Name != "carol" {
			t.Errorf("author without a display name: %+v", f.Entries[2].Author)
		}
	})

	t.Run("the city", func(t *testing.T) {
		f := parseFeed(t, e.do(t, request{path: "/feed.atom?node=%40city%40city.test"}))
		same := parseFeed(t, e.do(t, request{path: "/feed.atom?node=" + cityIRI}))
		if f.Title.Text != "City node" {
			t.Errorf("title %q", f.Title.Text)
		}
		wantID := testPublicURL + "/feed.atom?node=%40city%40city.test"
		if f.ID != wantID || same.ID != wantID || link(f.Links, "self") != wantID {
			t.Errorf("ids %q and %q, self %q, want %q", f.ID, same.ID, link(f.Links, "self"), wantID)
		}
		if alt := link(f.Links, "alternate"); alt != "https://city.test/@city" {
			t.Errorf("alternate link %q", alt)
		}
		if f.Subtitle == nil || f.Subtitle.Text != "The city's branch" {
			t.Errorf("subtitle %+v", f.Subtitle)
		}
		want := []string{tr.northPost.IRI, tr.cityPost.IRI}
		if !slices.Equal(entryIDs(f), want) || !slices.Equal(entryIDs(same), want) {
			t.Errorf("entries %v and %v, want %v", entryIDs(f), entryIDs(same), want)
		}
		if !parseAtomTime(t, f.Updated).Equal(tr.northPost.CreatedAt) {
			t.Errorf("updated %s, want %s", f.Updated, tr.northPost.CreatedAt)
		}
	})

	t.Run("the chapter", func(t *testing.T) {
		f := parseFeed(t, e.do(t, request{path: "/feed.atom?node=%40north%40north.test"}))
		if want := []string{tr.northPost.IRI}; !slices.Equal(entryIDs(f), want) {
			t.Errorf("entries %v, want %v", entryIDs(f), want)
		}
	})

	t.Run("this node by handle", func(t *testing.T) {
		f := parseFeed(t, e.do(t, request{path: "/feed.atom?node=%40chapter%40chapter.test"}))
		if f.ID != testPublicURL+"/feed.atom" || len(f.Entries) != 3 {
			t.Errorf("id %q with %d entries", f.ID, len(f.Entries))
		}
	})

	for _, node := range []string{"%40nobody%40nowhere.test", "%40rita%40remote.test", "%40alice%40chapter.test"} {
		t.Run("unknown "+node, func(t *testing.T) {
			res := e.do(t, request{path: "/feed.atom?node=" + node})
			if res.status != http.StatusNotFound {
				t.Errorf("status %d, want 404; body %s", res.status, res.body)
			}
		})
	}

	t.Run("HEAD and POST", func(t *testing.T) {
		if res := e.do(t, request{method: http.MethodHead, path: "/feed.atom"}); res.status != http.StatusOK ||
			!strings.HasPrefix(res.header.Get("Content-Type"), "application/atom+xml") {
			t.Errorf("HEAD: %d %q", res.status, res.header.Get("Content-Type"))
		}
		if res := e.do(t, request{method: http.MethodPost, path: "/feed.atom"}); res.status != http.StatusMethodNotAllowed {
			t.Errorf("POST: status %d, want 405", res.status)
		}
	})
}

// TestAtomFeedEmpty is a node without posts: a valid feed with no entries.
func TestAtomFeedEmpty(t *testing.T) {
	e := newTestEnv(t)
	f := parseFeed(t, e.do(t, request{path: "/feed.atom"}))
	if len(f.Entries) != 0 || f.Title.Text != "Test chapter" {
		t.Errorf("title %q, %d entries", f.Title.Text, len(f.Entries))
	}
	parseAtomTime(t, f.Updated)
}

// TestAtomFeedHostile puts markup, the XML end of a CDATA section and
// characters XML cannot hold in a post and an author's name: they must
// stay text, and the feed well-formed.
func TestAtomFeedHostile(t *testing.T) {
	ctx := context.Background()
	e := newTestEnv(t)
	mallory := &chapter.Account{Username: "mallory", Host: "evil.test", Kind: chapter.KindPerson,
		DisplayName: "</name></author><entry><id>forged</id></entry>\x00\x1b",
		ActorIRI:    "https://evil.test/users/mallory?a=1&b=<2>", InboxIRI: "https://evil.test/inbox"}
	if err := e.db.UpsertRemoteAccount(ctx, mallory); err != nil {
		t.Fatal(err)
	}
	g, err := e.svc.Group(ctx)
	if err != nil {
		t.Fatal(err)
	}
	content := `<p>x</p></content><script>alert("x")</script>]]><![CDATA[ &amp; & <!-- --> ` + "\x00\x0c\ufffe end"
	p := &chapter.Post{ID: chapter.IDAt(time.Now().Add(-time.Minute)), IRI: "https://evil.test/notes/1?x=<y>&z",
		URL: `https://evil.test/@mallory/1"onmouseover="x`, AccountID: mallory.ID, Content: content,
		Visibility: chapter.VisibilityPublic, Announced: true, Via: []string{g.ActorIRI}}
	if err := e.db.CreatePost(ctx, p, nil); err != nil {
		t.Fatal(err)
	}
	res := e.do(t, request{path: "/feed.atom"})
	f := parseFeed(t, res)
	if len(f.Entries) != 1 {
		t.Fatalf("%d entries, want 1 (no forged entry):\n%s", len(f.Entries), res.body)
	}
	for _, raw := range []string{"<script", "</content><", "<entry><id>forged", "<![CDATA[", "<!--"} {
		if bytes.Contains(res.body, []byte(raw)) {
			t.Errorf("%q is raw in the feed:\n%s", raw, res.body)
		}
	}
	en := f.Entries[0]
	// Characters XML cannot hold come back as U+FFFD; the rest unchanged.
	clean := func(s string) string {
		return strings.NewReplacer("\x00", "\ufffd", "\x1b", "\ufffd", "\x0c", "\ufffd", "\ufffe", "\ufffd").Replace(s)
	}
	if en.Content.Text != clean(content) {
		t.Errorf("content %q, want %q", en.Content.Text, clean(content))
	}
	if en.Author.Name != clean(mallory.DisplayName) || en.Author.URI != mallory.ActorIRI {
		t.Errorf("author %+v", en.Author)
	}
	if en.ID != p.IRI || link(en.Links, "alternate") != p.URL {
		t.Errorf("id %q link %q", en.ID, link(en.Links, "alternate"))
	}
	if strings.Contains(en.Title.Text, "<script") || strings.Contains(en.Title.Text, "<p>") {
		t.Errorf("title keeps markup: %q", en.Title.Text)
	}
}

// TestAtomFeedTitles cuts long posts and titles warned posts by their
// warning, and holds the newest 40 posts.
func TestAtomFeedTitles(t *testing.T) {
	ctx := context.Background()
	e := newTestEnv(t)
	e.addMember(t, "alice", chapter.RoleMember)
	long := strings.Repeat("word ", 20) + strings.Repeat("x", 100)
	cw := e.post(t, "alice", map[string]any{"status": "the spoiler", "spoiler_text": "Election results"})
	longPost := e.post(t, "alice", map[string]any{"status": long})
	unbroken := e.post(t, "alice", map[string]any{"status": strings.Repeat("é", 100)})

	f := parseFeed(t, e.do(t, request{path: "/feed.atom"}))
	titles := map[string]string{}
	for _, en := range f.Entries {
		titles[en.ID] = en.Title.Text
	}
	if got := titles[cw.URI]; got != "Election results" {
		t.Errorf("warned post titled %q", got)
	}
	if got, want := titles[longPost.URI], strings.TrimSpace(strings.Repeat("word ", 16))+"…"; got != want {
		t.Errorf("long post titled %q, want %q", got, want)
	}
	if got, want := titles[unbroken.URI], strings.Repeat("é", 80)+"…"; got != want {
		t.Errorf("unbroken post titled %q, want %q", got, want)
	}

	var newest string
	for i := range 45 {
		p, err := e.svc.CreatePost(ctx, e.ids["alice"], chapter.NewPost{Text: "bulk " + strconv.Itoa(i)})
		if err != nil {
			t.Fatal(err)
		}
		newest = p.IRI
	}
	f = parseFeed(t, e.do(t, request{path: "/feed.atom"}))
	if len(f.Entries) != 40 || f.Entries[0].ID != newest || f.Entries[0].Title.Text != "bulk 44" ||
		f.Entries[39].Title.Text != "bulk 5" {
		t.Errorf("%d entries, first %q %q, last %q", len(f.Entries), f.Entries[0].ID, f.Entries[0].Title.Text,
			f.Entries[len(f.Entries)-1].Title.Text)
	}
}
