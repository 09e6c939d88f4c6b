package web

import (
	"net/url"
	"regexp"
	"slices"
	"strings"
	"testing"
)

// TestPublicTimelinePaging pages through the public timeline the ways
// Mastodon clients do, following the Link header.
func TestPublicTimelinePaging(t *testing.T) {
	e := newTestEnv(t)
	e.addMember(t, "alice", "member")
	var p []string // p[0] is the oldest public post
	for i := range 5 {
		p = append(p, e.post(t, "alice", map[string]any{"status": "public " + string(rune('a'+i))}).ID)
	}
	// Neither of these belongs on the public timeline.
	e.post(t, "alice", map[string]any{"status": "unlisted", "visibility": "unlisted"})
	e.post(t, "alice", map[string]any{"status": "members only", "visibility": "private"})

	cases := []struct {
		name     string
		query    string
		want     []string
		wantNext string // max_id of rel="next"; "" when no Link header
		wantPrev string // min_id of rel="prev"
	}{
		{"newest", "limit=2", []string{p[4], p[3]}, p[3], p[4]},
		{"default limit", "", []string{p[4], p[3], p[2], p[1], p[0]}, p[0], p[4]},
		{"max_id: older", "max_id=" + p[3] + "&limit=2", []string{p[2], p[1]}, p[1], p[2]},
		{"since_id: newest after", "since_id=" + p[1] + "&limit=2", []string{p[4], p[3]}, p[3], p[4]},
		{"min_id: right after", "min_id=" + p[1] + "&limit=2", []string{p[3], p[2]}, p[2], p[3]},
		{"max_id and since_id", "max_id=" + p[4] + "&since_id=" + p[0], []string{p[3], p[2], p[1]}, p[1], p[3]},
		{"past the end", "max_id=" + p[0], nil, "", ""},
		{"only_media", "only_media=true", nil, "", ""},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			res := e.do(t, request{path: "/api/v1/timelines/public?" + tc.query})
			got := ok[[]*statusJSON](t, res)
			if !slices.Equal(ids(got), tc.want) {
				t.Errorf("ids = %v, want %v", ids(got), tc.want)
			}
			if got == nil {
				t.Errorf("an empty page must be [], not null")
			}
			next, prev := parseLink(t, res.header.Get("Link"))
			if next.Get("max_id") != tc.wantNext || prev.Get("min_id") != tc.wantPrev {
				t.Errorf("Link next max_id %q prev min_id %q, want %q %q (header %q)",
					next.Get("max_id"), prev.Get("min_id"), tc.wantNext, tc.wantPrev, res.header.Get("Link"))
			}
			if tc.wantNext != "" && next.Get("limit") != mustQuery(t, tc.query).Get("limit") {
				t.Errorf("Link drops the limit: %q", res.header.Get("Link"))
			}
		})
	}

	t.Run("follow next links to the end", func(t *testing.T) {
		var seen []string
		path := "/api/v1/timelines/public?limit=2"
		for range 10 {
			res := e.do(t, request{path: path})
			page := ok[[]*statusJSON](t, res)
			if len(page) == 0 {
				break
			}
			seen = append(seen, ids(page)...)
			next, _ := parseLink(t, res.header.Get("Link"))
			path = "/api/v1/timelines/public?" + next.Encode()
		}
		if want := []string{p[4], p[3], p[2], p[1], p[0]}; !slices.Equal(seen, want) {
			t.Errorf("walked %v, want %v", seen, want)
		}
	})
}

var linkRE = regexp.MustCompile(`<([^>]+)>; rel="(next|prev)"`)

// parseLink returns the query parameters of the next and prev links.
func parseLink(t *testing.T, header string) (next, prev url.Values) {
	t.Helper()
	next, prev = url.Values{}, url.Values{}
	for _, m := range linkRE.FindAllStringSubmatch(header, -1) {
		u, err := url.Parse(m[1])
		if err != nil {
			t.Fatalf("Link %q: %v", header, err)
		}
		if !strings.HasPrefix(m[1], testPublicURL+"/api/") {
			t.Errorf("Link URL %q does not start with the public URL", m[1])
		}
		if m[2] == "next" {
			next = u.Query()
		} else {
			prev = u.Query()
		}
	}
	return next, prev
}

func mustQuery(t *testing.T, q string) url.Values {
	t.Helper()
	v, err := url.ParseQuery(q)
	if err != nil {
		t.Fatal(err)
	}
	return v
}
