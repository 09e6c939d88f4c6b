package main

import (
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/chapterhouse/chapterhouse/federation/fedtest"
)

// An instance failing for longer than federation.dead_after is marked dead
// and skipped; when it talks to us again, deliveries to it resume.
func TestDeadInstanceSkippedThenRevived(t *testing.T) {
	node := newTestNode(t, "  dead_after: 400ms\n")
	group := node.actor("chapter")
	remote := fedtest.NewRemote(t, "dan")
	witness := fedtest.NewRemote(t, "wes")
	for _, r := range []*fedtest.Remote{remote, witness} {
		postActivity(t, r, group+"/inbox", followActivity(r, group), http.StatusAccepted)
		waitAccepted(t, r)
	}
	node.cli("member", "add", "alice")
	postID := func(out string) string {
		return node.actor("alice") + "/statuses/" + strings.TrimSuffix(strings.Fields(out)[1], ":")
	}

	remote.Down()
	node.cli("post", "--as", "alice", "while the instance is down")
	eventually(t, "the instance marked dead", 10*time.Second, func() bool {
		return strings.Contains(node.logs.String(), "instance marked dead")
	})
	remote.Up()
	skipped := postID(node.cli("post", "--as", "alice", "to a dead instance"))
	// The witness, alive all along, tells when the round of deliveries is done.
	witness.WaitFor(t, func(rs []fedtest.Received) bool { return countAnnounces(rs, group, skipped) == 1 }, 10*time.Second)
	if n := countAnnounces(remote.Received(), group, skipped); n != 0 {
		t.Fatalf("dead instance received %d announces", n)
	}

	// The instance speaks again (a Like), and the next post reaches it.
	like := map[string]any{"@context": "https://www.w3.org/ns/activitystreams", "id": remote.ActorID + "#likes/1",
		"type": "Like", "actor": remote.ActorID, "object": skipped}
	postActivity(t, remote, node.baseURL+"/inbox", like, http.StatusAccepted)
	eventually(t, "the instance revived", 10*time.Second, func() bool {
		return strings.Contains(node.logs.String(), "instance is back")
	})
	revived := postID(node.cli("post", "--as", "alice", "after revival"))
	remote.WaitFor(t, func(rs []fedtest.Received) bool { return countAnnounces(rs, group, revived) == 1 }, 10*time.Second)
}
