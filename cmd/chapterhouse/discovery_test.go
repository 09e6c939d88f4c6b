package main

import (
	"encoding/json"
	"io"
	"net/http"
	"net/url"
	"strings"
	"testing"
)

// What other servers and directories read before they federate: WebFinger
// for every member, host-meta, NodeInfo, actor documents with content
// negotiation, and the outbox and follow collections.
func TestDiscoveryDocuments(t *testing.T) {
	node := newTestNode(t, "")
	node.cli("member", "add", "alice")
	node.cli("post", "--as", "alice", "first")
	node.cli("post", "--as", "alice", "second")

	t.Run("webfinger round trip for a member", func(t *testing.T) {
		wf := node.webfinger("alice")
		var self string
		for _, l := range wf["links"].([]any) {
			if link := l.(map[string]any); link["rel"] == "self" {
				self = link["href"].(string)
			}
		}
		var actor map[string]any
		if code := getJSON(t, self, &actor); code != http.StatusOK {
			t.Fatalf("GET %s: %d", self, code)
		}
		if actor["id"] != self || actor["preferredUsername"] != "alice" || actor["type"] != "Person" {
			t.Errorf("actor = id %v, preferredUsername %v, type %v", actor["id"], actor["preferredUsername"], actor["type"])
		}
		for _, field := range []string{"inbox", "outbox", "followers", "following", "publicKey", "endpoints",
			"url", "icon", "name", "summary", "manuallyApprovesFollowers", "discoverable", "published"} {
			if _, ok := actor[field]; !ok {
				t.Errorf("actor lacks %q", field)
			}
		}
		key, _ := actor["publicKey"].(map[string]any)
		if key["owner"] != self || !strings.HasPrefix(key["publicKeyPem"].(string), "-----BEGIN PUBLIC KEY-----") {
			t.Errorf("publicKey = %v", key)
		}
	})

	t.Run("webfinger refusals", func(t *testing.T) {
		for name, resource := range map[string]string{
			"unknown user": "acct:nobody@" + node.host,
			"other host":   "acct:alice@elsewhere.example",
		} {
			u := node.baseURL + "/.well-known/webfinger?resource=" + url.QueryEscape(resource)
			if code := getJSON(t, u, nil); code != http.StatusNotFound {
				t.Errorf("%s: status %d, want 404", name, code)
			}
		}
		if code := getJSON(t, node.baseURL+"/.well-known/webfinger", nil); code != http.StatusBadRequest {
			t.Errorf("no resource: status %d, want 400", code)
		}
	})

	t.Run("ld+json and HTML negotiation", func(t *testing.T) {
		req, _ := http.NewRequest(http.MethodGet, node.actor("alice"), nil)
		req.Header.Set("Accept", `application/ld+json; profile="https://www.w3.org/ns/activitystreams"`)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusOK || !strings.HasPrefix(resp.Header.Get("Content-Type"), "application/activity+json") {
			t.Errorf("ld+json: %d %s", resp.StatusCode, resp.Header.Get("Content-Type"))
		}
		client := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
		req, _ = http.NewRequest(http.MethodGet, node.actor("alice"), nil)
		req.Header.Set("Accept", "text/html")
		resp, err = client.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusFound || resp.Header.Get("Location") != node.baseURL+"/@alice" {
			t.Errorf("HTML: %d to %q, want 302 to the profile page", resp.StatusCode, resp.Header.Get("Location"))
		}
	})

	t.Run("nodeinfo", func(t *testing.T) {
		var index struct{ Links []struct{ Rel, Href string } }
		getJSON(t, node.baseURL+"/.well-known/nodeinfo", &index)
		if len(index.Links) != 2 {
			t.Fatalf("nodeinfo links = %v", index.Links)
		}
		for _, l := range index.Links {
			var doc map[string]any
			if code := getJSON(t, l.Href, &doc); code != http.StatusOK {
				t.Fatalf("GET %s: %d", l.Href, code)
			}
			software, _ := doc["software"].(map[string]any)
			if software["name"] != "chapterhouse" || !strings.HasSuffix(l.Rel, doc["version"].(string)) {
				t.Errorf("%s: software %v version %v", l.Href, software, doc["version"])
			}
			usage, _ := doc["usage"].(map[string]any)
			if usage["localPosts"] != float64(2) {
				t.Errorf("localPosts = %v, want 2", usage["localPosts"])
			}
		}
	})

	t.Run("host-meta", func(t *testing.T) {
		resp, err := http.Get(node.baseURL + "/.well-known/host-meta")
		if err != nil {
			t.Fatal(err)
		}
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if !strings.Contains(string(body), node.baseURL+"/.well-known/webfinger?resource={uri}") {
			t.Errorf("host-meta = %s", body)
		}
	})

	t.Run("outbox pages", func(t *testing.T) {
		var outbox map[string]any
		getJSON(t, node.actor("alice")+"/outbox", &outbox)
		if outbox["type"] != "OrderedCollection" || outbox["totalItems"] != float64(2) {
			t.Fatalf("outbox = %v", outbox)
		}
		var page map[string]any
		getJSON(t, outbox["first"].(string), &page)
		items, _ := page["orderedItems"].([]any)
		if len(items) != 2 {
			t.Fatalf("first page has %d items, want 2", len(items))
		}
		first := items[0].(map[string]any)
		obj, _ := first["object"].(map[string]any)
		content, _ := obj["content"].(string)
		contentMap, _ := obj["contentMap"].(map[string]any)
		if first["type"] != "Create" || obj["type"] != "Note" || !strings.Contains(content, "second") {
			t.Errorf("newest outbox item = %v, want a Create of the second Note with content as a string", first)
		}
		if contentMap["en"] != content {
			t.Errorf("contentMap = %v, want {\"en\": content}", obj["contentMap"])
		}
		var groupPage map[string]any
		getJSON(t, node.actor("chapter")+"/outbox?page=true", &groupPage)
		gitems, _ := groupPage["orderedItems"].([]any)
		if len(gitems) != 2 || gitems[0].(map[string]any)["type"] != "Announce" {
			b, _ := json.Marshal(groupPage)
			t.Errorf("group outbox page = %s, want two Announces", b)
		}
	})
}
