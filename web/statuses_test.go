package web

import (
	"bytes"
	"context"
	"mime/multipart"
	"net/http"
	"net/url"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/chapterhouse/chapterhouse/chapter"
)

var mastodonTimeRE = regexp.MustCompile(`^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$`)

// TestStatusLifecycle posts, reads, threads and deletes through the API.
func TestStatusLifecycle(t *testing.T) {
	e := newTestEnv(t)
	for _, name := range []string{"alice", "bob", "carol"} {
		e.addMember(t, name, "member")
	}

	root := e.post(t, "alice", map[string]any{"status": "Meeting on Tuesday at the library.", "language": "en"})
	if _, err := strconv.ParseInt(root.ID, 10, 64); err != nil {
		t.Errorf("id %q is not a decimal string", root.ID)
	}
	checks := []struct{ name, got, want string }{
		{"uri", root.URI, testPublicURL + "/users/alice/statuses/" + root.ID},
		{"url", root.URL, testPublicURL + "/@alice/" + root.ID},
		{"content", root.Content, "<p>Meeting on Tuesday at the library.</p>"},
		{"visibility", root.Visibility, "public"},
		{"language", deref(root.Language), "en"},
		{"in_reply_to_id", deref(root.InReplyToID), "<null>"},
		{"account.username", root.Account.Username, "alice"},
		{"account.acct", root.Account.Acct, "alice"},
		{"account.id", root.Account.ID, strconv.FormatInt(e.ids["alice"], 10)},
		{"account.url", root.Account.URL, testPublicURL + "/@alice"},
		{"account.uri", root.Account.URI, testPublicURL + "/users/alice"},
		{"account.avatar", root.Account.Avatar, testPublicURL + "/static/avatar.png"},
		{"text (only on delete)", deref(root.Text), "<null>"},
	}
	for _, c := range checks {
		if c.got != c.want {
			t.Errorf("%s = %q, want %q", c.name, c.got, c.want)
		}
	}
	if !mastodonTimeRE.MatchString(root.CreatedAt) {
		t.Errorf("created_at %q is not RFC 3339 with milliseconds in UTC", root.CreatedAt)
	}

	got := ok[*statusJSON](t, e.do(t, request{path: "/api/v1/statuses/" + root.ID}))
	if got.ID != root.ID || got.Content != root.Content {
		t.Errorf("GET as anonymous = %s %q, want %s %q", got.ID, got.Content, root.ID, root.Content)
	}

	reply := e.post(t, "bob", map[string]any{"status": "I'll bring chairs.", "in_reply_to_id": root.ID})
	if deref(reply.InReplyToID) != root.ID || deref(reply.InReplyToAccountID) != root.Account.ID {
		t.Errorf("reply: in_reply_to_id %s, in_reply_to_account_id %s; want %s, %s",
			deref(reply.InReplyToID), deref(reply.InReplyToAccountID), root.ID, root.Account.ID)
	}
	if len(reply.Mentions) != 1 || reply.Mentions[0].Acct != "alice" || reply.Mentions[0].ID != root.Account.ID {
		t.Errorf("reply mentions = %+v, want alice", reply.Mentions)
	}
	// A numeric in_reply_to_id, as some clients send it.
	replyID, _ := strconv.ParseInt(reply.ID, 10, 64)
	deep := e.post(t, "carol", map[string]any{"status": "@bob thanks!", "in_reply_to_id": replyID})

	threads := []struct {
		name                   string
		id                     string
		ancestors, descendants []string
	}{
		{"root", root.ID, nil, []string{reply.ID, deep.ID}},
		{"middle", reply.ID, []string{root.ID}, []string{deep.ID}},
		{"leaf", deep.ID, []string{root.ID, reply.ID}, nil},
	}
	for _, tc := range threads {
		t.Run("context/"+tc.name, func(t *testing.T) {
			c := ok[contextJSON](t, e.do(t, request{path: "/api/v1/statuses/" + tc.id + "/context"}))
			if got := ids(c.Ancestors); !slices.Equal(got, tc.ancestors) {
				t.Errorf("ancestors = %v, want %v", got, tc.ancestors)
			}
			if got := ids(c.Descendants); !slices.Equal(got, tc.descendants) {
				t.Errorf("descendants = %v, want %v", got, tc.descendants)
			}
			if c.Ancestors == nil || c.Descendants == nil {
				t.Errorf("context lists must be [] rather than null: %+v", c)
			}
		})
	}

	got = ok[*statusJSON](t, e.do(t, request{path: "/api/v1/statuses/" + root.ID}))
	if got.RepliesCount != 1 {
		t.Errorf("replies_count = %d, want 1", got.RepliesCount)
	}

	deleted := ok[*statusJSON](t, e.do(t, request{method: http.MethodDelete, path: "/api/v1/statuses/" + root.ID, as: "alice"}))
	if deleted.ID != root.ID || deref(deleted.Text) != "Meeting on Tuesday at the library." {
		t.Errorf("DELETE = id %s text %q, want id %s and the source text", deleted.ID, deref(deleted.Text), root.ID)
	}
	for _, path := range []string{"/api/v1/statuses/" + root.ID, "/api/v1/statuses/" + root.ID + "/context"} {
		if res := e.do(t, request{path: path, as: "alice"}); res.status != http.StatusNotFound {
			t.Errorf("GET %s after delete: status %d, want 404; body %s", path, res.status, res.body)
		}
	}
	if res := e.do(t, request{method: http.MethodDelete, path: "/api/v1/statuses/" + root.ID, as: "alice"}); res.status != http.StatusNotFound {
		t.Errorf("second DELETE: status %d, want 404", res.status)
	}
}

// TestCreateStatusEncodings sends the same parameters the ways clients do.
func TestCreateStatusEncodings(t *testing.T) {
	e := newTestEnv(t)
	e.addMember(t, "alice", "member")

	var multi bytes.Buffer
	mw := multipart.NewWriter(&multi)
	for k, v := range map[string]string{"status": "multipart", "spoiler_text": "cw", "visibility": "unlisted", "language": "de"} {
		_ = mw.WriteField(k, v)
	}
	_ = mw.Close()

	cases := []struct {
		name, contentType, path, body string
		wantText, wantVisibility      string
		wantSpoiler, wantLanguage     string
		wantSensitive                 bool
	}{
		{name: "json", contentType: "application/json; charset=utf-8",
			body:     `{"status":"json","visibility":"private","sensitive":true,"spoiler_text":"","language":"fr","media_ids":[],"poll":null}`,
			wantText: "json", wantVisibility: "private", wantSensitive: true, wantLanguage: "fr"},
		{name: "json with strings for booleans", contentType: "application/json",
			body:     `{"status":"strings","sensitive":"true","visibility":"followers"}`,
			wantText: "strings", wantVisibility: "private", wantSensitive: true, wantLanguage: "en"},
		{name: "form", contentType: "application/x-www-form-urlencoded",
			body:     "status=form+%26+more&spoiler_text=politics&visibility=unlisted",
			wantText: "form &amp; more", wantVisibility: "unlisted", wantSpoiler: "politics", wantSensitive: true, wantLanguage: "en"},
		{name: "multipart", contentType: mw.FormDataContentType(), body: multi.String(),
			wantText: "multipart", wantVisibility: "unlisted", wantSpoiler: "cw", wantSensitive: true, wantLanguage: "de"},
		{name: "query string, no body", path: "?status=query&sensitive=1",
			wantText: "query", wantVisibility: "public", wantSensitive: true, wantLanguage: "en"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			s := ok[*statusJSON](t, e.do(t, request{method: http.MethodPost, path: "/api/v1/statuses" + tc.path,
				as: "alice", contentType: tc.contentType, body: tc.body}))
			if want := "<p>" + tc.wantText + "</p>"; s.Content != want {
				t.Errorf("content = %q, want %q", s.Content, want)
			}
			if s.Visibility != tc.wantVisibility || s.SpoilerText != tc.wantSpoiler ||
				s.Sensitive != tc.wantSensitive || deref(s.Language) != tc.wantLanguage {
				t.Errorf("got visibility %q spoiler %q sensitive %v language %q, want %q %q %v %q",
					s.Visibility, s.SpoilerText, s.Sensitive, deref(s.Language),
					tc.wantVisibility, tc.wantSpoiler, tc.wantSensitive, tc.wantLanguage)
			}
		})
	}
}

// TestHostileHTMLIsEscaped checks that markup a member types is shown as
// text, never run.
func TestHostileHTMLIsEscaped(t *testing.T) {
	e := newTestEnv(t)
	e.addMember(t, "mallory", "member")
	hostile := `<script>alert(document.cookie)</script><img src=x onerror=alert(1)> "quotes" & <a href="javascript:x">link</a>`
	res := e.do(t, request{method: http.MethodPost, path: "/api/v1/statuses", as: "mallory",
		contentType: "application/x-www-form-urlencoded", body: "status=" + url.QueryEscape(hostile)})
	s := ok[*statusJSON](t, res)
	for _, bad := range []string{"<script", "<img", "<a href=\"javascript"} {
		if strings.Contains(s.Content, bad) {
			t.Errorf("content contains raw %q: %s", bad, s.Content)
		}
	}
	if !strings.Contains(s.Content, "&lt;script&gt;") {
		t.Errorf("content %q does not show the script tag as text", s.Content)
	}
	if bytes.Contains(res.body, []byte("<script")) {
		t.Errorf("response body contains raw <script: %s", res.body)
	}
}

// TestIdempotencyKey checks that a retried POST does not post twice.
func TestIdempotencyKey(t *testing.T) {
	e := newTestEnv(t)
	e.addMember(t, "alice", "member")
	e.addMember(t, "bob", "member")
	send := func(as, key string) string {
		return ok[*statusJSON](t, e.do(t, request{method: http.MethodPost, path: "/api/v1/statuses", as: as,
			contentType: "application/json", body: `{"status":"once"}`, header: map[string]string{"Idempotency-Key": key}})).ID
	}
	first := send("alice", "k1")
	cases := []struct {
		name, as, key string
		same          bool
	}{
		{"same member, same key", "alice", "k1", true},
		{"same member, other key", "alice", "k2", false},
		{"other member, same key", "bob", "k1", false},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			if got := send(tc.as, tc.key); (got == first) != tc.same {
				t.Errorf("id %s, first %s: same = %v, want %v", got, first, got == first, tc.same)
			}
		})
	}
}

// TestEditedAt checks that edited_at is null until a post is edited: a new
// post's response once showed it set, because the clock's nanoseconds
// outlived the store's milliseconds in UpdatedAt.
func TestEditedAt(t *testing.T) {
	now := time.Date(2026, 11, 26, 10, 56, 32, 822_456_789, time.UTC)
	e := newTestEnvAt(t, func() time.Time { return now })
	e.addMember(t, "alice", "member")

	created := e.post(t, "alice", map[string]any{"status": "fresh"})
	got := ok[*statusJSON](t, e.do(t, request{path: "/api/v1/statuses/" + created.ID}))
	for _, s := range []struct {
		name string
		s    *statusJSON
	}{{"POST", created}, {"GET", got}} {
		if s.s.EditedAt != nil || s.s.CreatedAt != "2026-11-26T10:56:32.822Z" {
			t.Errorf("%s: created_at %s edited_at %s, want 2026-11-26T10:56:32.822Z and null",
				s.name, s.s.CreatedAt, deref(s.s.EditedAt))
		}
	}
	raw := decode[map[string]any](t, e.do(t, request{path: "/api/v1/statuses/" + created.ID}))
	if v, ok := raw["edited_at"]; !ok || v != nil {
		t.Errorf("edited_at = %v (present %v), want null", v, ok)
	}

	id, _ := strconv.ParseInt(created.ID, 10, 64)
	p, err := e.db.Post(context.Background(), id)
	if err != nil {
		t.Fatal(err)
	}
	p.Content, p.UpdatedAt = "<p>fresh, edited</p>", now.Add(90*time.Second)
	if err := e.db.UpdatePost(context.Background(), p, nil); err != nil {
		t.Fatal(err)
	}
	got = ok[*statusJSON](t, e.do(t, request{path: "/api/v1/statuses/" + created.ID}))
	if deref(got.EditedAt) != "2026-11-26T10:58:02.822Z" || got.CreatedAt != created.CreatedAt {
		t.Errorf("after an edit: created_at %s edited_at %s, want %s and 2026-11-26T10:58:02.822Z",
			got.CreatedAt, deref(got.EditedAt), created.CreatedAt)
	}
}

func TestEdited(t *testing.T) {
	created := time.Date(2026, 11, 26, 10, 56, 32, 822_000_000, time.UTC)
	cases := []struct {
		name    string
		updated time.Time
		want    bool
	}{
		{"same instant", created, false},
		{"the clock's nanoseconds", created.Add(456_789), false},
		{"within the second", created.Add(time.Second), false},
		{"later", created.Add(time.Second + time.Millisecond), true},
		{"before (a remote clock)", created.Add(-time.Minute), false},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			p := &chapter.Post{CreatedAt: created, UpdatedAt: tc.updated}
			if got := edited(p); got != tc.want {
				t.Errorf("edited = %v, want %v", got, tc.want)
			}
		})
	}
}
