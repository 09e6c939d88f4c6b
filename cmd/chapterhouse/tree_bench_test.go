package main

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"slices"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/chapterhouse/chapterhouse/chapter"
	"github.com/chapterhouse/chapterhouse/federation/fedtest"
	"github.com/chapterhouse/chapterhouse/store"
)

// BenchmarkFanout: one post announced to 10,000 followers on 1,000
// instances (shared inboxes, loopback httptest receivers). Each op is one
// post; the time is until every instance has its delivery.
// go test -run XXX -bench Fanout -benchtime 3x ./cmd/chapterhouse/
func BenchmarkFanout(b *testing.B) {
	const instances, perInstance = 1000, 10
	var received atomic.Int64
	receivers := make([]*httptest.Server, instances)
	for i := range receivers {
		receivers[i] = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if r.Method == http.MethodPost && r.Header.Get("Signature") != "" {
				received.Add(1)
			}
			w.WriteHeader(http.StatusAccepted)
		}))
		defer receivers[i].Close()
	}
	node := newTestNode(b, "  workers: 32\n  inbox_rate_limit: 1000000\n")
	node.stop()
	addFollowers(b, filepath.Join(node.dir, "data"), receivers, perInstance)
	node.start()
	node.cli("member", "add", "ana")
	token := strings.TrimSpace(node.cli("token", "ana"))
	// Warm up: keys generated, connections open.
	node.api("POST", "/api/v1/statuses", token, map[string]any{"status": "warm-up"}, nil)
	waitCount(b, &received, instances)

	b.ResetTimer()
	start := time.Now()
	for i := 0; i < b.N; i++ {
		want := received.Load() + instances
		node.api("POST", "/api/v1/statuses", token, map[string]any{"status": fmt.Sprintf("post %d", i)}, nil)
		waitCount(b, &received, want)
	}
	elapsed := time.Since(start)
	b.ReportMetric(float64(b.N*instances)/elapsed.Seconds(), "signed-deliveries/s")
	b.ReportMetric(elapsed.Seconds()*1000/float64(b.N), "ms-to-all-delivered")
}

// addFollowers writes remote accounts following the node's Group, n per
// receiver, straight into the store (the node is stopped).
func addFollowers(b *testing.B, dataDir string, receivers []*httptest.Server, n int) {
	b.Helper()
	ctx := context.Background()
	db, err := store.Open(ctx, dataDir)
	if err != nil {
		b.Fatal(err)
	}
	defer db.Close()
	g, err := db.AccountByUsername(ctx, "chapter")
	if err != nil {
		b.Fatal(err)
	}
	for i, srv := range receivers {
		host := strings.TrimPrefix(srv.URL, "http://")
		for j := 0; j < n; j++ {
			actor := fmt.Sprintf("%s/users/u%d", srv.URL, j)
			a := &chapter.Account{Username: fmt.Sprintf("u%d", j), Host: host, Kind: chapter.KindPerson,
				ActorIRI: actor, InboxIRI: actor + "/inbox", SharedInboxIRI: srv.URL + "/inbox",
				PublicKeyID: actor + "#main-key", FetchedAt: time.Now()}
			if err := db.UpsertRemoteAccount(ctx, a); err != nil {
				b.Fatalf("follower %d/%d: %v", i, j, err)
			}
			if err := db.PutFollow(ctx, &chapter.Follow{FollowerID: a.ID, TargetID: g.ID, State: chapter.FollowAccepted,
				ActivityIRI: actor + "#follow", CreatedAt: time.Now()}, nil); err != nil {
				b.Fatal(err)
			}
		}
	}
}

func waitCount(b *testing.B, n *atomic.Int64, want int64) {
	b.Helper()
	deadline := time.Now().Add(60 * time.Second)
	for n.Load() < want {
		if time.Now().After(deadline) {
			b.Fatalf("only %d of %d deliveries arrived", n.Load(), want)
		}
		time.Sleep(time.Millisecond)
	}
}

// BenchmarkPropagation: chapter → city → national → international on
// loopback. Each op is one post through the chapter's API; the time is until
// a follower of the international node has the international's Announce.
// go test -run XXX -bench Propagation -benchtime 100x ./cmd/chapterhouse/
func BenchmarkPropagation(b *testing.B) {
	intl := benchTreeNode(b, "world", "international", nil)
	nat := benchTreeNode(b, "nation", "national", intl)
	city := benchTreeNode(b, "city", "city", nat)
	chap := benchTreeNode(b, "local", "chapter", city)
	for _, pair := range [][2]*testNode{{intl, nat}, {nat, city}, {city, chap}} {
		waitLinkedTB(b, pair[0], pair[1])
	}
	follower := fedtest.NewRemote(b, "reader")
	resp, err := follower.Post(context.Background(), intl.actor("world")+"/inbox", followActivity(follower, intl.actor("world")))
	if err != nil {
		b.Fatal(err)
	}
	resp.Body.Close()
	chap.cli("member", "add", "ana")
	token := strings.TrimSpace(chap.cli("token", "ana"))

	latencies := make([]time.Duration, 0, b.N)
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		start := time.Now()
		var status map[string]any
		chap.api("POST", "/api/v1/statuses", token, map[string]any{"status": fmt.Sprintf("propagate %d", i)}, &status)
		iri, _ := status["uri"].(string)
		deadline := start.Add(30 * time.Second)
		for countAnnounces(follower.Received(), intl.actor("world"), iri) == 0 {
			if time.Now().After(deadline) {
				b.Fatalf("post %d did not reach the international node's follower", i)
			}
			time.Sleep(500 * time.Microsecond)
		}
		latencies = append(latencies, time.Since(start))
	}
	b.StopTimer()
	slices.Sort(latencies)
	p := func(q float64) float64 {
		return float64(latencies[int(q*float64(len(latencies)-1))].Microseconds()) / 1000
	}
	b.ReportMetric(p(0.50), "p50-ms")
	b.ReportMetric(p(0.99), "p99-ms")
}

func benchTreeNode(b *testing.B, handle, level string, parent *testNode) *testNode {
	return newTestNodeWith(b, nodeSection(handle, level, parent)+"  approve_children: auto\n", "  inbox_rate_limit: 1000000\n")
}

func waitLinkedTB(b *testing.B, parent, child *testNode) {
	eventually(b, child.handle+" linked", 20*time.Second, func() bool {
		var following map[string]any
		getJSON(b, parent.actor(parent.handle)+"/following?page=1", &following)
		items, _ := following["orderedItems"].([]any)
		return slices.Contains(items, any(child.actor(child.handle)))
	})
}
