package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"
)

// testNode is a node run through the program's own entry point, run(), with
// a YAML configuration file, exactly as an operator would run it.
type testNode struct {
	t       testing.TB
	dir     string
	config  string
	baseURL string
	host    string
	handle  string // the node's Group
	cancel  context.CancelFunc
	done    chan error
	logs    *syncBuffer
}

// syncBuffer collects the node's logs for failure messages.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// freeAddr finds a loopback port for a node to listen on; the node's public
// URL has to be known before it starts.
func freeAddr(t testing.TB) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	return addr
}

// newTestNode writes a configuration for a loopback node and starts it.
// extra is appended to the YAML file, inside the federation section when
// indented.
func newTestNode(t testing.TB, extra string) *testNode {
	t.Helper()
	return newTestNodeWith(t, "  handle: chapter\n  name: Test chapter\n", extra)
}

// newTestNodeWith is newTestNode with the lines of the node section given.
func newTestNodeWith(t testing.TB, nodeLines, extra string) *testNode {
	t.Helper()
	dir := t.TempDir()
	addr := freeAddr(t)
	cfg := fmt.Sprintf(`public_url: http://%s
listen: %s
data_dir: %s
node:
%slog:
  level: debug
federation:
  allow_http: true
  allow_private_networks: true
  retry_base: 100ms
  request_timeout: 5s
%s`, addr, addr, filepath.Join(dir, "data"), nodeLines, extra)
	path := filepath.Join(dir, "chapterhouse.yaml")
	if err := os.WriteFile(path, []byte(cfg), 0o600); err != nil {
		t.Fatal(err)
	}
	handle := "chapter"
	for _, line := range strings.Split(nodeLines, "\n") {
		if h, ok := strings.CutPrefix(strings.TrimSpace(line), "handle: "); ok {
			handle = h
		}
	}
	n := &testNode{t: t, dir: dir, config: path, baseURL: "http://" + addr, host: addr, handle: handle, logs: &syncBuffer{}}
	n.start()
	t.Cleanup(n.stop)
	return n
}

// start runs "chapterhouse serve --config FILE" and waits until it answers.
func (n *testNode) start() {
	n.t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	n.cancel, n.done = cancel, make(chan error, 1)
	go func() { n.done <- run(ctx, []string{"serve", "--config", n.config}, noEnv, io.Discard, n.logs) }()
	deadline := time.Now().Add(10 * time.Second)
	for time.Now().Before(deadline) {
		resp, err := http.Get(n.baseURL + "/api/v1/instance")
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return
			}
		}
		select {
		case err := <-n.done:
			n.t.Fatalf("node exited early: %v\n%s", err, n.logs.String())
		case <-time.After(20 * time.Millisecond):
		}
	}
	n.t.Fatalf("node did not start\n%s", n.logs.String())
}

// stop ends the node and waits for it; stopping twice is harmless.
func (n *testNode) stop() {
	if n.cancel == nil {
		return
	}
	n.cancel()
	if err := <-n.done; err != nil {
		n.t.Errorf("node stopped with error: %v", err)
	}
	n.cancel = nil
}

func noEnv(string) string { return "" }

// cli runs a subcommand on the node's configuration and returns its stdout.
func (n *testNode) cli(args ...string) string {
	n.t.Helper()
	var out, errOut bytes.Buffer
	args = append(args, "--config", n.config)
	if err := run(context.Background(), args, noEnv, &out, &errOut); err != nil {
		n.t.Fatalf("chapterhouse %s: %v\n%s", strings.Join(args, " "), err, errOut.String())
	}
	return out.String()
}

// actor is a local actor's id.
func (n *testNode) actor(name string) string { return n.baseURL + "/users/" + name }

// api calls the member API and decodes the JSON answer into out.
func (n *testNode) api(method, path, token string, body any, out any) int {
	n.t.Helper()
	var rd io.Reader
	if body != nil {
		b, err := json.Marshal(body)
		if err != nil {
			n.t.Fatal(err)
		}
		rd = bytes.NewReader(b)
	}
	req, err := http.NewRequest(method, n.baseURL+path, rd)
	if err != nil {
		n.t.Fatal(err)
	}
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		n.t.Fatal(err)
	}
	defer resp.Body.Close()
	if out != nil {
		if err := json.NewDecoder(resp.Body).Decode(out); err != nil {
			n.t.Fatalf("%s %s: decode: %v", method, path, err)
		}
	}
	return resp.StatusCode
}

// getJSON fetches an ActivityPub document without a signature.
func getJSON(t testing.TB, u string, out any) int {
	t.Helper()
	req, _ := http.NewRequest(http.MethodGet, u, nil)
	req.Header.Set("Accept", "application/activity+json")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if out != nil {
		if err := json.NewDecoder(resp.Body).Decode(out); err != nil {
			t.Fatalf("GET %s: decode: %v", u, err)
		}
	}
	return resp.StatusCode
}

// webfinger resolves acct:name@host on the node.
func (n *testNode) webfinger(name string) map[string]any {
	n.t.Helper()
	var m map[string]any
	u := n.baseURL + "/.well-known/webfinger?resource=" + url.QueryEscape("acct:"+name+"@"+n.host)
	if code := getJSON(n.t, u, &m); code != http.StatusOK {
		n.t.Fatalf("webfinger %s: status %d", name, code)
	}
	return m
}

// eventually polls cond until it holds or the timeout passes.
func eventually(t testing.TB, what string, timeout time.Duration, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func readFile(t testing.TB, path string) string {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

func writeFile(t testing.TB, path, content string) {
	t.Helper()
	if err := os.WriteFile(path, []byte(content), 0o600); err != nil {
		t.Fatal(err)
	}
}
