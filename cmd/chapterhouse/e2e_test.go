package main

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/chapterhouse/chapterhouse/federation/fedtest"
)

// The walk of the chapter-node issue, end to end: a strict Mastodon-like
// remote finds the chapter, follows it, receives its boosts of a member's
// post, replies, and unfollows; the node is driven only through its config
// file, CLI, member API and ActivityPub.
func TestFederationWalk(t *testing.T) {
	ctx := context.Background()
	node := newTestNode(t, "")
	remote := fedtest.NewRemote(t, "bob")
	witness := fedtest.NewRemote(t, "carol") // keeps following, to know when a delivery round is over

	// WebFinger round trip: the self link is the actor, whose
	// preferredUsername is the handle.
	wf := node.webfinger("chapter")
	if got, want := wf["subject"], "acct:chapter@"+node.host; got != want {
		t.Errorf("webfinger subject = %v, want %v", got, want)
	}
	self := ""
	for _, l := range wf["links"].([]any) {
		link := l.(map[string]any)
		if link["rel"] == "self" {
			self, _ = link["href"].(string)
		}
	}
	if self != node.actor("chapter") {
		t.Fatalf("webfinger self link = %q, want %q", self, node.actor("chapter"))
	}

	// A signed GET of the actor, as secure-mode Mastodon does it.
	resp, err := remote.SignedGet(ctx, self)
	if err != nil {
		t.Fatal(err)
	}
	var actor map[string]any
	if err := json.NewDecoder(resp.Body).Decode(&actor); err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if got, want := actor["preferredUsername"], "chapter"; got != want {
		t.Errorf("preferredUsername = %v, want %v", got, want)
	}
	if got, want := actor["type"], "Group"; got != want {
		t.Errorf("type = %v, want %v", got, want)
	}
	sharedInbox, _ := actor["endpoints"].(map[string]any)["sharedInbox"].(string)
	inbox, _ := actor["inbox"].(string)
	if sharedInbox == "" || inbox == "" {
		t.Fatalf("actor lacks inbox or sharedInbox: %v", actor)
	}

	// Signed Follows; the Accept arrives, signed by the Group.
	for _, r := range []*fedtest.Remote{remote, witness} {
		follow := map[string]any{"@context": "https://www.w3.org/ns/activitystreams",
			"id": r.ActorID + "#follows/1", "type": "Follow", "actor": r.ActorID, "object": self}
		postActivity(t, r, inbox, follow, http.StatusAccepted)
		r.WaitFor(t, func(rs []fedtest.Received) bool {
			return countWhere(rs, func(a map[string]any) bool {
				obj, _ := a["object"].(map[string]any)
				return a["type"] == "Accept" && a["actor"] == self && obj["id"] == r.ActorID+"#follows/1"
			}) == 1
		}, 10*time.Second)
	}

	// A member posts through the API.
	node.cli("member", "add", "alice", "--admin")
	token := strings.TrimSpace(node.cli("token", "alice"))
	var status map[string]any
	if code := node.api("POST", "/api/v1/statuses", token, map[string]any{"status": "Meeting on Tuesday"}, &status); code != 200 {
		t.Fatalf("post status: %d %v", code, status)
	}
	noteIRI, _ := status["uri"].(string)
	statusID, _ := status["id"].(string)

	// The remote's shared inbox receives the Group's Announce of the Note.
	received := remote.WaitFor(t, func(rs []fedtest.Received) bool {
		return countAnnounces(rs, self, noteIRI) >= 1
	}, 10*time.Second)
	for _, r := range received {
		if r.Activity["type"] == "Announce" && r.Inbox != "/inbox" {
			t.Errorf("announce delivered to %s, want the shared inbox /inbox", r.Inbox)
		}
	}
	if refused := remote.Refused(); len(refused) > 0 {
		t.Fatalf("remote refused our requests: %v", refused)
	}

	// The Note behind the boost can be fetched, attributed to the member.
	var note map[string]any
	if code := getJSON(t, noteIRI, &note); code != http.StatusOK {
		t.Fatalf("GET note: %d", code)
	}
	if got, want := note["attributedTo"], node.actor("alice"); got != want {
		t.Errorf("attributedTo = %v, want %v", got, want)
	}

	// Replies: one without a mention, one with; the second is sent twice.
	replyWithout := replyActivity(remote, "reply-1", noteIRI, "I'll be there", "")
	replyWith := replyActivity(remote, "reply-2", noteIRI, "@alice see you", node.actor("alice"))
	postActivity(t, remote, sharedInbox, replyWithout, http.StatusAccepted)
	postActivity(t, remote, sharedInbox, replyWith, http.StatusAccepted)
	postActivity(t, remote, sharedInbox, replyWith, http.StatusAccepted)

	var notes []map[string]any
	eventually(t, "two reply notifications", 10*time.Second, func() bool {
		notes = nil
		node.api("GET", "/api/v1/notifications", token, nil, &notes)
		return len(notes) >= 2
	})
	time.Sleep(200 * time.Millisecond) // let a duplicate, if any, land
	notes = nil
	node.api("GET", "/api/v1/notifications", token, nil, &notes)
	if len(notes) != 2 {
		t.Fatalf("notifications = %d, want 2 (one per reply): %v", len(notes), notes)
	}
	for _, n := range notes {
		if n["type"] != "mention" {
			t.Errorf("notification type = %v, want mention", n["type"])
		}
		st, _ := n["status"].(map[string]any)
		if st["in_reply_to_id"] != statusID {
			t.Errorf("notification status replies to %v, want %v", st["in_reply_to_id"], statusID)
		}
	}

	// The thread shows both remote replies.
	var thread struct{ Descendants []map[string]any }
	node.api("GET", "/api/v1/statuses/"+statusID+"/context", "", nil, &thread)
	if got := len(thread.Descendants); got != 2 {
		t.Errorf("context descendants = %d, want 2", got)
	}

	// Undo{Follow}: the next post reaches the witness but not the remote.
	undo := map[string]any{"@context": "https://www.w3.org/ns/activitystreams",
		"id": remote.ActorID + "#follows/1/undo", "type": "Undo", "actor": remote.ActorID,
		"object": map[string]any{"id": remote.ActorID + "#follows/1", "type": "Follow", "actor": remote.ActorID, "object": self}}
	postActivity(t, remote, inbox, undo, http.StatusAccepted)
	eventually(t, "the unfollow", 10*time.Second, func() bool {
		var coll map[string]any
		getJSON(t, self+"/followers", &coll)
		return coll["totalItems"] == float64(1)
	})
	var second map[string]any
	node.api("POST", "/api/v1/statuses", token, map[string]any{"status": "Minutes are up"}, &second)
	secondIRI, _ := second["uri"].(string)
	witness.WaitFor(t, func(rs []fedtest.Received) bool { return countAnnounces(rs, self, secondIRI) == 1 }, 10*time.Second)
	if n := countAnnounces(remote.Received(), self, secondIRI); n != 0 {
		t.Errorf("unfollowed remote received %d announces of the next post", n)
	}
	if n := countAnnounces(remote.Received(), self, noteIRI); n != 1 {
		t.Errorf("remote received %d announces of the first post, want exactly 1", n)
	}
}

func replyActivity(r *fedtest.Remote, id, inReplyTo, text, mention string) map[string]any {
	note := map[string]any{
		"id": r.ActorID + "/statuses/" + id, "type": "Note", "attributedTo": r.ActorID,
		"inReplyTo": inReplyTo, "content": "<p>" + text + "</p>",
		"to": []string{"https://www.w3.org/ns/activitystreams#Public"}, "cc": []string{r.ActorID + "/followers"},
		"published": time.Now().UTC().Format(time.RFC3339),
	}
	if mention != "" {
		note["tag"] = []map[string]any{{"type": "Mention", "href": mention, "name": "@alice"}}
		note["cc"] = []string{r.ActorID + "/followers", mention}
	}
	return map[string]any{"@context": "https://www.w3.org/ns/activitystreams",
		"id": r.ActorID + "/statuses/" + id + "/activity", "type": "Create", "actor": r.ActorID,
		"to": note["to"], "cc": note["cc"], "object": note}
}

// postActivity delivers an activity signed as Mastodon signs and checks the status.
func postActivity(t *testing.T, r *fedtest.Remote, inbox string, activity any, want int) {
	t.Helper()
	resp, err := r.Post(context.Background(), inbox, activity)
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != want {
		t.Fatalf("POST %s: status %d, want %d: %s", inbox, resp.StatusCode, want, body)
	}
}

func countAnnounces(rs []fedtest.Received, actor, object string) int {
	return countWhere(rs, func(a map[string]any) bool {
		return a["type"] == "Announce" && a["actor"] == actor && a["object"] == object
	})
}

func countWhere(rs []fedtest.Received, pred func(map[string]any) bool) int {
	n := 0
	for _, r := range rs {
		if pred(r.Activity) {
			n++
		}
	}
	return n
}
