package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"strconv"
	"sync/atomic"
	"testing"
	"time"

	"github.com/chapterhouse/chapterhouse/chapter"
	"github.com/chapterhouse/chapterhouse/config"
	"github.com/chapterhouse/chapterhouse/federation/fedtest"
)

// Benchmarks of a whole node over loopback HTTP: what a remote server sees.
// Run with: go test -run XXX -bench . -benchtime 5000x ./cmd/chapterhouse/
// (the inbox benchmark signs its requests before the timer starts, which
// takes about 0.7 ms each).

// benchNode starts a node for benchmarks, with the inbox rate limit out of
// the way (one remote host sends everything).
func benchNode(b *testing.B) *testNode {
	b.Helper()
	return newTestNode(b, "  inbox_rate_limit: 1000000\n  inbox_burst: 1000000\n")
}

// BenchmarkInboxPost measures signed inbox POSTs verified and persisted per
// second: Mastodon-style signatures checked against the cached key, the
// activity stored, 202 answered.
func BenchmarkInboxPost(b *testing.B) {
	node := benchNode(b)
	rec := &recordingTransport{}
	remote := fedtest.NewRemote(b, "bench", fedtest.WithHTTPClient(&http.Client{Transport: rec}))
	inbox := node.baseURL + "/inbox"
	// Warm the key cache with one request, as a busy peer would.
	sendSigned(b, remote, inbox, likeBody(remote, node, -1))

	rec.recording = true
	reqs := make([]*http.Request, b.N)
	for i := range reqs {
		if _, err := remote.PostWith(context.Background(), inbox, likeBody(remote, node, i), fedtest.SignOpts{}); err != nil {
			b.Fatal(err)
		}
		reqs[i] = rec.req
	}
	var idx atomic.Int64
	hammer(b, "posts/s", http.StatusAccepted, func() *http.Request { return reqs[idx.Add(1)-1] })
}

// hammer sends b.N requests from 16 goroutines per CPU, reports them per
// second under unit, and fails the benchmark if any did not get status.
func hammer(b *testing.B, unit string, status int, next func() *http.Request) {
	client := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: 64}}
	var failures atomic.Int64
	b.SetParallelism(16)
	b.ResetTimer()
	start := time.Now()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			resp, err := client.Do(next())
			if err != nil {
				failures.Add(1)
				continue
			}
			_, _ = io.Copy(io.Discard, resp.Body)
			resp.Body.Close()
			if resp.StatusCode != status {
				failures.Add(1)
			}
		}
	})
	b.StopTimer()
	b.ReportMetric(float64(b.N)/time.Since(start).Seconds(), unit)
	if n := failures.Load(); n > 0 {
		b.Fatalf("%d of %d requests did not answer %d", n, b.N, status)
	}
}

// likeBody is a distinct Like per request, so each is stored.
func likeBody(remote *fedtest.Remote, node *testNode, i int) []byte {
	body, _ := json.Marshal(map[string]any{"@context": "https://www.w3.org/ns/activitystreams",
		"id": remote.ActorID + "#likes/" + strconv.Itoa(i), "type": "Like", "actor": remote.ActorID,
		"object": node.baseURL + "/users/alice/statuses/1"})
	return body
}

func sendSigned(b *testing.B, remote *fedtest.Remote, inbox string, body []byte) {
	resp, err := remote.PostWith(context.Background(), inbox, body, fedtest.SignOpts{})
	if err != nil {
		b.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusAccepted {
		b.Fatalf("warm-up post: %d", resp.StatusCode)
	}
}

// recordingTransport sends requests until recording is set, then captures
// them (signed, ready to replay) instead of sending them.
type recordingTransport struct {
	recording bool
	req       *http.Request
}

func (r *recordingTransport) RoundTrip(req *http.Request) (*http.Response, error) {
	if !r.recording {
		return http.DefaultTransport.RoundTrip(req)
	}
	body, _ := io.ReadAll(req.Body)
	clone := req.Clone(context.Background())
	clone.Body = io.NopCloser(bytes.NewReader(body))
	clone.GetBody = func() (io.ReadCloser, error) { return io.NopCloser(bytes.NewReader(body)), nil }
	clone.ContentLength = int64(len(body))
	r.req = clone
	return &http.Response{StatusCode: http.StatusAccepted, Body: http.NoBody, Request: req}, nil
}

// BenchmarkGET measures actor, WebFinger and outbox GETs per second.
func BenchmarkGET(b *testing.B) {
	node := benchNode(b)
	node.cli("member", "add", "alice")
	node.cli("post", "--as", "alice", "something to list in the outbox")
	cases := []struct{ name, path, accept string }{
		{"actor", "/users/chapter", "application/activity+json"},
		{"webfinger", "/.well-known/webfinger?resource=acct:chapter@" + node.host, "application/jrd+json"},
		{"outbox", "/users/alice/outbox?page=true", "application/activity+json"},
	}
	for _, tc := range cases {
		b.Run(tc.name, func(b *testing.B) {
			hammer(b, "req/s", http.StatusOK, func() *http.Request {
				req, _ := http.NewRequest(http.MethodGet, node.baseURL+tc.path, nil)
				req.Header.Set("Accept", tc.accept)
				return req
			})
		})
	}
}

// BenchmarkImportMembers measures adding members through the service, as
// "member add" does, keys left to the background worker (RSA-2048
// generation is ~44 ms each: 10,000 inline would take minutes).
// go test -run XXX -bench ImportMembers -benchtime 10000x ./cmd/chapterhouse/
func BenchmarkImportMembers(b *testing.B) {
	cfg := config.Default()
	cfg.DataDir = b.TempDir()
	n, err := openNode(context.Background(), cfg, slog.New(slog.DiscardHandler))
	if err != nil {
		b.Fatal(err)
	}
	defer n.Close()
	b.ResetTimer()
	start := time.Now()
	for i := 0; i < b.N; i++ {
		if _, err := n.svc.AddMember(context.Background(), fmt.Sprintf("member%d", i), chapter.RoleMember); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(b.N)/time.Since(start).Seconds(), "members/s")
}
