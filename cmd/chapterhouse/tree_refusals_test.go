package main

import (
	"context"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/chapterhouse/chapterhouse/federation/fedtest"
)

// Misconfiguration gets a clear error and no link: a parent of the same or
// a lower level, and a parent that is not a Chapterhouse node.
func TestTreeRefusesBadParents(t *testing.T) {
	city := treeNode(t, "town", "city", nil, "")
	mastodon := fedtest.NewRemote(t, "someone") // a plain account, not a node

	cases := []struct {
		name, level, parent, want string
	}{
		{"same level", "city", "@town@" + city.host, "not above"},
		{"lower level", "international", "@town@" + city.host, "not above"},
		{"not a Chapterhouse node", "chapter", "@" + mastodon.Handle, "not a Chapterhouse node"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			lines := "  handle: child\n  name: child node\n  level: " + tc.level + "\n  parent: \"" + tc.parent + "\"\n"
			child := newTestNodeWith(t, lines, "")
			eventually(t, "the refusal logged", 10*time.Second, func() bool {
				return strings.Contains(child.logs.String(), "parent not linked: fix node.parent")
			})
			if !strings.Contains(child.logs.String(), tc.want) {
				t.Errorf("log does not say %q:\n%s", tc.want, child.logs.String())
			}
			var coll map[string]any
			getJSON(t, city.actor("town")+"/children", &coll)
			if coll["totalItems"] != float64(0) {
				t.Errorf("parent lists %v children, want 0", coll["totalItems"])
			}
			if out := child.cli("children"); strings.Count(out, "\n") != 1 {
				t.Errorf("children of the child: %q", out)
			}
		})
	}
	if n := mastodon.Hits(); n == 0 {
		t.Errorf("the Mastodon account was never looked up")
	}
	if n := len(mastodon.Received()); n != 0 {
		t.Errorf("the Mastodon account received %d activities (a Follow?), want 0", n)
	}
}

// A parent rejects a child whose level is not below its own, even when the
// child claims it as parent: the check holds on both sides.
func TestParentRejectsWrongLevelChild(t *testing.T) {
	nat := treeNode(t, "nation", "national", nil, "")
	// A forged "child" that claims a higher level: a remote whose actor
	// document says level international and parent = the national node.
	group := nat.actor("nation")
	rogue := fedtest.NewRemote(t, "rogue", fedtest.WithActorFields(map[string]any{
		"type": "Group", "level": "international", "parent": group}))
	postActivity(t, rogue, group+"/inbox", followActivity(rogue, group), http.StatusAccepted)
	rogue.WaitFor(t, func(rs []fedtest.Received) bool {
		return countWhere(rs, func(a map[string]any) bool { return a["type"] == "Reject" }) == 1
	}, 10*time.Second)
	var coll map[string]any
	getJSON(t, group+"/children", &coll)
	if coll["totalItems"] != float64(0) {
		t.Errorf("children = %v, want 0", coll["totalItems"])
	}
}

// An Announce that claims to come from a linked child but is signed by
// someone else is refused; one from a Group that is not linked is only a
// boost and relays nothing.
func TestForgedRelayRefused(t *testing.T) {
	city := treeNode(t, "city", "city", nil, "")
	chap := treeNode(t, "local", "chapter", city, "")
	waitLinked(t, city, chap)
	follower := fedtest.NewRemote(t, "reader")
	postActivity(t, follower, city.actor("city")+"/inbox", followActivity(follower, city.actor("city")), 202)
	waitAccepted(t, follower)

	// The forger hosts a post and announces it in the chapter's name.
	forger := fedtest.NewRemote(t, "forger")
	announce := map[string]any{"@context": "https://www.w3.org/ns/activitystreams",
		"id": forger.ActorID + "#announce/1", "type": "Announce", "actor": chap.actor("local"),
		"object": forger.ActorID + "/statuses/1", "to": []string{publicAddress}}
	resp, err := forger.Post(context.Background(), city.baseURL+"/inbox", announce)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusUnauthorized {
		t.Errorf("forged relay: status %d, want 401", resp.StatusCode)
	}
	// An unlinked Group's Announce is an ordinary boost: nothing is relayed.
	stranger := fedtest.NewRemote(t, "othergroup", fedtest.WithActorFields(map[string]any{"type": "Group", "level": "chapter"}))
	postActivity(t, stranger, city.baseURL+"/inbox", map[string]any{"@context": "https://www.w3.org/ns/activitystreams",
		"id": stranger.ActorID + "#announce/1", "type": "Announce", "actor": stranger.ActorID,
		"object": stranger.ActorID + "/statuses/1", "to": []string{publicAddress}}, http.StatusAccepted)

	// A genuine post from the chapter still flows, and is the only thing
	// the follower gets.
	chap.cli("member", "add", "ana")
	out := chap.cli("post", "--as", "ana", "genuine")
	iri := chap.actor("ana") + "/statuses/" + strings.TrimSuffix(strings.Fields(out)[1], ":")
	follower.WaitFor(t, func(rs []fedtest.Received) bool { return countAnnounces(rs, city.actor("city"), iri) == 1 }, 10*time.Second)
	if n := countWhere(follower.Received(), func(a map[string]any) bool { return a["type"] == "Announce" }); n != 1 {
		t.Errorf("follower received %d announces, want only the genuine one", n)
	}
}

// Detach (by the parent) and leave (by the child) stop the relay both ways.
func TestDetachAndLeaveStopRelays(t *testing.T) {
	for _, how := range []string{"detach", "leave"} {
		t.Run(how, func(t *testing.T) {
			city := treeNode(t, "city", "city", nil, "")
			chap := treeNode(t, "local", "chapter", city, "")
			waitLinked(t, city, chap)
			witness := fedtest.NewRemote(t, "witness")
			postActivity(t, witness, chap.actor("local")+"/inbox", followActivity(witness, chap.actor("local")), 202)
			waitAccepted(t, witness)

			if how == "detach" {
				city.cli("children", "detach", chap.actor("local"))
			} else {
				chap.cli("leave")
			}
			eventually(t, "the link gone on both sides", 10*time.Second, func() bool {
				var children, following map[string]any
				getJSON(t, city.actor("city")+"/children", &children)
				getJSON(t, chap.actor("local")+"/following", &following)
				var followers map[string]any
				getJSON(t, chap.actor("local")+"/followers", &followers)
				// The chapter keeps only the witness as a follower.
				return children["totalItems"] == float64(0) && following["totalItems"] == float64(0) &&
					followers["totalItems"] == float64(1)
			})
			chap.cli("member", "add", "ana")
			out := chap.cli("post", "--as", "ana", "after the split")
			iri := chap.actor("ana") + "/statuses/" + strings.TrimSuffix(strings.Fields(out)[1], ":")
			witness.WaitFor(t, func(rs []fedtest.Received) bool { return countAnnounces(rs, chap.actor("local"), iri) == 1 }, 10*time.Second)
			time.Sleep(300 * time.Millisecond)
			if inTimeline(city, iri) {
				t.Errorf("the city still shows the chapter's post after %s", how)
			}
		})
	}
}
