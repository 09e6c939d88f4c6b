package main

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/chapterhouse/chapterhouse/federation/fedtest"
	"github.com/chapterhouse/chapterhouse/store"
)

// treeNode starts a node of the organization's tree at a level, with a
// parent, linked by configuration alone.
func treeNode(t *testing.T, handle, level string, parent *testNode, extra string) *testNode {
	t.Helper()
	return newTestNodeWith(t, nodeSection(handle, level, parent)+"  approve_children: auto\n"+extra, "")
}

// nodeSection is the node part of a tree node's configuration.
func nodeSection(handle, level string, parent *testNode) string {
	s := fmt.Sprintf("  handle: %s\n  name: %s node\n  level: %s\n", handle, handle, level)
	if parent != nil {
		s += fmt.Sprintf("  parent: \"@%s@%s\"\n", parent.handle, parent.host)
	}
	return s
}

// waitLinked waits until parent lists child as a linked member chapter and
// follows it back.
func waitLinked(t *testing.T, parent, child *testNode) {
	t.Helper()
	eventually(t, fmt.Sprintf("%s linked to %s", child.handle, parent.handle), 20*time.Second, func() bool {
		var coll map[string]any
		getJSON(t, parent.actor(parent.handle)+"/children", &coll)
		items, _ := coll["orderedItems"].([]any)
		if !slices.ContainsFunc(items, func(it any) bool {
			return it.(map[string]any)["id"] == child.actor(child.handle)
		}) {
			return false
		}
		var following map[string]any
		getJSON(t, parent.actor(parent.handle)+"/following?page=1", &following)
		for _, f := range following["orderedItems"].([]any) {
			if f == child.actor(child.handle) {
				return true
			}
		}
		return false
	})
}

// A chapter, a city, a national and an international node, linked only
// through configuration: a chapter post reaches every feed above it, and a
// strict Mastodon-like follower of the international node receives exactly
// one validly signed Announce of it.
func TestFourLevelTree(t *testing.T) {
	intl := treeNode(t, "world", "international", nil, "")
	nat := treeNode(t, "nation", "national", intl, "")
	city := treeNode(t, "city", "city", nat, "")
	chap := treeNode(t, "local", "chapter", city, "")
	waitLinked(t, intl, nat)
	waitLinked(t, nat, city)
	waitLinked(t, city, chap)

	// The tree is visible in the actor documents.
	var actor map[string]any
	getJSON(t, chap.actor("local"), &actor)
	if actor["level"] != "chapter" || actor["parent"] != city.actor("city") {
		t.Errorf("chapter actor: level %v parent %v", actor["level"], actor["parent"])
	}

	follower := fedtest.NewRemote(t, "reader")
	postActivity(t, follower, intl.actor("world")+"/inbox", followActivity(follower, intl.actor("world")), 202)
	waitAccepted(t, follower)

	chap.cli("member", "add", "ana")
	token := strings.TrimSpace(chap.cli("token", "ana"))
	var status map[string]any
	chap.api("POST", "/api/v1/statuses", token, map[string]any{"status": "Our chapter planted 40 trees"}, &status)
	iri, _ := status["uri"].(string)

	for _, n := range []*testNode{chap, city, nat, intl} {
		eventually(t, "the post in the "+n.handle+" feed", 20*time.Second, func() bool {
			return inTimeline(n, iri)
		})
	}
	follower.WaitFor(t, func(rs []fedtest.Received) bool {
		return countAnnounces(rs, intl.actor("world"), iri) >= 1
	}, 20*time.Second)
	time.Sleep(300 * time.Millisecond) // a duplicate, if any, would land now
	if n := countAnnounces(follower.Received(), intl.actor("world"), iri); n != 1 {
		t.Errorf("follower of the international node received %d announces, want exactly 1", n)
	}
	if refused := follower.Refused(); len(refused) > 0 {
		t.Errorf("follower refused: %v", refused)
	}

	// Edited at the source: every feed above shows the new text.
	var edited map[string]any
	if code := chap.api("PUT", "/api/v1/statuses/"+status["id"].(string), token,
		map[string]any{"status": "Our chapter planted 41 trees"}, &edited); code != 200 {
		t.Fatalf("edit: %d %v", code, edited)
	}
	for _, n := range []*testNode{city, nat, intl} {
		eventually(t, "the edit in the "+n.handle+" feed", 20*time.Second, func() bool {
			var timeline []map[string]any
			n.api("GET", "/api/v1/timelines/public", "", nil, &timeline)
			for _, s := range timeline {
				if s["uri"] == iri {
					return strings.Contains(s["content"].(string), "41 trees")
				}
			}
			return false
		})
	}

	// Deleted at the source: gone from every feed above, and the follower
	// of the top node gets the deletion and the boost taken back.
	if code := chap.api("DELETE", "/api/v1/statuses/"+status["id"].(string), token, nil, nil); code != 200 {
		t.Fatalf("delete: %d", code)
	}
	for _, n := range []*testNode{chap, city, nat, intl} {
		eventually(t, "the post gone from the "+n.handle+" feed", 20*time.Second, func() bool {
			return !inTimeline(n, iri)
		})
	}
	follower.WaitFor(t, func(rs []fedtest.Received) bool {
		undone := countWhere(rs, func(a map[string]any) bool {
			obj, _ := a["object"].(map[string]any)
			return a["type"] == "Undo" && a["actor"] == intl.actor("world") && obj["type"] == "Announce" && obj["object"] == iri
		})
		deleted := countWhere(rs, func(a map[string]any) bool {
			obj, _ := a["object"].(map[string]any)
			tomb, _ := obj["object"].(map[string]any)
			return a["type"] == "Announce" && obj["type"] == "Delete" && tomb["id"] == iri
		})
		return undone == 1 && deleted == 1
	}, 20*time.Second)
}

// inTimeline tells whether a post is in a node's public timeline.
func inTimeline(n *testNode, iri string) bool {
	var timeline []map[string]any
	n.api("GET", "/api/v1/timelines/public", "", nil, &timeline)
	for _, s := range timeline {
		if s["uri"] == iri {
			return true
		}
	}
	return false
}

// Two children of one parent, then one child re-configured to another
// parent: each post is relayed exactly once per node, never echoed back to
// the child it came from, and the old parent stops relaying.
func TestTreeSiblingsAndReconfiguredParent(t *testing.T) {
	nat := treeNode(t, "nation", "national", nil, "")
	north := treeNode(t, "north", "city", nat, "")
	south := treeNode(t, "south", "city", nat, "")
	chap := treeNode(t, "local", "chapter", north, "")
	waitLinked(t, nat, north)
	waitLinked(t, nat, south)
	waitLinked(t, north, chap)

	follower := fedtest.NewRemote(t, "reader")
	postActivity(t, follower, nat.actor("nation")+"/inbox", followActivity(follower, nat.actor("nation")), 202)
	waitAccepted(t, follower)
	// A follower of the south city sees whether north's posts leak sideways.
	southReader := fedtest.NewRemote(t, "southreader")
	postActivity(t, southReader, south.actor("south")+"/inbox", followActivity(southReader, south.actor("south")), 202)
	waitAccepted(t, southReader)

	chap.cli("member", "add", "ana")
	south.cli("member", "add", "sol")
	postOn := func(n *testNode, who, text string) string {
		out := n.cli("post", "--as", who, text)
		return n.actor(who) + "/statuses/" + strings.TrimSuffix(strings.Fields(out)[1], ":")
	}
	fromChapter := postOn(chap, "ana", "from the chapter under north")
	fromSouth := postOn(south, "sol", "from the south city")
	follower.WaitFor(t, func(rs []fedtest.Received) bool {
		return countAnnounces(rs, nat.actor("nation"), fromChapter) >= 1 && countAnnounces(rs, nat.actor("nation"), fromSouth) >= 1
	}, 20*time.Second)
	time.Sleep(500 * time.Millisecond)
	for _, iri := range []string{fromChapter, fromSouth} {
		if n := countAnnounces(follower.Received(), nat.actor("nation"), iri); n != 1 {
			t.Errorf("nation's follower got %d announces of %s, want 1", n, iri)
		}
	}
	if n := countAnnounces(southReader.Received(), south.actor("south"), fromChapter); n != 0 {
		t.Errorf("a sibling city relayed its cousin's post %d times", n)
	}
	if inTimeline(south, fromChapter) {
		t.Errorf("the nation's statement relay leaked the chapter's post down to the south city without relay_parent_posts")
	}

	// Re-configure the chapter: its parent is now the south city.
	chap.stop()
	cfg := readFile(t, chap.config)
	writeFile(t, chap.config, strings.Replace(cfg, `parent: "@north@`+north.host+`"`, `parent: "@south@`+south.host+`"`, 1))
	chap.start()
	waitLinked(t, south, chap)
	eventually(t, "north forgets the chapter", 20*time.Second, func() bool {
		var coll map[string]any
		getJSON(t, north.actor("north")+"/children", &coll)
		return coll["totalItems"] == float64(0)
	})
	moved := postOn(chap, "ana", "after moving to the south city")
	southReader.WaitFor(t, func(rs []fedtest.Received) bool { return countAnnounces(rs, south.actor("south"), moved) == 1 }, 20*time.Second)
	follower.WaitFor(t, func(rs []fedtest.Received) bool { return countAnnounces(rs, nat.actor("nation"), moved) == 1 }, 20*time.Second)
	time.Sleep(500 * time.Millisecond)
	if inTimeline(north, moved) {
		t.Errorf("the old parent still relays the chapter's posts")
	}
	if n := countAnnounces(follower.Received(), nat.actor("nation"), moved); n != 1 {
		t.Errorf("nation's follower got %d announces of the moved chapter's post, want 1", n)
	}
}

// Statements flow down: a parent's post reaches its children, who keep it
// (shown with ?node= the parent) and, with node.relay_parent_posts, boost
// it to their own followers — but never back up.
func TestStatementsFlowDown(t *testing.T) {
	nat := treeNode(t, "nation", "national", nil, "")
	relaying := treeNode(t, "north", "city", nat, "  relay_parent_posts: true\n")
	quiet := treeNode(t, "south", "city", nat, "")
	waitLinked(t, nat, relaying)
	waitLinked(t, nat, quiet)
	readers := map[*testNode]*fedtest.Remote{relaying: fedtest.NewRemote(t, "nreader"), quiet: fedtest.NewRemote(t, "sreader")}
	for n, r := range readers {
		postActivity(t, r, n.actor(n.handle)+"/inbox", followActivity(r, n.actor(n.handle)), 202)
		waitAccepted(t, r)
	}
	natReader := fedtest.NewRemote(t, "natreader")
	postActivity(t, natReader, nat.actor("nation")+"/inbox", followActivity(natReader, nat.actor("nation")), 202)
	waitAccepted(t, natReader)

	nat.cli("member", "add", "secretary")
	out := nat.cli("post", "--as", "secretary", "Statement of the national assembly")
	iri := nat.actor("secretary") + "/statuses/" + strings.TrimSuffix(strings.Fields(out)[1], ":")

	readers[relaying].WaitFor(t, func(rs []fedtest.Received) bool {
		return countAnnounces(rs, relaying.actor("north"), iri) == 1
	}, 20*time.Second)
	for _, n := range []*testNode{relaying, quiet} {
		eventually(t, n.handle+" keeps the statement", 20*time.Second, func() bool {
			var timeline []map[string]any
			n.api("GET", "/api/v1/timelines/public?node="+url.QueryEscape("@nation@"+nat.host), "", nil, &timeline)
			return len(timeline) == 1 && timeline[0]["uri"] == iri
		})
	}
	time.Sleep(500 * time.Millisecond)
	if n := countAnnounces(readers[quiet].Received(), quiet.actor("south"), iri); n != 0 {
		t.Errorf("a child without relay_parent_posts boosted the statement %d times", n)
	}
	if n := countAnnounces(natReader.Received(), nat.actor("nation"), iri); n != 1 {
		t.Errorf("the nation's follower got %d announces of its own statement, want 1 (no echo back up)", n)
	}
}

// "Find members near you" searches the node and its subtree: a visitor on
// the city's site finds a member of a chapter below it, and only members
// who gave a region.
func TestFindMembersAcrossTheTree(t *testing.T) {
	city := treeNode(t, "city", "city", nil, "")
	chap := treeNode(t, "local", "chapter", city, "")
	waitLinked(t, city, chap)
	chap.cli("member", "add", "ines")
	chap.cli("member", "add", "hidden")
	ctx := context.Background()
	db, err := store.Open(ctx, filepath.Join(chap.dir, "data"))
	if err != nil {
		t.Fatal(err)
	}
	ines, err := db.AccountByUsername(ctx, "ines")
	if err != nil {
		t.Fatal(err)
	}
	ines.Region = "Porto, Bonfim"
	if err := db.UpdateAccount(ctx, ines, nil); err != nil {
		t.Fatal(err)
	}
	db.Close()

	var entries []map[string]any
	if code := getJSON(t, city.baseURL+"/directory?region=porto", &entries); code != 200 {
		t.Fatalf("city directory: %d", code)
	}
	if len(entries) != 1 || entries[0]["handle"] != "ines@"+chap.host || entries[0]["node"] != "local node" {
		t.Errorf("city directory for porto = %v, want ines on the chapter", entries)
	}
	resp, err := http.Get(city.baseURL + "/find?region=porto")
	if err != nil {
		t.Fatal(err)
	}
	page, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != 200 || !strings.Contains(string(page), "@ines@"+chap.host) || strings.Contains(string(page), "hidden") {
		t.Errorf("city /find?region=porto: %d, ines found %v", resp.StatusCode, strings.Contains(string(page), "@ines@"))
	}
}
