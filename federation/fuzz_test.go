package federation_test

import (
	"bytes"
	"context"
	"crypto/rand"
	"crypto/rsa"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"runtime/debug"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/chapterhouse/chapterhouse/chapter"
	"github.com/chapterhouse/chapterhouse/federation"
	"github.com/chapterhouse/chapterhouse/federation/fedtest"
)

// sharedCorpus is the interop corpus of real payloads other people keep;
// its files are seeds, read at test time and never copied here.
const sharedCorpus = "/work/shared/testdata/fediverse"

// addSeeds seeds a fuzzer with every interop fixture and every payload of
// the shared corpus. The shared payloads come twice: as they are (their
// actors are on other hosts, so the inbox refuses them at the signer
// check), and adopted, with their actor and author turned into
// {{REMOTE}}, so they reach storage and processing too.
func addSeeds(f *testing.F) {
	f.Helper()
	fixtures, err := filepath.Glob(filepath.Join(interopDir, "*.json"))
	if err != nil || len(fixtures) == 0 {
		f.Fatalf("no interop fixtures in %s (%v)", interopDir, err)
	}
	for _, path := range fixtures {
		b, err := os.ReadFile(path)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b)
	}
	// Small documents mutate into interesting ones far more often than
	// the big real ones: one per kind of activity processing handles.
	for _, seed := range compactSeeds {
		f.Add([]byte(seed))
	}
	shared, err := filepath.Glob(filepath.Join(sharedCorpus, "*.json"))
	if err != nil {
		f.Fatal(err)
	}
	for _, path := range shared {
		b, err := os.ReadFile(path)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b)
		if adopted, ok := adopt(b); ok {
			f.Add(adopted)
		}
	}
}

// compactSeeds are minimal activities with the shapes servers vary: a
// string or an object where either is allowed.
var compactSeeds = []string{
	`{"type":"Create","actor":"{{REMOTE}}","id":"{{REMOTE}}/s/1/a","object":{"type":"Note","id":"{{REMOTE}}/s/1",` +
		`"attributedTo":"{{REMOTE}}","content":"hi","inReplyTo":"{{POST}}","to":"https://www.w3.org/ns/activitystreams#Public",` +
		`"url":{"type":"Link","href":"{{REMOTE}}/@bob/1"},"tag":{"type":"Mention","href":"{{MEMBER}}"}}}`,
	`{"type":"Update","actor":"{{REMOTE}}","id":"{{REMOTE}}#u/1","object":{"type":"Note","id":"{{REMOTE}}/s/1",` +
		`"attributedTo":"{{REMOTE}}","contentMap":{"en":"edited"},"url":"{{REMOTE}}/@bob/1"}}`,
	`{"type":"Like","actor":"{{REMOTE}}","id":"{{REMOTE}}#l/1","object":"{{POST}}"}`,
	`{"type":"Announce","actor":"{{REMOTE}}","id":"{{REMOTE}}#b/1","object":{"id":"{{POST}}","type":"Note"}}`,
	`{"type":"Follow","actor":"{{REMOTE}}","id":"{{REMOTE}}#f/1","object":"{{GROUP}}"}`,
	`{"type":"Undo","actor":"{{REMOTE}}","id":"{{REMOTE}}#f/1/undo","object":{"type":"Follow","actor":"{{REMOTE}}","object":"{{GROUP}}"}}`,
	`{"type":"Accept","actor":"{{REMOTE}}","id":"{{REMOTE}}#a/1","object":"{{FOLLOW}}"}`,
	`{"type":"Delete","actor":"{{REMOTE}}","id":"{{REMOTE}}#d/1","object":{"type":"Tombstone","id":"{{REMOTE}}/s/1"}}`,
	`{"type":"Block","actor":"{{REMOTE}}","id":"{{REMOTE}}#k/1","object":"{{GROUP}}"}`,
}

// adopt rewrites a payload so that the fuzzers' remote sent it: actor,
// attributedTo and the embedded object's author become {{REMOTE}}.
func adopt(b []byte) ([]byte, bool) {
	var m map[string]any
	if json.Unmarshal(b, &m) != nil {
		return nil, false
	}
	m["actor"] = "{{REMOTE}}"
	if _, ok := m["attributedTo"]; ok {
		m["attributedTo"] = "{{REMOTE}}"
	}
	if obj, ok := m["object"].(map[string]any); ok {
		for _, k := range []string{"actor", "attributedTo"} {
			if _, ok := obj[k]; ok {
				obj[k] = "{{REMOTE}}"
			}
		}
	}
	out, err := json.Marshal(m)
	return out, err == nil
}

// fuzzKey is the fuzzers' remote key: 1024 bits, the smallest the node
// accepts, because signing every input is most of an input's cost.
var fuzzKey = sync.OnceValues(func() (*rsa.PrivateKey, error) { return rsa.GenerateKey(rand.Reader, 1024) })

// newFuzzEnv is the fuzzers' environment: a node without workers and a
// remote "bob" with the small key.
func newFuzzEnv(f *testing.F, opts ...nodeOption) *interopEnv {
	f.Helper()
	key, err := fuzzKey()
	if err != nil {
		f.Fatal(err)
	}
	e := newEnv(f, append([]nodeOption{withoutWorkers()}, opts...), "bob", fedtest.WithKey(key))
	fuzzVars(e)
	return e
}

// fuzzVars completes the placeholders a fuzzer's environment lacks.
func fuzzVars(e *interopEnv) {
	e.vars["FOLLOW"] = e.node.Group.ActorIRI + "#follows/1/1"
}

// FuzzInboxJSON sends arbitrary bodies, signed with a valid signature over
// exactly those bytes, through the real inbox handler: media type,
// signature and digest checks, JSON parsing, signer/actor match, storage.
// Whatever the body, the inbox must not panic and must answer 202 or a
// client error it is meant to give, never 500.
func FuzzInboxJSON(f *testing.F) {
	addSeeds(f)
	e := newFuzzEnv(f, withFederationOptions(func(o *federation.Options) {
		// One remote sends thousands of requests a second: the rate
		// limit is not what is under test.
		o.InboxRateLimit, o.InboxBurst = 1e9, 1<<30
	}))
	inboxes := []string{e.node.sharedInbox(), e.node.inbox("chapter")}
	var seq atomic.Int64
	f.Fuzz(func(t *testing.T, body []byte) {
		body, _ = substitute(body, e.vars) // unknown placeholders stay as text
		if body == nil {
			body = []byte{}
		}
		inbox := inboxes[seq.Add(1)%int64(len(inboxes))]
		req := httptest.NewRequest(http.MethodPost, inbox, bytes.NewReader(body))
		req.Header.Set("Content-Type", "application/activity+json")
		if err := federation.SignRequest(req, body, e.remote.KeyID, e.remote.Key, time.Now()); err != nil {
			t.Fatal(err)
		}
		rec := httptest.NewRecorder()
		e.node.Handler.ServeHTTP(rec, req)
		switch rec.Code {
		case http.StatusAccepted, http.StatusBadRequest, http.StatusUnauthorized, http.StatusForbidden,
			http.StatusRequestEntityTooLarge, http.StatusUnsupportedMediaType:
		default:
			t.Fatalf("inbox answered %d %s for body %q", rec.Code, rec.Body.String(), body)
		}
	})
}

// FuzzProcess feeds arbitrary bodies to stored-inbox processing, as if the
// inbox had verified and stored them from the remote: processing must never
// panic, whatever the activity (a panic there kills the node's inbox
// worker, and with it the node).
func FuzzProcess(f *testing.F) {
	addSeeds(f)
	e := newFuzzEnv(f)
	e.prime(f)
	var seq atomic.Int64
	f.Fuzz(func(t *testing.T, body []byte) {
		body, _ = substitute(body, e.vars)
		it := &chapter.InboxItem{ActivityIRI: fmt.Sprintf("%s#fuzz/%d", e.remote.ActorID, seq.Add(1)),
			ActorIRI: e.remote.ActorID, Body: body}
		created, err := e.node.DB.SaveInbox(context.Background(), it)
		if err != nil || !created {
			t.Fatalf("save inbox item: created %v, %v", created, err)
		}
		processPending(t, e.node, it)
		// process turns a panic into an error so the worker survives; the
		// panic is still a bug.
		if _, errText, err := e.node.inboxResult(t, it.ActivityIRI); err != nil || strings.Contains(errText, "panicked") {
			t.Fatalf("processing %q: %v %s\nbody: %s", it.ActivityIRI, err, errText, body)
		}
	})
}

// processPending applies the stored inbox items in the test's goroutine,
// turning a panic into a test failure. The item that panicked is marked
// done, so that it does not replay under the next input.
func processPending(t *testing.T, n *testNode, it *chapter.InboxItem) {
	t.Helper()
	defer func() {
		if r := recover(); r != nil {
			_ = n.DB.InboxDone(context.Background(), it.ID, "panic")
			t.Fatalf("processing %q panicked: %v\n%s\nbody: %s", it.ActivityIRI, r, debug.Stack(), it.Body)
		}
	}()
	if err := n.Fed.ProcessPending(context.Background()); err != nil {
		t.Fatalf("process pending: %v", err)
	}
}

// TestInboxLinkWithoutSchemeDoesNotCrashProcessing sends, signed, a Note
// whose url is a Link with a relative href, as some servers write page
// links. go-fed keeps such an href as an unknown value, whose Get is nil.
// The inbox accepts it (202); processing must keep the reply, without a
// panic (one used to stop the inbox worker, and with it the node).
func TestInboxLinkWithoutSchemeDoesNotCrashProcessing(t *testing.T) {
	e := newEnv(t, []nodeOption{withoutWorkers()}, "bob")
	note := e.remote.ActorID + "/statuses/7001"
	act := map[string]any{
		"@context": "https://www.w3.org/ns/activitystreams",
		"id":       note + "/activity", "type": "Create", "actor": e.remote.ActorID,
		"object": map[string]any{
			"id": note, "type": "Note", "attributedTo": e.remote.ActorID,
			"to": publicIRI, "inReplyTo": e.post.IRI, "content": "<p>see the page</p>",
			"url": map[string]any{"type": "Link", "mediaType": "text/html", "href": "/@bob/7001"},
		},
	}
	body, err := json.Marshal(act)
	if err != nil {
		t.Fatal(err)
	}
	if got := post(t, e.remote, e.node.sharedInbox(), body); got != http.StatusAccepted {
		t.Fatalf("status %d, want 202", got)
	}
	items, err := e.node.DB.PendingInbox(context.Background(), 10)
	if err != nil || len(items) != 1 {
		t.Fatalf("pending inbox: %d items, %v; want the one just accepted", len(items), err)
	}
	processPending(t, e.node, items[0])
	if _, errText, err := e.node.inboxResult(t, note+"/activity"); err != nil || errText != "" {
		t.Fatalf("processing failed: %v %s", err, errText)
	}
	p, err := e.node.DB.PostByIRI(context.Background(), note)
	if err != nil {
		t.Fatalf("reply not stored: %v", err)
	}
	if p.URL != note {
		t.Errorf("url = %q, want the post's id %q in place of the unusable href", p.URL, note)
	}
}
