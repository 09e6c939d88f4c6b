package main

import (
	"context"
	"net/http"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/chapterhouse/chapterhouse/federation/fedtest"
	"github.com/chapterhouse/chapterhouse/store"
)

// A node stopped with deliveries pending (the remote is down) delivers them
// after it starts again and the remote comes back: each activity reaches
// each inbox exactly once.
func TestDeliveriesSurviveRestart(t *testing.T) {
	ctx := context.Background()
	node := newTestNode(t, "")
	remotes := []*fedtest.Remote{fedtest.NewRemote(t, "dora"), fedtest.NewRemote(t, "eve")}
	group := node.actor("chapter")
	for _, r := range remotes {
		follow := map[string]any{"@context": "https://www.w3.org/ns/activitystreams",
			"id": r.ActorID + "#follows/1", "type": "Follow", "actor": r.ActorID, "object": group}
		postActivity(t, r, group+"/inbox", follow, http.StatusAccepted)
		r.WaitFor(t, func(rs []fedtest.Received) bool {
			return countWhere(rs, func(a map[string]any) bool { return a["type"] == "Accept" }) == 1
		}, 10*time.Second)
		r.Down()
	}

	node.cli("member", "add", "alice")
	var posts []string
	for _, text := range []string{"first while down", "second while down"} {
		out := node.cli("post", "--as", "alice", text)
		if !strings.HasPrefix(out, "posted ") {
			t.Fatalf("post: %q", out)
		}
		// The CLI prints the page URL; the Note's id is the actor's statuses URL.
		id := strings.Fields(out)[1]
		posts = append(posts, node.actor("alice")+"/statuses/"+strings.TrimSuffix(id, ":"))
	}
	dataDir := filepath.Join(node.dir, "data")
	// Let the running node try (and fail) at least once before stopping it.
	eventually(t, "a failed attempt", 10*time.Second, func() bool {
		return strings.Contains(node.logs.String(), "delivery failed, will retry")
	})
	node.stop()

	db, err := store.Open(ctx, dataDir)
	if err != nil {
		t.Fatal(err)
	}
	queued, err := db.CountDeliveries(ctx)
	db.Close()
	if err != nil {
		t.Fatal(err)
	}
	if queued != len(remotes)*len(posts) {
		t.Fatalf("queued deliveries after stop = %d, want %d", queued, len(remotes)*len(posts))
	}

	node.start()
	for _, r := range remotes {
		r.Up()
	}
	for _, r := range remotes {
		r.WaitFor(t, func(rs []fedtest.Received) bool {
			for _, p := range posts {
				if countAnnounces(rs, group, p) < 1 {
					return false
				}
			}
			return true
		}, 20*time.Second)
	}
	eventually(t, "an empty queue", 10*time.Second, func() bool {
		db, err := store.Open(ctx, dataDir)
		if err != nil {
			t.Fatal(err)
		}
		defer db.Close()
		n, err := db.CountDeliveries(ctx)
		return err == nil && n == 0
	})
	for _, r := range remotes {
		for _, p := range posts {
			if n := countAnnounces(r.Received(), group, p); n != 1 {
				t.Errorf("%s received %d announces of %s, want exactly 1", r.ActorID, n, p)
			}
		}
		if refused := r.Refused(); len(refused) > 0 {
			t.Errorf("%s refused: %v", r.ActorID, refused)
		}
	}
}
