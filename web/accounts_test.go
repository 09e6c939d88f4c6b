package web

import (
	"bytes"
	"context"
	"mime/multipart"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

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

// TestUpdateCredentials edits a profile the ways clients send the form,
// each field left out keeping its value.
func TestUpdateCredentials(t *testing.T) {
	e := newTestEnv(t)
	e.addMember(t, "alice", "member")

	var multi bytes.Buffer
	mw := multipart.NewWriter(&multi)
	_ = mw.WriteField("display_name", "Alice (multipart)")
	_ = mw.WriteField("source[privacy]", "unlisted") // not ours: ignored
	_ = mw.Close()

	const bio = "Organizer.\n\nLikes <tea> & bikes: https://bikes.example/a"
	const bioHTML = `<p>Organizer.</p><p>Likes &lt;tea&gt; &amp; bikes: <a href="https://bikes.example/a" ` +
		`rel="nofollow noopener noreferrer" target="_blank">https://bikes.example/a</a></p>`
	steps := []struct {
		name, contentType, body string
		wantName, wantNote      string // wantNote is source.note
		wantHTML                string // "" skips the check of note
	}{
		{name: "json, both fields", contentType: "application/json",
			body:     `{"display_name":"Alice A.","note":` + strconv.Quote(bio) + `,"locked":false,"fields_attributes":[]}`,
			wantName: "Alice A.", wantNote: bio, wantHTML: bioHTML},
		{name: "form, note only", contentType: "application/x-www-form-urlencoded",
			body:     "note=" + url.QueryEscape("Now in\nthe city."),
			wantName: "Alice A.", wantNote: "Now in\nthe city.", wantHTML: "<p>Now in<br>the city.</p>"},
		{name: "multipart, display name only", contentType: mw.FormDataContentType(), body: multi.String(),
			wantName: "Alice (multipart)", wantNote: "Now in\nthe city.", wantHTML: "<p>Now in<br>the city.</p>"},
		{name: "json, bio kept through a round trip", contentType: "application/json",
			body: `{"note":` + strconv.Quote(bio) + `}`, wantName: "Alice (multipart)", wantNote: bio, wantHTML: bioHTML},
		{name: "json, nothing", contentType: "application/json", body: `{}`,
			wantName: "Alice (multipart)", wantNote: bio, wantHTML: bioHTML},
		{name: "no body at all", wantName: "Alice (multipart)", wantNote: bio, wantHTML: bioHTML},
		{name: "null is absent", contentType: "application/json", body: `{"display_name":null,"note":null}`,
			wantName: "Alice (multipart)", wantNote: bio, wantHTML: bioHTML},
		{name: "empty display name shows the username, empty note clears", contentType: "application/json",
			body: `{"display_name":" ","note":""}`, wantName: "alice", wantNote: ""},
	}
	published := e.pub.count(chapter.EventProfileUpdated, "alice")
	for _, st := range steps {
		t.Run(st.name, func(t *testing.T) {
			res := e.do(t, request{method: http.MethodPatch, path: "/api/v1/accounts/update_credentials", as: "alice",
				contentType: st.contentType, body: st.body})
			got := ok[credentialAccountJSON](t, res)
			if got.ID != strconv.FormatInt(e.ids["alice"], 10) || got.DisplayName != st.wantName || got.Source.Note != st.wantNote {
				t.Errorf("PATCH: id %s display_name %q source.note %q, want %d %q %q",
					got.ID, got.DisplayName, got.Source.Note, e.ids["alice"], st.wantName, st.wantNote)
			}
			if st.wantHTML != "" && got.Note != st.wantHTML {
				t.Errorf("note = %q, want %q", got.Note, st.wantHTML)
			}
			// What was saved is what everyone sees from now on.
			me := ok[credentialAccountJSON](t, e.do(t, request{path: "/api/v1/accounts/verify_credentials", as: "alice"}))
			pub := ok[accountJSON](t, e.do(t, request{path: "/api/v1/accounts/" + got.ID}))
			if me.DisplayName != got.DisplayName || me.Source.Note != got.Source.Note || me.Note != got.Note ||
				pub.DisplayName != got.DisplayName || pub.Note != got.Note {
				t.Errorf("after PATCH, verify_credentials shows %q %q and the account %q %q; PATCH answered %q %q",
					me.DisplayName, me.Note, pub.DisplayName, pub.Note, got.DisplayName, got.Note)
			}
			published++
			if n := e.pub.count(chapter.EventProfileUpdated, "alice"); n != published {
				t.Errorf("%d profile updates published, want %d", n, published)
			}
		})
	}
}

// TestUpdateCredentialsRefusals checks that a refused edit changes
// nothing and tells no one.
func TestUpdateCredentialsRefusals(t *testing.T) {
	e := newTestEnv(t)
	e.addMember(t, "alice", "member")
	e.addMember(t, "sam", "member")
	if _, err := e.svc.UpdateProfile(context.Background(), e.ids["alice"], "Alice A.", "Organizer."); err != nil {
		t.Fatal(err)
	}
	if _, err := e.svc.SetMemberState(context.Background(), e.ids["sam"], chapter.StateSuspended); err != nil {
		t.Fatal(err)
	}
	published := e.pub.count(chapter.EventProfileUpdated, "alice")
	patch := func(as, contentType, body string) request {
		return request{method: http.MethodPatch, path: "/api/v1/accounts/update_credentials", as: as,
			contentType: contentType, body: body}
	}
	const jsonType = "application/json"
	cases := []struct {
		name       string
		req        request
		wantStatus int
		wantError  string
	}{
		{"no token", patch("", jsonType, `{"display_name":"Mallory"}`), 401, "The access token is invalid"},
		{"suspended member", patch("sam", jsonType, `{"display_name":"Sam"}`), 403, ""},
		{"display name too long", patch("alice", jsonType, `{"display_name":"`+strings.Repeat("é", 101)+`"}`), 422,
			"Validation failed: Display name: 1 to 100 characters"},
		{"note too long", patch("alice", jsonType, `{"note":"`+strings.Repeat("a", 2001)+`"}`), 422, ""},
		{"malformed JSON", patch("alice", jsonType, `{"display_name":`), 400, ""},
		{"JSON that is not an object", patch("alice", jsonType, `"Alice"`), 400, ""},
		{"oversized body", patch("alice", jsonType, `{"note":"`+strings.Repeat("a", DefaultMaxBodyBytes)+`"}`), 413, ""},
		{"wrong content type", patch("alice", "text/plain", "display_name=x"), 415, ""},
		{"wrong method", request{path: "/api/v1/accounts/update_credentials", as: "alice"}, 405, ""},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			checkError(t, e.do(t, tc.req), tc.wantStatus, tc.wantError)
		})
	}
	me := ok[credentialAccountJSON](t, e.do(t, request{path: "/api/v1/accounts/verify_credentials", as: "alice"}))
	if me.DisplayName != "Alice A." || me.Source.Note != "Organizer." {
		t.Errorf("after refusals: %q %q, want the profile unchanged", me.DisplayName, me.Source.Note)
	}
	if n := e.pub.count(chapter.EventProfileUpdated, "alice"); n != published {
		t.Errorf("%d profile updates published, want %d", n, published)
	}
	if strings.Contains(e.logs.String(), "level=ERROR") {
		t.Errorf("refusals were logged as server errors:\n%s", e.logs.String())
	}
	res := e.do(t, request{method: http.MethodOptions, path: "/api/v1/accounts/update_credentials",
		header: map[string]string{"Origin": "https://elk.example", "Access-Control-Request-Method": "PATCH"}})
	if res.status != http.StatusNoContent || !strings.Contains(res.header.Get("Access-Control-Allow-Methods"), "PATCH") {
		t.Errorf("preflight: status %d, Allow-Methods %q", res.status, res.header.Get("Access-Control-Allow-Methods"))
	}
}

// TestAccountStatuses lists an account's posts with Mastodon's filters
// and paging.
func TestAccountStatuses(t *testing.T) {
	e := newTestEnv(t)
	ctx := context.Background()
	for _, name := range []string{"alice", "bob", "sam"} {
		e.addMember(t, name, "member")
	}
	bobs := e.post(t, "bob", map[string]any{"status": "bob's"})
	p0 := e.post(t, "alice", map[string]any{"status": "public 0"}).ID
	p1 := e.post(t, "alice", map[string]any{"status": "unlisted 1", "visibility": "unlisted"}).ID
	e.post(t, "alice", map[string]any{"status": "members only", "visibility": "private"})
	e.post(t, "alice", map[string]any{"status": "@bob direct", "visibility": "direct"})
	p2 := e.post(t, "alice", map[string]any{"status": "a reply 2", "in_reply_to_id": bobs.ID}).ID
	gone := e.post(t, "alice", map[string]any{"status": "deleted"}).ID
	ok[*statusJSON](t, e.do(t, request{method: http.MethodDelete, path: "/api/v1/statuses/" + gone, as: "alice"}))
	p3 := e.post(t, "alice", map[string]any{"status": "public 3"}).ID
	e.post(t, "sam", map[string]any{"status": "before the suspension"})
	if _, err := e.svc.SetMemberState(ctx, e.ids["sam"], chapter.StateSuspended); err != nil {
		t.Fatal(err)
	}
	group, err := e.svc.Group(ctx)
	if err != nil {
		t.Fatal(err)
	}
	remote := &chapter.Account{Username: "rita", Host: "remote.test", Kind: chapter.KindPerson,
		ActorIRI: "https://remote.test/users/rita", InboxIRI: "https://remote.test/users/rita/inbox"}
	if err := e.db.UpsertRemoteAccount(ctx, remote); err != nil {
		t.Fatal(err)
	}
	remotePost := &chapter.Post{ID: chapter.IDAt(time.Now()) + 1, IRI: "https://remote.test/notes/1", AccountID: remote.ID,
		Content: "<p>hi from afar</p>", Visibility: chapter.VisibilityPublic, CreatedAt: time.Now()}
	if err := e.db.CreatePost(ctx, remotePost, nil); err != nil {
		t.Fatal(err)
	}

	alice := "/api/v1/accounts/" + strconv.FormatInt(e.ids["alice"], 10) + "/statuses"
	cases := []struct {
		name, path, as     string
		want               []string
		wantNext, wantPrev string // max_id of rel="next", min_id of rel="prev"
	}{
		{"all", alice, "", []string{p3, p2, p1, p0}, p0, p3},
		{"with a token", alice, "bob", []string{p3, p2, p1, p0}, p0, p3},
		{"newest", alice + "?limit=2", "", []string{p3, p2}, p2, p3},
		{"max_id: older", alice + "?limit=2&max_id=" + p2, "", []string{p1, p0}, p0, p1},
		{"since_id: newest after", alice + "?limit=2&since_id=" + p0, "", []string{p3, p2}, p2, p3},
		{"min_id: right after", alice + "?limit=2&min_id=" + p0, "", []string{p2, p1}, p1, p2},
		{"past the end", alice + "?max_id=" + p0, "", nil, "", ""},
		{"exclude_replies", alice + "?exclude_replies=true", "", []string{p3, p1, p0}, p0, p3},
		{"exclude_reblogs", alice + "?exclude_reblogs=1", "", []string{p3, p2, p1, p0}, p0, p3},
		{"exclude_replies=false", alice + "?exclude_replies=false", "", []string{p3, p2, p1, p0}, p0, p3},
		{"pinned: none here", alice + "?pinned=true", "", nil, "", ""},
		{"only_media: none here", alice + "?only_media=true", "", nil, "", ""},
		{"tagged: no tags here", alice + "?tagged=bikes", "", nil, "", ""},
		{"the node's group", "/api/v1/accounts/" + strconv.FormatInt(group.ID, 10) + "/statuses", "", nil, "", ""},
		{"a remote account", "/api/v1/accounts/" + strconv.FormatInt(remote.ID, 10) + "/statuses", "",
			[]string{strconv.FormatInt(remotePost.ID, 10)}, strconv.FormatInt(remotePost.ID, 10), strconv.FormatInt(remotePost.ID, 10)},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			res := e.do(t, request{path: tc.path, as: tc.as})
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
			if u, _ := url.Parse(tc.path); tc.wantNext != "" && next.Get("limit") != u.Query().Get("limit") {
				t.Errorf("Link drops the limit: %q", res.header.Get("Link"))
			}
		})
	}

	t.Run("follow next links to the end", func(t *testing.T) {
		var seen []string
		path := alice + "?limit=1&exclude_replies=true"
		for range 10 {
			res := e.do(t, request{path: path})
			page := ok[[]*statusJSON](t, res)
			if len(page) == 0 {
				break
			}
			seen = append(seen, ids(page)...)
			next, _ := parseLink(t, res.header.Get("Link"))
			path = alice + "?" + next.Encode()
		}
		if want := []string{p3, p1, p0}; !slices.Equal(seen, want) {
			t.Errorf("walked %v, want %v", seen, want)
		}
	})

	t.Run("limit is capped at 40", func(t *testing.T) {
		for i := range 41 {
			if _, err := e.svc.CreatePost(ctx, e.ids["bob"], chapter.NewPost{Text: "bulk " + strconv.Itoa(i)}); err != nil {
				t.Fatal(err)
			}
		}
		bob := "/api/v1/accounts/" + strconv.FormatInt(e.ids["bob"], 10) + "/statuses"
		if got := ok[[]*statusJSON](t, e.do(t, request{path: bob + "?limit=1000"})); len(got) != 40 {
			t.Errorf("limit=1000: %d posts, want 40", len(got))
		}
		if got := ok[[]*statusJSON](t, e.do(t, request{path: bob})); len(got) != 20 {
			t.Errorf("default limit: %d posts, want 20", len(got))
		}
	})

	refusals := []struct {
		name, path string
		wantStatus int
	}{
		{"suspended member", "/api/v1/accounts/" + strconv.FormatInt(e.ids["sam"], 10) + "/statuses", 404},
		{"unknown account", "/api/v1/accounts/999999/statuses", 404},
		{"id that is not a number", "/api/v1/accounts/alice/statuses", 404},
		{"bad max_id", alice + "?max_id=abc", 400},
		{"bad exclude_replies", alice + "?exclude_replies=maybe", 400},
		{"bad pinned", alice + "?pinned=2", 400},
	}
	for _, tc := range refusals {
		t.Run(tc.name, func(t *testing.T) {
			checkError(t, e.do(t, request{path: tc.path}), tc.wantStatus, "")
		})
	}
	t.Run("pending applicant", func(t *testing.T) {
		if _, err := e.svc.SetMemberState(ctx, e.ids["sam"], chapter.StatePending); err != nil {
			t.Fatal(err)
		}
		checkError(t, e.do(t, request{path: "/api/v1/accounts/" + strconv.FormatInt(e.ids["sam"], 10) + "/statuses"}), 404, "")
	})
	t.Run("bad token", func(t *testing.T) {
		e.tokens["nobody"] = "not-a-token"
		checkError(t, e.do(t, request{path: alice, as: "nobody"}), 401, "")
	})
}
