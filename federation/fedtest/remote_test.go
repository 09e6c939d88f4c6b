package fedtest

import (
	"context"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"io"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"
)

// testKey makes one RSA key for remotes that do not need distinct keys.
func testKey(t *testing.T) *rsa.PrivateKey {
	t.Helper()
	key, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	return key
}

// follow is an activity from one remote's actor to another's.
func follow(from, to *Remote) map[string]any {
	return map[string]any{
		"@context": "https://www.w3.org/ns/activitystreams",
		"id":       from.ActorID + "#follows/1",
		"type":     "Follow",
		"actor":    from.ActorID,
		"object":   to.ActorID,
	}
}

// status returns a function taking a request's results and returning its
// status, closing the body, so it can wrap a call: status(t)(rm.Post(…)).
func status(t *testing.T) func(*http.Response, error) int {
	return func(resp *http.Response, err error) int {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		_, _ = io.Copy(io.Discard, resp.Body)
		return resp.StatusCode
	}
}

// getJSON fetches u and decodes it, checking the media type.
func getJSON(t *testing.T, rm *Remote, u string, wantType string) map[string]any {
	t.Helper()
	resp, err := rm.SignedGet(context.Background(), u)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("GET %s: %s", u, resp.Status)
	}
	if got := resp.Header.Get("Content-Type"); !strings.HasPrefix(got, wantType) {
		t.Errorf("GET %s: Content-Type %q, want %s", u, got, wantType)
	}
	var doc map[string]any
	if err := json.NewDecoder(resp.Body).Decode(&doc); err != nil {
		t.Fatal(err)
	}
	return doc
}

func TestRemoteServesDocuments(t *testing.T) {
	rm := NewRemote(t, "alice")
	wf := getJSON(t, rm, rm.URL+"/.well-known/webfinger?resource="+url.QueryEscape("acct:"+rm.Handle), "application/jrd+json")
	links, _ := wf["links"].([]any)
	self, _ := links[0].(map[string]any)
	if got, want := self["href"], rm.ActorID; got != want {
		t.Errorf("webfinger self href = %v, want %v", got, want)
	}
	if got, want := self["type"], "application/activity+json"; got != want {
		t.Errorf("webfinger self type = %v, want %v", got, want)
	}
	actor := getJSON(t, rm, rm.ActorID, "application/activity+json")
	for field, want := range map[string]string{
		"id": rm.ActorID, "type": "Person", "preferredUsername": "alice",
		"inbox": rm.ActorID + "/inbox", "outbox": rm.ActorID + "/outbox", "followers": rm.ActorID + "/followers",
	} {
		if got := actor[field]; got != want {
			t.Errorf("actor %s = %v, want %v", field, got, want)
		}
	}
	if got, want := actor["endpoints"].(map[string]any)["sharedInbox"], rm.URL+"/inbox"; got != want {
		t.Errorf("sharedInbox = %v, want %v", got, want)
	}
	pk := actor["publicKey"].(map[string]any)
	if got, want := pk["id"], rm.ActorID+"#main-key"; got != want {
		t.Errorf("publicKey.id = %v, want %v", got, want)
	}
	if got, want := pk["owner"], rm.ActorID; got != want {
		t.Errorf("publicKey.owner = %v, want %v", got, want)
	}
	if pem, _ := pk["publicKeyPem"].(string); !strings.HasPrefix(pem, "-----BEGIN PUBLIC KEY-----") {
		t.Errorf("publicKeyPem is not PKIX: %.40q", pem)
	}
	resp, err := http.Get(rm.URL + "/.well-known/webfinger?resource=acct:bob@" + rm.Host)
	if got, want := status(t)(resp, err), http.StatusNotFound; got != want {
		t.Errorf("webfinger for another user: %d, want %d", got, want)
	}
}

func TestRemoteKeyStyles(t *testing.T) {
	gts := NewRemote(t, "gts", WithGoToSocialKeys())
	if got, want := gts.KeyID, gts.ActorID+"/main-key"; got != want {
		t.Errorf("GoToSocial KeyID = %q, want %q", got, want)
	}
	stub := getJSON(t, gts, gts.KeyID, "application/activity+json")
	if got, want := stub["id"], gts.ActorID; got != want {
		t.Errorf("key stub id = %v, want the actor %v", got, want)
	}
	if got, want := stub["publicKey"].(map[string]any)["id"], gts.KeyID; got != want {
		t.Errorf("key stub publicKey.id = %v, want %v", got, want)
	}
	actor := getJSON(t, gts, gts.ActorID, "application/activity+json")
	if got, want := actor["publicKey"].(map[string]any)["id"], gts.KeyID; got != want {
		t.Errorf("actor publicKey.id = %v, want %v", got, want)
	}

	pkcs1 := NewRemote(t, "mobilizon", WithPKCS1Key())
	actor = getJSON(t, pkcs1, pkcs1.ActorID, "application/activity+json")
	if pem, _ := actor["publicKey"].(map[string]any)["publicKeyPem"].(string); !strings.HasPrefix(pem, "-----BEGIN RSA PUBLIC KEY-----") {
		t.Errorf("publicKeyPem is not PKCS#1: %.40q", pem)
	}
}

func TestRemoteAcceptsProperlySigned(t *testing.T) {
	key := testKey(t)
	inbox := NewRemote(t, "bob", WithKey(key))
	senders := map[string]*Remote{
		"mastodon":   NewRemote(t, "alice", WithKey(key)),
		"gotosocial": NewRemote(t, "gts", WithKey(key), WithGoToSocialKeys()),
		"mobilizon":  NewRemote(t, "mob", WithKey(key), WithPKCS1Key()),
	}
	ctx := context.Background()
	for name, from := range senders {
		t.Run(name, func(t *testing.T) {
			inbox.Reset()
			if got, want := status(t)(from.Post(ctx, inbox.InboxURL, follow(from, inbox))), http.StatusAccepted; got != want {
				t.Fatalf("POST to personal inbox: %d, want %d; refused: %q", got, want, inbox.Refused())
			}
			if got, want := status(t)(from.Post(ctx, inbox.SharedInboxURL, follow(from, inbox))), http.StatusAccepted; got != want {
				t.Fatalf("POST to shared inbox: %d, want %d; refused: %q", got, want, inbox.Refused())
			}
			got := inbox.WaitFor(t, func(r []Received) bool { return len(r) == 2 }, 5*time.Second)
			if got[0].Inbox != "/users/bob/inbox" || got[1].Inbox != "/inbox" {
				t.Errorf("inboxes = %q, %q; want /users/bob/inbox, /inbox", got[0].Inbox, got[1].Inbox)
			}
			if got[0].KeyID != from.KeyID || got[0].Activity["type"] != "Follow" || len(got[0].Raw) == 0 {
				t.Errorf("recorded %+v", got[0])
			}
			if r := inbox.Refused(); len(r) != 0 {
				t.Errorf("refused: %q", r)
			}
		})
	}
}

func TestRemoteRefusesForgeries(t *testing.T) {
	key := testKey(t)
	inbox := NewRemote(t, "bob", WithKey(key))
	from := NewRemote(t, "alice", WithKey(key))
	mallory := NewRemote(t, "mallory", WithKey(testKey(t)))
	body, err := json.Marshal(follow(from, inbox))
	if err != nil {
		t.Fatal(err)
	}
	digest := func(b []byte) string {
		sum := sha256.Sum256(b)
		return "SHA-256=" + base64.StdEncoding.EncodeToString(sum[:])
	}
	tampered := []byte(strings.Replace(string(body), "Follow", "Block", 1))
	tests := []struct {
		name string
		from *Remote
		body []byte
		opts SignOpts
	}{
		{name: "tampered body", from: from, body: tampered, opts: SignOpts{Digest: digest(body)}},
		{name: "stale date", from: from, body: body, opts: SignOpts{Date: time.Now().Add(-61 * time.Minute)}},
		{name: "future date", from: from, body: body, opts: SignOpts{Date: time.Now().Add(61 * time.Minute)}},
		{name: "missing digest header", from: from, body: body,
			opts: SignOpts{OmitDigest: true, Headers: []string{"(request-target)", "host", "date"}}},
		{name: "digest not signed", from: from, body: body, opts: SignOpts{Headers: []string{"(request-target)", "host", "date"}}},
		{name: "host not signed", from: from, body: body, opts: SignOpts{Headers: []string{"(request-target)", "date", "digest"}}},
		{name: "unsigned", from: from, body: body, opts: SignOpts{OmitSignature: true}},
		{name: "hmac algorithm", from: from, body: body, opts: SignOpts{Algorithm: "hmac-sha256"}},
		{name: "wrong key", from: from, body: body, opts: SignOpts{Key: mallory.Key}},
		{name: "someone else's actor", from: mallory, body: body},
		{name: "someone else's keyId", from: mallory, body: body, opts: SignOpts{KeyID: from.KeyID}},
		{name: "unknown keyId", from: from, body: body, opts: SignOpts{KeyID: from.URL + "/users/nobody#main-key"}},
		{name: "plain JSON", from: from, body: body, opts: SignOpts{ContentType: "application/json"}},
		{name: "not JSON", from: from, body: []byte("hello")},
	}
	ctx := context.Background()
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			inbox.Reset()
			if got, want := status(t)(tt.from.PostWith(ctx, inbox.InboxURL, tt.body, tt.opts)), http.StatusUnauthorized; got != want {
				t.Errorf("status %d, want %d", got, want)
			}
			if got := inbox.Received(); len(got) != 0 {
				t.Errorf("accepted %d activities, want none", len(got))
			}
			refused := inbox.Refused()
			if len(refused) != 1 {
				t.Fatalf("refusals = %q, want one", refused)
			}
			t.Logf("refused: %s", refused[0])
		})
	}
}

func TestRemoteVariantsStillAccepted(t *testing.T) {
	key := testKey(t)
	inbox := NewRemote(t, "bob", WithKey(key))
	from := NewRemote(t, "alice", WithKey(key))
	body, err := json.Marshal(follow(from, inbox))
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name string
		opts SignOpts
	}{
		{name: "hs2019", opts: SignOpts{Algorithm: "hs2019"}},
		{name: "no algorithm", opts: SignOpts{OmitAlgorithm: true}},
		{name: "content-type signed too", opts: SignOpts{Headers: []string{"(request-target)", "host", "date", "digest", "content-type"}}},
		{name: "ld+json", opts: SignOpts{ContentType: `application/ld+json; profile="https://www.w3.org/ns/activitystreams"`}},
		{name: "50 minutes old", opts: SignOpts{Date: time.Now().Add(-50 * time.Minute)}},
		{name: "created and expires", opts: SignOpts{Headers: []string{"(request-target)", "host", "date", "digest", "(created)", "(expires)"}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got, want := status(t)(from.PostWith(context.Background(), inbox.SharedInboxURL, body, tt.opts)), http.StatusAccepted; got != want {
				t.Errorf("status %d, want %d; refused: %q", got, want, inbox.Refused())
			}
		})
	}
}

func TestRemoteDownAndGone(t *testing.T) {
	key := testKey(t)
	inbox := NewRemote(t, "bob", WithKey(key))
	from := NewRemote(t, "alice", WithKey(key))
	ctx := context.Background()
	post := func() int { return status(t)(from.Post(ctx, inbox.InboxURL, follow(from, inbox))) }

	inbox.Down()
	if got, want := post(), http.StatusServiceUnavailable; got != want {
		t.Errorf("while down: %d, want %d", got, want)
	}
	inbox.Up()
	if got, want := post(), http.StatusAccepted; got != want {
		t.Errorf("after Up: %d, want %d", got, want)
	}
	inbox.SetGone(true)
	if got, want := post(), http.StatusGone; got != want {
		t.Errorf("inbox while gone: %d, want %d", got, want)
	}
	resp, err := http.Get(inbox.ActorID)
	if got, want := status(t)(resp, err), http.StatusGone; got != want {
		t.Errorf("actor while gone: %d, want %d", got, want)
	}
	inbox.SetGone(false)
	if got, want := post(), http.StatusAccepted; got != want {
		t.Errorf("after SetGone(false): %d, want %d", got, want)
	}
	if got := len(inbox.Received()); got != 2 {
		t.Errorf("received %d, want 2", got)
	}
	if got := inbox.Refused(); len(got) != 0 {
		t.Errorf("refused %q, want none: 503 and 410 are not refusals", got)
	}
}
