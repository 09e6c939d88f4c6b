package web

import (
	"context"
	"net/http"
	"strconv"
	"testing"

	"github.com/chapterhouse/chapterhouse/chapter"
)

func TestVerifyCredentials(t *testing.T) {
	e := newTestEnv(t)
	e.addMember(t, "alice", "member")
	if _, err := e.svc.UpdateProfile(context.Background(), e.ids["alice"], "Alice A.", "Organizer.\n\nLikes <tea> & bikes."); err != nil {
		t.Fatal(err)
	}
	e.post(t, "alice", map[string]any{"status": "hello"})

	me := ok[credentialAccountJSON](t, e.do(t, request{path: "/api/v1/accounts/verify_credentials", as: "alice"}))
	checks := []struct{ name, got, want string }{
		{"id", me.ID, strconv.FormatInt(e.ids["alice"], 10)},
		{"username", me.Username, "alice"},
		{"acct", me.Acct, "alice"},
		{"display_name", me.DisplayName, "Alice A."},
		{"note", me.Note, "<p>Organizer.</p><p>Likes &lt;tea&gt; &amp; bikes.</p>"},
		{"url", me.URL, testPublicURL + "/@alice"},
		{"uri", me.URI, testPublicURL + "/users/alice"},
		{"source.note", me.Source.Note, "Organizer.\n\nLikes <tea> & bikes."},
		{"source.privacy", me.Source.Privacy, "public"},
		{"statuses_count", strconv.Itoa(me.StatusesCount), "1"},
		{"group", strconv.FormatBool(me.Group), "false"},
	}
	for _, c := range checks {
		if c.got != c.want {
			t.Errorf("%s = %q, want %q", c.name, c.got, c.want)
		}
	}
	if !mastodonTimeRE.MatchString(me.CreatedAt) {
		t.Errorf("created_at %q", me.CreatedAt)
	}
	if me.Emojis == nil || me.Fields == nil || me.Source.Fields == nil {
		t.Errorf("lists must be [], not null")
	}
}

func TestGetAccount(t *testing.T) {
	e := newTestEnv(t)
	e.addMember(t, "alice", "member")
	e.addMember(t, "sam", "member")
	group, err := e.svc.Group(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if _, err := e.svc.SetMemberState(context.Background(), e.ids["sam"], chapter.StateSuspended); err != nil {
		t.Fatal(err)
	}
	cases := []struct {
		name, id   string
		wantStatus int
		wantUser   string
		wantGroup  bool
	}{
		{"member", strconv.FormatInt(e.ids["alice"], 10), http.StatusOK, "alice", false},
		{"the node's group", strconv.FormatInt(group.ID, 10), http.StatusOK, "chapter", true},
		{"suspended member", strconv.FormatInt(e.ids["sam"], 10), http.StatusNotFound, "", false},
		{"unknown", "999999", http.StatusNotFound, "", false},
		{"not a number", "alice", http.StatusNotFound, "", false},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			res := e.do(t, request{path: "/api/v1/accounts/" + tc.id})
			if res.status != tc.wantStatus {
				t.Fatalf("status %d, want %d; body %s", res.status, tc.wantStatus, res.body)
			}
			if tc.wantStatus != http.StatusOK {
				return
			}
			a := decode[accountJSON](t, res)
			if a.Username != tc.wantUser || a.Group != tc.wantGroup || a.ID != tc.id {
				t.Errorf("got %s %q group=%v, want %s %q group=%v", a.ID, a.Username, a.Group, tc.id, tc.wantUser, tc.wantGroup)
			}
		})
	}
}
