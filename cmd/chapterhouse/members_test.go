package main

import (
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/chapterhouse/chapterhouse/federation/fedtest"
)

const publicAddress = "https://www.w3.org/ns/activitystreams#Public"

func followActivity(r *fedtest.Remote, target string) map[string]any {
	return map[string]any{"@context": "https://www.w3.org/ns/activitystreams",
		"id": r.ActorID + "#follows/" + time.Now().Format("150405.000000000"), "type": "Follow",
		"actor": r.ActorID, "object": target}
}

func waitAccepted(t *testing.T, r *fedtest.Remote) {
	t.Helper()
	r.WaitFor(t, func(rs []fedtest.Received) bool {
		return countWhere(rs, func(a map[string]any) bool { return a["type"] == "Accept" }) >= 1
	}, 10*time.Second)
}

// A locked chapter: a follow waits; "member add @user@host" approves it (an
// Accept goes out) and makes the person a member, whose public posts that
// address the chapter are then boosted to its followers. A stranger's post
// addressed to the chapter is not.
func TestLockedChapterRemoteMembers(t *testing.T) {
	node := newTestNode(t, "")
	// Lock the chapter through its configuration and restart.
	node.stop()
	appendConfig(t, node, "node.locked")
	node.start()

	group := node.actor("chapter")
	var actor map[string]any
	getJSON(t, group, &actor)
	if actor["manuallyApprovesFollowers"] != true {
		t.Fatalf("manuallyApprovesFollowers = %v, want true", actor["manuallyApprovesFollowers"])
	}

	member := fedtest.NewRemote(t, "mia")
	stranger := fedtest.NewRemote(t, "sam")
	follower := fedtest.NewRemote(t, "fay")
	for _, r := range []*fedtest.Remote{member, stranger, follower} {
		postActivity(t, r, group+"/inbox", followActivity(r, group), http.StatusAccepted)
	}
	// Pending: no Accept, no follower counted.
	time.Sleep(300 * time.Millisecond)
	var coll map[string]any
	getJSON(t, group+"/followers", &coll)
	if coll["totalItems"] != float64(0) {
		t.Fatalf("followers of a locked chapter before approval = %v, want 0", coll["totalItems"])
	}
	if n := len(follower.Received()); n != 0 {
		t.Fatalf("pending follower received %d activities, want none", n)
	}

	for _, r := range []*fedtest.Remote{member, follower} {
		out := node.cli("member", "add", "@"+r.Handle)
		if !strings.Contains(out, "approved") {
			t.Fatalf("member add @%s: %q", r.Handle, out)
		}
		waitAccepted(t, r)
	}

	post := func(r *fedtest.Remote, id string) string {
		iri := r.ActorID + "/statuses/" + id
		note := map[string]any{"id": iri, "type": "Note", "attributedTo": r.ActorID,
			"content": "<p>Assembly tonight</p>", "to": []string{publicAddress},
			"cc": []string{r.ActorID + "/followers", group}, "published": time.Now().UTC().Format(time.RFC3339),
			"tag": []map[string]any{{"type": "Mention", "href": group, "name": "@chapter"}}}
		postActivity(t, r, node.baseURL+"/inbox", map[string]any{"@context": "https://www.w3.org/ns/activitystreams",
			"id": iri + "/activity", "type": "Create", "actor": r.ActorID, "to": note["to"], "cc": note["cc"],
			"object": note}, http.StatusAccepted)
		return iri
	}
	memberPost := post(member, "m1")
	strangerPost := post(stranger, "s1")

	follower.WaitFor(t, func(rs []fedtest.Received) bool { return countAnnounces(rs, group, memberPost) == 1 }, 10*time.Second)
	// The member hears of the boost too.
	member.WaitFor(t, func(rs []fedtest.Received) bool { return countAnnounces(rs, group, memberPost) == 1 }, 10*time.Second)
	if n := countAnnounces(follower.Received(), group, strangerPost); n != 0 {
		t.Errorf("a stranger's post was announced %d times", n)
	}

	// The chapter's public timeline shows the member's post, not the stranger's.
	var timeline []map[string]any
	node.api("GET", "/api/v1/timelines/public", "", nil, &timeline)
	var uris []string
	for _, s := range timeline {
		uris = append(uris, s["uri"].(string))
	}
	if len(uris) != 1 || uris[0] != memberPost {
		t.Errorf("public timeline = %v, want only %s", uris, memberPost)
	}
}

// appendConfig sets a boolean key to true in the node's YAML file (only
// node.* keys are used here).
func appendConfig(t *testing.T, n *testNode, key string) {
	t.Helper()
	section, name, _ := strings.Cut(key, ".")
	if section != "node" {
		t.Fatalf("appendConfig: only node keys, got %s", key)
	}
	b := readFile(t, n.config)
	b = strings.Replace(b, "node:\n", "node:\n  "+name+": true\n", 1)
	writeFile(t, n.config, b)
}

// Deleting a post sends Delete{Tombstone} to those who got it, and its id
// answers 410 with a Tombstone; a follower whose inbox answers 410 is
// removed.
func TestDeleteAndGoneFollower(t *testing.T) {
	node := newTestNode(t, "")
	group := node.actor("chapter")
	stays := fedtest.NewRemote(t, "stan")
	leaves := fedtest.NewRemote(t, "gina")
	for _, r := range []*fedtest.Remote{stays, leaves} {
		postActivity(t, r, group+"/inbox", followActivity(r, group), http.StatusAccepted)
		waitAccepted(t, r)
	}
	// The member's own followers get the Create, the Group's the Announce.
	node.cli("member", "add", "alice")
	token := strings.TrimSpace(node.cli("token", "alice"))
	postActivity(t, stays, node.actor("alice")+"/inbox", followActivity(stays, node.actor("alice")), http.StatusAccepted)
	stays.WaitFor(t, func(rs []fedtest.Received) bool {
		return countWhere(rs, func(a map[string]any) bool { return a["type"] == "Accept" }) == 2
	}, 10*time.Second)

	var status map[string]any
	node.api("POST", "/api/v1/statuses", token, map[string]any{"status": "to be deleted"}, &status)
	iri := status["uri"].(string)
	stays.WaitFor(t, func(rs []fedtest.Received) bool {
		return countAnnounces(rs, group, iri) == 1 && countWhere(rs, func(a map[string]any) bool {
			obj, _ := a["object"].(map[string]any)
			return a["type"] == "Create" && obj["id"] == iri
		}) == 1
	}, 10*time.Second)

	leaves.SetGone(true)
	if code := node.api("DELETE", "/api/v1/statuses/"+status["id"].(string), token, nil, nil); code != http.StatusOK {
		t.Fatalf("delete status: %d", code)
	}
	stays.WaitFor(t, func(rs []fedtest.Received) bool {
		return countWhere(rs, func(a map[string]any) bool {
			obj, _ := a["object"].(map[string]any)
			return a["type"] == "Delete" && obj["id"] == iri && obj["type"] == "Tombstone"
		}) == 1
	}, 10*time.Second)
	var tomb map[string]any
	if code := getJSON(t, iri, &tomb); code != http.StatusGone || tomb["type"] != "Tombstone" {
		t.Errorf("GET deleted note: %d %v, want 410 Tombstone", code, tomb["type"])
	}
	eventually(t, "the gone follower removed", 10*time.Second, func() bool {
		var coll map[string]any
		getJSON(t, group+"/followers", &coll)
		return coll["totalItems"] == float64(1)
	})
}
