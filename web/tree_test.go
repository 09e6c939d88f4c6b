package web

import (
	"context"
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"testing"
	"time"

	"github.com/chapterhouse/chapterhouse/chapter"
)

// tree is a national node, @chapter@chapter.test, with a city below it
// and a chapter below the city, as the store holds them once relays have
// come up the tree: a city member's post announced by the city, a chapter
// member's post announced by the chapter and the city, an unlisted post
// from the chapter, a remote post that did not come through the tree and
// a local member's post, in that order.
type tree struct {
	e           *testEnv
	city, north *chapter.Account
	// Posts, oldest first.
	cityPost, northPost, unlisted, stray *chapter.Post
	local                                *statusJSON
}

const (
	cityIRI  = "https://city.test/users/city"
	northIRI = "https://north.test/users/north"
)

func newTree(t *testing.T) *tree {
	t.Helper()
	e := newTestEnvNode(t, nil, func(n *chapter.Node) {
		n.Name, n.Level = "Test national", chapter.LevelNational
	})
	tr := &tree{e: e}
	tr.city = tr.remote(t, &chapter.Account{Username: "city", Host: "city.test", Kind: chapter.KindGroup,
		Level: chapter.LevelCity, DisplayName: "City node", Bio: "<p>The city&#39;s branch</p>",
		ActorIRI: cityIRI, URL: "https://city.test/@city", ParentIRI: testPublicURL + "/users/chapter"})
	tr.north = tr.remote(t, &chapter.Account{Username: "north", Host: "north.test", Kind: chapter.KindGroup,
		Level: chapter.LevelChapter, DisplayName: "North chapter", ActorIRI: northIRI, ParentIRI: cityIRI})
	carol := tr.remote(t, &chapter.Account{Username: "carol", Host: "city.test",
		ActorIRI: "https://city.test/users/carol", URL: "https://city.test/@carol"})
	dan := tr.remote(t, &chapter.Account{Username: "dan", Host: "north.test", DisplayName: "Dan",
		ActorIRI: "https://north.test/users/dan", URL: "https://north.test/@dan"})
	rita := tr.remote(t, &chapter.Account{Username: "rita", Host: "remote.test",
		ActorIRI: "https://remote.test/users/rita"})

	base := time.Now().Add(-time.Hour).Truncate(time.Second)
	tr.cityPost = tr.post(t, carol, &chapter.Post{Content: "<p>From the city</p>",
		Via: []string{cityIRI}, Announced: true, CreatedAt: base})
	tr.northPost = tr.post(t, dan, &chapter.Post{Content: "<p>From the <b>north</b> chapter</p>",
		Via: []string{northIRI, cityIRI}, Announced: true, CreatedAt: base.Add(time.Minute)})
	tr.unlisted = tr.post(t, dan, &chapter.Post{Content: "<p>Quietly</p>", Visibility: chapter.VisibilityUnlisted,
		Via: []string{northIRI, cityIRI}, CreatedAt: base.Add(2 * time.Minute)})
	tr.stray = tr.post(t, rita, &chapter.Post{Content: "<p>Not through the tree</p>", CreatedAt: base.Add(3 * time.Minute)})
	e.addMember(t, "alice", chapter.RoleMember)
	tr.local = e.post(t, "alice", map[string]any{"status": "Hello <b>world</b> & friends"})
	return tr
}

func (tr *tree) remote(t *testing.T, a *chapter.Account) *chapter.Account {
	t.Helper()
	if a.Kind == "" {
		a.Kind = chapter.KindPerson
	}
	a.InboxIRI = a.ActorIRI + "/inbox"
	if err := tr.e.db.UpsertRemoteAccount(context.Background(), a); err != nil {
		t.Fatalf("upsert %s: %v", a.ActorIRI, err)
	}
	return a
}

// post stores a remote post by author at p.CreatedAt.
func (tr *tree) post(t *testing.T, author *chapter.Account, p *chapter.Post) *chapter.Post {
	t.Helper()
	p.ID = chapter.IDAt(p.CreatedAt)
	p.AccountID, p.Author = author.ID, author
	p.IRI = fmt.Sprintf("https://%s/users/%s/statuses/%d", author.Host, author.Username, p.ID)
	p.URL = fmt.Sprintf("https://%s/@%s/%d", author.Host, author.Username, p.ID)
	if p.Visibility == "" {
		p.Visibility = chapter.VisibilityPublic
	}
	if err := tr.e.db.CreatePost(context.Background(), p, nil); err != nil {
		t.Fatalf("create post %q: %v", p.Content, err)
	}
	return p
}

func postID(p *chapter.Post) string { return strconv.FormatInt(p.ID, 10) }

// TestPublicTimelineNode reads the public timeline of each node of the
// tree with ?node=.
func TestPublicTimelineNode(t *testing.T) {
	tr := newTree(t)
	all := []string{tr.local.ID, postID(tr.northPost), postID(tr.cityPost)}
	city := []string{postID(tr.northPost), postID(tr.cityPost)}
	north := []string{postID(tr.northPost)}
	cases := []struct {
		name, node string
		want       []string
	}{
		{"no node", "", all},
		{"this node", "@chapter@chapter.test", all},
		{"this node without @", "chapter@chapter.test", all},
		{"this node's actor", testPublicURL + "/users/chapter", all},
		{"the city", "@city@city.test", city},
		{"the city's actor", cityIRI, city},
		{"the chapter", "@north@north.test", north},
		{"the chapter's actor", northIRI, north},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			path := "/api/v1/timelines/public"
			if tc.node != "" {
				path += "?node=" + url.QueryEscape(tc.node)
			}
			got := ok[[]*statusJSON](t, tr.e.do(t, request{path: path}))
			if !slices.Equal(ids(got), tc.want) {
				t.Errorf("ids = %v, want %v", ids(got), tc.want)
			}
		})
	}

	for _, node := range []string{"@nobody@nowhere.test", "https://nowhere.test/users/x",
		"@rita@remote.test", "@alice@chapter.test", "@nobody@chapter.test"} {
		for _, extra := range []string{"", "&only_media=true"} {
			t.Run("unknown "+node+extra, func(t *testing.T) {
				res := tr.e.do(t, request{path: "/api/v1/timelines/public?node=" + url.QueryEscape(node) + extra})
				if res.status != http.StatusNotFound {
					t.Fatalf("status %d, want 404; body %s", res.status, res.body)
				}
				if e := decode[errorJSON](t, res); e.Error == "" {
					t.Errorf("no error message: %s", res.body)
				}
			})
		}
	}

	t.Run("only_media", func(t *testing.T) {
		got := ok[[]*statusJSON](t, tr.e.do(t, request{path: "/api/v1/timelines/public?only_media=true&node=%40city%40city.test"}))
		if got == nil || len(got) != 0 {
			t.Errorf("got %v, want []", ids(got))
		}
	})

	t.Run("paging keeps the node", func(t *testing.T) {
		var seen []string
		path := "/api/v1/timelines/public?limit=1&node=" + url.QueryEscape("@city@city.test")
		for range 5 {
			res := tr.e.do(t, request{path: path})
			page := ok[[]*statusJSON](t, res)
			if len(page) == 0 {
				break
			}
			seen = append(seen, ids(page)...)
			next, prev := parseLink(t, res.header.Get("Link"))
			if next.Get("node") != "@city@city.test" || prev.Get("node") != "@city@city.test" {
				t.Fatalf("Link drops the node: %q", res.header.Get("Link"))
			}
			path = "/api/v1/timelines/public?" + next.Encode()
		}
		if !slices.Equal(seen, city) {
			t.Errorf("walked %v, want %v", seen, city)
		}
		res := tr.e.do(t, request{path: "/api/v1/timelines/public?node=%40city%40city.test&min_id=" + postID(tr.cityPost)})
		if got := ok[[]*statusJSON](t, res); !slices.Equal(ids(got), north) {
			t.Errorf("min_id: ids = %v, want %v", ids(got), north)
		}
	})
}
