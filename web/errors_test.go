package web

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"
	"testing"

	"github.com/chapterhouse/chapterhouse/chapter"
)

// TestRefusals checks each way a request is refused: the status, and a
// JSON body {"error": "…"} with the message a client can show.
func TestRefusals(t *testing.T) {
	e := newTestEnv(t)
	e.addMember(t, "alice", "member")
	e.addMember(t, "bob", "member")
	e.addMember(t, "sam", "member")
	e.addMember(t, "admin", "admin")
	if _, err := e.svc.SetMemberState(context.Background(), e.ids["sam"], chapter.StateSuspended); err != nil {
		t.Fatal(err)
	}
	e.tokens["nobody"] = "not-a-token"
	post := e.post(t, "alice", map[string]any{"status": "to moderate"})
	private := e.post(t, "alice", map[string]any{"status": "members only", "visibility": "private"})
	gone := e.post(t, "alice", map[string]any{"status": "deleted"})
	ok[*statusJSON](t, e.do(t, request{method: http.MethodDelete, path: "/api/v1/statuses/" + gone.ID, as: "alice"}))

	const jsonType = "application/json"
	post1 := func(as, contentType, body string) request {
		return request{method: http.MethodPost, path: "/api/v1/statuses", as: as, contentType: contentType, body: body}
	}
	cases := []struct {
		name       string
		req        request
		wantStatus int
		wantError  string // "" accepts any non-empty message
	}{
		{"no token", post1("", jsonType, `{"status":"hi"}`), 401, "The access token is invalid"},
		{"bad token", post1("nobody", jsonType, `{"status":"hi"}`), 401, "The access token is invalid"},
		{"not a bearer token", request{path: "/api/v1/accounts/verify_credentials",
			header: map[string]string{"Authorization": "Basic YWxpY2U6cHc="}}, 401, "The access token is invalid"},
		{"no token for verify_credentials", request{path: "/api/v1/accounts/verify_credentials"}, 401, ""},
		{"no token for notifications", request{path: "/api/v1/notifications"}, 401, ""},
		{"bad token on a public route", request{path: "/api/v1/timelines/public", as: "nobody"}, 401, ""},
		{"suspended member", post1("sam", jsonType, `{"status":"hi"}`), 403, "Your login is currently disabled"},
		{"other member deleting", request{method: http.MethodDelete, path: "/api/v1/statuses/" + post.ID, as: "bob"}, 403, ""},
		{"empty status", post1("alice", jsonType, `{"status":""}`), 422, "Validation failed: Post text is empty"},
		{"blank status", post1("alice", jsonType, `{"status":"  \n "}`), 422, "Validation failed: Post text is empty"},
		{"missing status", post1("alice", jsonType, `{}`), 422, ""},
		{"too long", post1("alice", jsonType, `{"status":"`+strings.Repeat("a", chapter.MaxPostLength+1)+`"}`), 422, ""},
		{"bad visibility", post1("alice", jsonType, `{"status":"hi","visibility":"everyone"}`), 422, ""},
		{"malformed JSON", post1("alice", jsonType, `{"status":`), 400, ""},
		{"JSON that is not an object", post1("alice", jsonType, `["hi"]`), 400, ""},
		{"bad in_reply_to_id", post1("alice", jsonType, `{"status":"hi","in_reply_to_id":"abc"}`), 400, ""},
		{"bad sensitive", post1("alice", jsonType, `{"status":"hi","sensitive":"maybe"}`), 400, ""},
		{"reply to unknown post", post1("alice", jsonType, `{"status":"hi","in_reply_to_id":"12345"}`), 404, ""},
		{"reply to deleted post", post1("alice", jsonType, `{"status":"hi","in_reply_to_id":"`+gone.ID+`"}`), 404, ""},
		{"oversized body", post1("alice", jsonType, `{"status":"`+strings.Repeat("a", DefaultMaxBodyBytes)+`"}`), 413, ""},
		{"wrong content type", post1("alice", "text/plain", "status=hi"), 415, ""},
		{"garbled content type", post1("alice", "/;;", "status=hi"), 415, ""},
		{"body without content type", request{method: http.MethodPost, path: "/api/v1/statuses", as: "alice",
			body: `{"status":"hi"}`}, 415, ""},
		{"bad max_id", request{path: "/api/v1/timelines/public?max_id=abc"}, 400, "max_id must be a non-negative integer"},
		{"negative since_id", request{path: "/api/v1/timelines/public?since_id=-1"}, 400, ""},
		{"bad limit", request{path: "/api/v1/timelines/public?limit=ten"}, 400, ""},
		{"bad max_id for notifications", request{path: "/api/v1/notifications?max_id=x", as: "alice"}, 400, ""},
		{"unknown id", request{path: "/api/v1/statuses/424242"}, 404, "Record not found"},
		{"id that is not a number", request{path: "/api/v1/statuses/abc"}, 404, "Record not found"},
		{"deleted post", request{path: "/api/v1/statuses/" + gone.ID}, 404, "Record not found"},
		{"context of deleted post", request{path: "/api/v1/statuses/" + gone.ID + "/context"}, 404, ""},
		{"deleting unknown post", request{method: http.MethodDelete, path: "/api/v1/statuses/424242", as: "alice"}, 404, ""},
		{"private post, anonymous", request{path: "/api/v1/statuses/" + private.ID}, 404, ""},
		{"unknown route", request{path: "/api/v1/nope"}, 404, ""},
		{"wrong method", request{method: http.MethodPatch, path: "/api/v1/statuses/" + post.ID, as: "alice"}, 405, ""},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			res := e.do(t, tc.req)
			checkError(t, res, tc.wantStatus, tc.wantError)
		})
	}

	t.Run("oversized chunked body", func(t *testing.T) {
		// No Content-Length: only the capped reader can stop it.
		body := io.MultiReader(strings.NewReader(`{"status":"`), strings.NewReader(strings.Repeat("a", 2*DefaultMaxBodyBytes)),
			strings.NewReader(`"}`))
		res := e.doBody(t, post1("alice", jsonType, ""), body)
		checkError(t, res, http.StatusRequestEntityTooLarge, "")
	})
	t.Run("oversized form", func(t *testing.T) {
		body := io.MultiReader(strings.NewReader("status="), strings.NewReader(strings.Repeat("a", 2*DefaultMaxBodyBytes)))
		res := e.doBody(t, post1("alice", "application/x-www-form-urlencoded", ""), body)
		checkError(t, res, http.StatusRequestEntityTooLarge, "")
	})
	t.Run("401 names the scheme", func(t *testing.T) {
		res := e.do(t, request{path: "/api/v1/notifications"})
		if !strings.HasPrefix(res.header.Get("WWW-Authenticate"), "Bearer") {
			t.Errorf("WWW-Authenticate = %q", res.header.Get("WWW-Authenticate"))
		}
	})
	t.Run("admin deleting", func(t *testing.T) {
		s := ok[*statusJSON](t, e.do(t, request{method: http.MethodDelete, path: "/api/v1/statuses/" + post.ID, as: "admin"}))
		if s.ID != post.ID {
			t.Errorf("deleted %s, want %s", s.ID, post.ID)
		}
		if res := e.do(t, request{path: "/api/v1/statuses/" + post.ID}); res.status != http.StatusNotFound {
			t.Errorf("after the admin deleted it: status %d, want 404", res.status)
		}
	})
	if strings.Contains(e.logs.String(), "level=ERROR") {
		t.Errorf("refusals were logged as server errors:\n%s", e.logs.String())
	}
}

func checkError(t *testing.T, res response, wantStatus int, wantError string) {
	t.Helper()
	if res.status != wantStatus {
		t.Fatalf("status %d, want %d; body %s", res.status, wantStatus, res.body)
	}
	if ct := res.header.Get("Content-Type"); !strings.HasPrefix(ct, "application/json") {
		t.Errorf("Content-Type %q, want JSON", ct)
	}
	got := decode[errorJSON](t, res)
	if got.Error == "" || wantError != "" && got.Error != wantError {
		t.Errorf("error %q, want %q", got.Error, wantError)
	}
}

// TestServerErrorIsSafe checks that a failure inside the node reaches the
// client as a plain 500 and the log with its detail.
func TestServerErrorIsSafe(t *testing.T) {
	e := newTestEnv(t)
	if err := e.db.Close(); err != nil {
		t.Fatal(err)
	}
	res := e.do(t, request{path: "/api/v1/instance"})
	checkError(t, res, http.StatusInternalServerError, "Internal server error")
	if logs := e.logs.String(); !strings.Contains(logs, "level=ERROR") || !strings.Contains(logs, "count members") {
		t.Errorf("the log lacks the error's detail:\n%s", logs)
	}
}

func TestErrorStatus(t *testing.T) {
	cases := []struct {
		name       string
		err        error
		wantStatus int
		wantText   string
	}{
		{"not found", fmt.Errorf("post 1: %w", chapter.ErrNotFound), 404, "Record not found"},
		{"gone is hidden", fmt.Errorf("post 1: %w", chapter.ErrGone), 404, "Record not found"},
		{"forbidden", fmt.Errorf("x: %w", chapter.ErrForbidden), 403, "This action is not allowed"},
		{"invalid", fmt.Errorf("post text is empty: %w", chapter.ErrInvalid), 422, "Validation failed: Post text is empty"},
		{"bare invalid", chapter.ErrInvalid, 422, "Validation failed"},
		{"conflict", fmt.Errorf("x: %w", chapter.ErrConflict), 409, ""},
		{"too large", fmt.Errorf("read: %w", &http.MaxBytesError{Limit: 1}), 413, ""},
		{"deadline", fmt.Errorf("query: %w", context.DeadlineExceeded), 503, ""},
		{"anything else", errors.New("database is locked at /secret/path"), 500, "Internal server error"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			status, text := errorStatus(tc.err)
			if status != tc.wantStatus || tc.wantText != "" && text != tc.wantText {
				t.Errorf("errorStatus = %d %q, want %d %q", status, text, tc.wantStatus, tc.wantText)
			}
		})
	}
}

// TestCORS checks that browser clients can call the API.
func TestCORS(t *testing.T) {
	e := newTestEnv(t)
	res := e.do(t, request{method: http.MethodOptions, path: "/api/v1/statuses",
		header: map[string]string{"Origin": "https://elk.example", "Access-Control-Request-Method": "POST"}})
	if res.status != http.StatusNoContent || res.header.Get("Access-Control-Allow-Origin") != "*" ||
		!strings.Contains(res.header.Get("Access-Control-Allow-Headers"), "Authorization") {
		t.Errorf("preflight: status %d, headers %v", res.status, res.header)
	}
	res = e.do(t, request{path: "/api/v1/instance"})
	if res.header.Get("Access-Control-Allow-Origin") != "*" {
		t.Errorf("GET: no Access-Control-Allow-Origin: %v", res.header)
	}
	res = e.do(t, request{method: http.MethodPatch, path: "/api/v1/statuses/1"})
	if res.status != http.StatusMethodNotAllowed || res.header.Get("Allow") != "DELETE, GET, PUT, OPTIONS" {
		t.Errorf("PATCH: status %d, Allow %q; want 405 and DELETE, GET, PUT, OPTIONS", res.status, res.header.Get("Allow"))
	}
	res = e.do(t, request{method: http.MethodHead, path: "/api/v1/instance"})
	if res.status != http.StatusOK || len(res.body) != 0 {
		t.Errorf("HEAD: status %d, %d bytes of body; want 200 and none", res.status, len(res.body))
	}
}
