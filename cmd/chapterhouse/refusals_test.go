package main

import (
	"bytes"
	"context"
	"crypto/rand"
	"crypto/rsa"
	"encoding/json"
	"net/http"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/chapterhouse/chapterhouse/federation/fedtest"
	"github.com/chapterhouse/chapterhouse/store"
)

// Every refusal of the inbox answers with its status and changes nothing:
// no follower recorded, no Accept sent, nothing stored.
func TestInboxRefusalsChangeNothing(t *testing.T) {
	ctx := context.Background()
	node := newTestNode(t, "  blocked_domains: [blocked.example]\n")
	remote := fedtest.NewRemote(t, "mallory")
	other := fedtest.NewRemote(t, "victim")
	inbox := node.actor("chapter") + "/inbox"
	follow := func(actor string) []byte {
		b, _ := json.Marshal(map[string]any{"@context": "https://www.w3.org/ns/activitystreams",
			"id": actor + "#follows/" + time.Now().Format("150405.000000000"), "type": "Follow",
			"actor": actor, "object": node.actor("chapter")})
		return b
	}
	otherKey, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	huge := append(follow(remote.ActorID)[:0:0], follow(remote.ActorID)...)
	huge = append(huge[:len(huge)-1], []byte(`,"padding":"`+strings.Repeat("x", 1<<20)+`"}`)...)

	cases := []struct {
		name string
		body []byte
		opts fedtest.SignOpts
		want int
	}{
		{"unsigned", follow(remote.ActorID), fedtest.SignOpts{OmitSignature: true}, http.StatusUnauthorized},
		{"forged with another key", follow(remote.ActorID), fedtest.SignOpts{Key: otherKey}, http.StatusUnauthorized},
		{"wrong digest", follow(remote.ActorID), fedtest.SignOpts{Digest: "SHA-256=47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU="}, http.StatusUnauthorized},
		{"missing digest", follow(remote.ActorID), fedtest.SignOpts{OmitDigest: true, Headers: []string{"(request-target)", "host", "date"}}, http.StatusUnauthorized},
		{"stale date", follow(remote.ActorID), fedtest.SignOpts{Date: time.Now().Add(-2 * time.Hour)}, http.StatusUnauthorized},
		{"future date", follow(remote.ActorID), fedtest.SignOpts{Date: time.Now().Add(2 * time.Hour)}, http.StatusUnauthorized},
		{"host not signed", follow(remote.ActorID), fedtest.SignOpts{Headers: []string{"(request-target)", "date", "digest"}}, http.StatusUnauthorized},
		{"hmac algorithm", follow(remote.ActorID), fedtest.SignOpts{Algorithm: "hmac-sha256"}, http.StatusUnauthorized},
		{"signer is not the actor", follow(other.ActorID), fedtest.SignOpts{}, http.StatusUnauthorized},
		{"unknown key", follow(remote.ActorID), fedtest.SignOpts{KeyID: remote.URL + "/users/nobody#main-key"}, http.StatusUnauthorized},
		{"oversized", huge, fedtest.SignOpts{}, http.StatusRequestEntityTooLarge},
		{"malformed JSON", []byte(`{"type":"Follow","actor":`), fedtest.SignOpts{}, http.StatusBadRequest},
		{"not an object", []byte(`["Follow"]`), fedtest.SignOpts{}, http.StatusBadRequest},
		{"too deep", []byte(strings.Repeat(`{"a":`, 100) + `1` + strings.Repeat(`}`, 100)), fedtest.SignOpts{}, http.StatusBadRequest},
		{"wrong media type", follow(remote.ActorID), fedtest.SignOpts{ContentType: "text/plain"}, http.StatusUnsupportedMediaType},
		{"blocked domain", follow("http://blocked.example/users/spam"), fedtest.SignOpts{}, http.StatusForbidden},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			resp, err := remote.PostWith(ctx, inbox, tc.body, tc.opts)
			if err != nil {
				t.Fatal(err)
			}
			var body map[string]any
			_ = json.NewDecoder(resp.Body).Decode(&body)
			resp.Body.Close()
			if resp.StatusCode != tc.want {
				t.Errorf("status = %d, want %d (%v)", resp.StatusCode, tc.want, body)
			}
			if msg, _ := body["error"].(string); msg == "" {
				t.Errorf("error body = %v, want {\"error\": …}", body)
			}
		})
	}

	t.Run("RFC 9421 signature", func(t *testing.T) {
		req, _ := http.NewRequest(http.MethodPost, inbox, bytes.NewReader(follow(remote.ActorID)))
		req.Header.Set("Content-Type", "application/activity+json")
		req.Header.Set("Signature-Input", `sig1=("@method" "@target-uri" "content-digest");created=`+
			time.Now().Format("20060102")+`;keyid="`+remote.KeyID+`"`)
		req.Header.Set("Signature", "sig1=:AAAA:")
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusUnauthorized {
			t.Errorf("status = %d, want 401 so the peer falls back to draft-cavage", resp.StatusCode)
		}
	})

	// Nothing changed: no follower, no Accept, nothing in the inbox table.
	var coll map[string]any
	getJSON(t, node.actor("chapter")+"/followers", &coll)
	if got := coll["totalItems"]; got != float64(0) {
		t.Errorf("followers = %v after refusals, want 0", got)
	}
	if got := len(remote.Received()) + len(other.Received()); got != 0 {
		t.Errorf("remotes received %d activities after refusals, want 0", got)
	}
	node.stop()
	db, err := store.Open(ctx, filepath.Join(node.dir, "data"))
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	pending, err := db.PendingInbox(ctx, 10)
	if err != nil {
		t.Fatal(err)
	}
	if len(pending) != 0 {
		t.Errorf("inbox holds %d items after refusals, want 0", len(pending))
	}
}

// One remote host cannot flood the inbox: past its burst it gets 429, while
// another host is still served.
func TestInboxRateLimitPerHost(t *testing.T) {
	node := newTestNode(t, "  inbox_rate_limit: 0.01\n  inbox_burst: 3\n")
	noisy := fedtest.NewRemote(t, "noisy")
	quiet := fedtest.NewRemote(t, "quiet")
	inbox := node.baseURL + "/inbox"
	like := func(r *fedtest.Remote, i int) []byte {
		b, _ := json.Marshal(map[string]any{"@context": "https://www.w3.org/ns/activitystreams",
			"id": r.ActorID + "#likes/" + time.Now().Format("150405.000000000") + string(rune('a'+i)), "type": "Like",
			"actor": r.ActorID, "object": node.baseURL + "/users/alice/statuses/1"})
		return b
	}
	var codes []int
	for i := 0; i < 5; i++ {
		resp, err := noisy.PostWith(context.Background(), inbox, like(noisy, i), fedtest.SignOpts{})
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		codes = append(codes, resp.StatusCode)
	}
	want := []int{202, 202, 202, 429, 429}
	for i := range want {
		if codes[i] != want[i] {
			t.Fatalf("statuses = %v, want %v", codes, want)
		}
	}
	resp, err := quiet.PostWith(context.Background(), inbox, like(quiet, 0), fedtest.SignOpts{})
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusAccepted {
		t.Errorf("another host: status %d, want 202", resp.StatusCode)
	}
}
