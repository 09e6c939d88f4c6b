package web

import (
	"net/http"
	"slices"
	"testing"
)

// TestNotifications checks that a reply notifies the author of the post,
// that paging works, and that deleting the reply takes the notification
// away.
func TestNotifications(t *testing.T) {
	e := newTestEnv(t)
	for _, name := range []string{"alice", "bob", "carol"} {
		e.addMember(t, name, "member")
	}
	root := e.post(t, "alice", map[string]any{"status": "Who can help on Saturday?"})
	if got := ok[[]*notificationJSON](t, e.do(t, request{path: "/api/v1/notifications", as: "alice"})); len(got) != 0 {
		t.Fatalf("notifications before any reply: %d, want 0", len(got))
	}
	r1 := e.post(t, "bob", map[string]any{"status": "Me!", "in_reply_to_id": root.ID})
	r2 := e.post(t, "carol", map[string]any{"status": "Me too, and @alice I'll bring food.", "in_reply_to_id": root.ID})
	r3 := e.post(t, "bob", map[string]any{"status": "From 10 to 12.", "in_reply_to_id": root.ID})

	all := ok[[]*notificationJSON](t, e.do(t, request{path: "/api/v1/notifications", as: "alice"}))
	if len(all) != 3 {
		t.Fatalf("got %d notifications, want 3 (one per reply)", len(all))
	}
	for i, want := range []struct{ from, status string }{{"bob", r3.ID}, {"carol", r2.ID}, {"bob", r1.ID}} {
		n := all[i]
		if n.Type != "mention" || n.Account.Username != want.from || n.Status == nil || n.Status.ID != want.status {
			t.Errorf("notification %d = type %q from %q status %+v, want mention from %s about %s",
				i, n.Type, n.Account.Username, n.Status, want.from, want.status)
		}
		if !mastodonTimeRE.MatchString(n.CreatedAt) {
			t.Errorf("created_at %q", n.CreatedAt)
		}
	}
	n3, n2, n1 := all[0].ID, all[1].ID, all[2].ID

	cases := []struct {
		name, query string
		want        []string
		wantNext    string
	}{
		{"limit", "limit=1", []string{n3}, n3},
		{"max_id", "max_id=" + n3, []string{n2, n1}, n1},
		{"max_id and limit", "max_id=" + n3 + "&limit=1", []string{n2}, n2},
		{"since_id: the newest after", "since_id=" + n1 + "&limit=1", []string{n3}, n3},
		{"min_id: the oldest after", "min_id=" + n1 + "&limit=1", []string{n2}, n2},
		{"min_id, all after", "min_id=" + n1, []string{n3, n2}, n2},
		{"nothing newer", "min_id=" + n3, nil, ""},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			res := e.do(t, request{path: "/api/v1/notifications?" + tc.query, as: "alice"})
			var got []string
			for _, n := range ok[[]*notificationJSON](t, res) {
				got = append(got, n.ID)
			}
			if !slices.Equal(got, tc.want) {
				t.Errorf("ids = %v, want %v", got, tc.want)
			}
			if next, _ := parseLink(t, res.header.Get("Link")); next.Get("max_id") != tc.wantNext {
				t.Errorf("Link %q, want next max_id %s", res.header.Get("Link"), tc.wantNext)
			}
		})
	}

	if got := ok[[]*notificationJSON](t, e.do(t, request{path: "/api/v1/notifications", as: "bob"})); len(got) != 0 {
		t.Errorf("bob has %d notifications, want 0 (nobody replied to him)", len(got))
	}

	ok[*statusJSON](t, e.do(t, request{method: http.MethodDelete, path: "/api/v1/statuses/" + r1.ID, as: "bob"}))
	left := ok[[]*notificationJSON](t, e.do(t, request{path: "/api/v1/notifications", as: "alice"}))
	if len(left) != 2 || left[0].Status.ID != r3.ID || left[1].Status.ID != r2.ID {
		t.Errorf("after bob deleted his first reply: %d notifications, want the other two", len(left))
	}
}
