package web

import (
	"net/http"
	"strings"
	"testing"

	"github.com/chapterhouse/chapterhouse/chapter"
)

// PUT /api/v1/statuses/{id}: the author edits their post; nobody else can.
func TestEditStatus(t *testing.T) {
	e := newTestEnv(t)
	e.addMember(t, "alice", chapter.RoleMember)
	e.addMember(t, "bob", chapter.RoleMember)
	post := e.post(t, "alice", map[string]any{"status": "first version"})

	cases := []struct {
		name, as, id, body string
		want               int
	}{
		{"author", "alice", post.ID, `{"status":"second <b>version</b>","spoiler_text":"cw"}`, 200},
		{"another member", "bob", post.ID, `{"status":"hijacked"}`, 403},
		{"no token", "", post.ID, `{"status":"anonymous"}`, 401},
		{"empty text", "alice", post.ID, `{"status":"  "}`, 422},
		{"unknown post", "alice", "123", `{"status":"nothing"}`, 404},
		{"malformed", "alice", post.ID, `{"status":`, 400},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			res := e.do(t, request{method: http.MethodPut, path: "/api/v1/statuses/" + tc.id, as: tc.as,
				contentType: "application/json", body: tc.body})
			if res.status != tc.want {
				t.Errorf("status %d, want %d: %s", res.status, tc.want, res.body)
			}
		})
	}
	got := ok[*statusJSON](t, e.do(t, request{path: "/api/v1/statuses/" + post.ID, as: "alice"}))
	if !strings.Contains(got.Content, "second &lt;b&gt;version&lt;/b&gt;") || got.SpoilerText != "cw" {
		t.Errorf("after edit: content %q, spoiler %q", got.Content, got.SpoilerText)
	}
}
