package main

import (
	"bytes"
	"context"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"
)

var (
	demoAddrRE    = regexp.MustCompile(`(?m)^  (international|national|city|chapter) +(http://127\.0\.0\.1:\d+) +@(\w+)@(127\.0\.0\.1:\d+)`)
	demoArrivalRE = regexp.MustCompile(`(?m)^chapter → international in \d+(\.\d)? m?s$`)
	demoDataRE    = regexp.MustCompile(`(?m)^Data in (.+)\.$`)
)

// runDemo runs "chapterhouse demo tree" with args and returns its stdout.
func runDemo(t *testing.T, ctx context.Context, args ...string) string {
	t.Helper()
	var out, errOut bytes.Buffer
	args = append([]string{"demo", "tree"}, args...)
	if err := run(ctx, args, noEnv, &out, &errOut); err != nil {
		t.Fatalf("chapterhouse %s: %v\nstdout:\n%s\nstderr:\n%s", strings.Join(args, " "), err, out.String(), errOut.String())
	}
	return out.String()
}

// demoAddresses checks that the output lists the four nodes, each with its
// own address and a handle on it, and returns the addresses by level.
func demoAddresses(t *testing.T, out string) map[string]string {
	t.Helper()
	addrs := map[string]string{}
	for _, m := range demoAddrRE.FindAllStringSubmatch(out, -1) {
		level, base, handle, host := m[1], m[2], m[3], m[4]
		if handle != level || base != "http://"+host {
			t.Errorf("%s listed as %s with handle @%s@%s", level, base, handle, host)
		}
		addrs[level] = base
	}
	distinct := map[string]bool{}
	for _, a := range addrs {
		distinct[a] = true
	}
	if len(addrs) != 4 || len(distinct) != 4 {
		t.Errorf("want four nodes on four addresses, got %v in:\n%s", addrs, out)
	}
	return addrs
}

// The newcomer's demo: four linked nodes in one process, a chapter post
// arriving at the international node, and nothing left behind.
func TestDemoTreeOnce(t *testing.T) {
	t.Parallel()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	out := runDemo(t, ctx, "--once")
	demoAddresses(t, out)
	for _, want := range []string{"national linked to international", "city     linked to national",
		"chapter  linked to city", `posted "Hello from the chapter"`, "in the international  public timeline"} {
		if !strings.Contains(out, want) {
			t.Errorf("output lacks %q:\n%s", want, out)
		}
	}
	if !demoArrivalRE.MatchString(out) {
		t.Errorf("no arrival line in:\n%s", out)
	}
	m := demoDataRE.FindStringSubmatch(out)
	if m == nil {
		t.Fatalf("no data directory in:\n%s", out)
	}
	if _, err := os.Stat(m[1]); !os.IsNotExist(err) {
		t.Errorf("temporary data directory %s still there (stat: %v)", m[1], err)
	}
}

// With --dir the data stays, and a second run comes back on the same
// addresses (a node's identity includes its port) with the member and the
// tree it already has.
func TestDemoTreeDirIsKeptAndReusable(t *testing.T) {
	t.Parallel()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	dir := filepath.Join(t.TempDir(), "demo")
	first := demoAddresses(t, runDemo(t, ctx, "--once", "--dir", dir))
	for _, level := range demoLevels {
		if _, err := os.Stat(filepath.Join(dir, level, "chapterhouse.db")); err != nil {
			t.Errorf("%s data not kept: %v", level, err)
		}
	}
	out := runDemo(t, ctx, "--once", "--dir", dir)
	second := demoAddresses(t, out)
	for level, a := range first {
		if second[level] != a {
			t.Errorf("%s moved from %s to %s", level, a, second[level])
		}
	}
	if !demoArrivalRE.MatchString(out) {
		t.Errorf("no arrival line on the second run:\n%s", out)
	}
}

// Without --once the nodes keep serving until the context ends (Ctrl-C),
// then all stop and the temporary directory goes.
func TestDemoTreeRunsUntilInterrupted(t *testing.T) {
	t.Parallel()
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	out := &syncBuffer{}
	done := make(chan error, 1)
	go func() { done <- run(ctx, []string{"demo", "tree"}, noEnv, out, &syncBuffer{}) }()
	eventually(t, "the demo to wait for Ctrl-C", time.Minute, func() bool {
		select {
		case err := <-done:
			t.Fatalf("demo ended early: %v\n%s", err, out.String())
		default:
		}
		return strings.Contains(out.String(), "Stop with Ctrl-C")
	})
	addrs := demoAddresses(t, out.String())
	// Still serving after the post arrived.
	resp, err := http.Get(addrs["international"] + "/api/v1/timelines/public")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Errorf("international timeline: %s", resp.Status)
	}
	cancel()
	select {
	case err := <-done:
		if err != nil {
			t.Fatalf("demo stopped with %v\n%s", err, out.String())
		}
	case <-time.After(30 * time.Second):
		t.Fatal("demo did not stop after its context ended")
	}
	for level, a := range addrs {
		if resp, err := http.Get(a + "/api/v1/instance"); err == nil {
			resp.Body.Close()
			t.Errorf("%s node still answers after the demo stopped", level)
		}
	}
	if m := demoDataRE.FindStringSubmatch(out.String()); m == nil {
		t.Errorf("no data directory in:\n%s", out.String())
	} else if _, err := os.Stat(m[1]); !os.IsNotExist(err) {
		t.Errorf("temporary data directory %s still there (stat: %v)", m[1], err)
	}
}

// health succeeds against a running node, found from its configuration's
// listen address or given as --url.
func TestHealthOfRunningNode(t *testing.T) {
	n := newTestNode(t, "")
	if out := n.cli("health"); !strings.HasPrefix(out, "ok: "+n.baseURL) {
		t.Errorf("health: %q", out)
	}
	var out, errOut bytes.Buffer
	if err := run(context.Background(), []string{"health", "--url", n.baseURL + "/api/v1/instance"}, noEnv, &out, &errOut); err != nil {
		t.Errorf("health --url: %v", err)
	}
}

// health fails (main exits 1) when nothing listens, when the node answers
// an error, when something else answers, and when the answer is too slow.
func TestHealthFails(t *testing.T) {
	closed := freeAddr(t)
	failing := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		http.Error(w, "starting", http.StatusServiceUnavailable)
	}))
	defer failing.Close()
	other := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Write([]byte("<html>hello</html>"))
	}))
	defer other.Close()
	release := make(chan struct{})
	slow := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		select {
		case <-release:
		case <-r.Context().Done():
		}
	}))
	defer slow.Close()
	defer close(release)

	for name, args := range map[string][]string{
		"closed port by listen": {"health", "--listen", closed},
		"closed port by url":    {"health", "--url", "http://" + closed + "/api/v1/instance"},
		"error status":          {"health", "--url", failing.URL},
		"not an instance":       {"health", "--url", other.URL},
		"too slow":              {"health", "--url", slow.URL, "--timeout", "200ms"},
	} {
		t.Run(name, func(t *testing.T) {
			start := time.Now()
			var out, errOut bytes.Buffer
			if err := run(context.Background(), args, noEnv, &out, &errOut); err == nil {
				t.Errorf("health %v succeeded: %s", args, out.String())
			}
			if d := time.Since(start); d > 5*time.Second {
				t.Errorf("health took %s", d)
			}
		})
	}
}

func TestHealthURL(t *testing.T) {
	for listen, want := range map[string]string{
		"0.0.0.0:8080":    "http://127.0.0.1:8080/api/v1/instance",
		":8080":           "http://127.0.0.1:8080/api/v1/instance",
		"[::]:8080":       "http://[::1]:8080/api/v1/instance",
		"127.0.0.1:9000":  "http://127.0.0.1:9000/api/v1/instance",
		"10.1.2.3:80":     "http://10.1.2.3:80/api/v1/instance",
		"localhost:8080":  "http://localhost:8080/api/v1/instance",
		"127.0.0.1:0":     "",
		"no-port-at-all":  "",
		"[::1]:8080":      "http://[::1]:8080/api/v1/instance",
		"chapter.example": "",
	} {
		got, err := healthURL(listen)
		if want == "" {
			if err == nil {
				t.Errorf("healthURL(%q) = %q, want an error", listen, got)
			}
			continue
		}
		if err != nil || got != want {
			t.Errorf("healthURL(%q) = %q, %v; want %q", listen, got, err, want)
		}
	}
}
