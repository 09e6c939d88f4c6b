package main

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/chapterhouse/chapterhouse/federation/fedtest"
)

// With the default configuration a node federates over HTTPS only and never
// reaches loopback or private addresses: approving a member on a plain-HTTP
// loopback server fails with a clear error, and nothing is fetched.
func TestSecurityDefaultsRefuseLoopbackAndHTTP(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "chapterhouse.yaml")
	cfg := fmt.Sprintf("public_url: https://chapter.example\ndata_dir: %s\n", filepath.Join(dir, "data"))
	if err := os.WriteFile(path, []byte(cfg), 0o600); err != nil {
		t.Fatal(err)
	}
	remote := fedtest.NewRemote(t, "bob")
	for _, ref := range []string{"@" + remote.Handle, remote.ActorID} {
		var out, errOut bytes.Buffer
		err := run(context.Background(), []string{"member", "add", ref, "--config", path}, noEnv, &out, &errOut)
		if err == nil {
			t.Fatalf("member add %s succeeded with default security settings: %s", ref, out.String())
		}
		if msg := err.Error(); !strings.Contains(msg, "https") && !strings.Contains(msg, "forbidden address") {
			t.Errorf("member add %s: error %q does not say why", ref, msg)
		}
	}
	if got := remote.Hits(); got != 0 {
		t.Errorf("remote was contacted %d times, want 0", got)
	}
}
