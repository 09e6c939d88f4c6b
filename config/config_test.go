package config

import (
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"reflect"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/spf13/pflag"
)

// env turns a map into a getenv function, so tests never touch the process
// environment.
func env(m map[string]string) func(string) string {
	return func(k string) string { return m[k] }
}

// writeYAML writes content to a file in a fresh temporary directory.
func writeYAML(t *testing.T, content string) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), "chapterhouse.yaml")
	if err := os.WriteFile(path, []byte(content), 0o600); err != nil {
		t.Fatalf("write config: %v", err)
	}
	return path
}

// flagSet returns a FlagSet with BindFlags applied and args parsed.
func flagSet(t *testing.T, args ...string) *pflag.FlagSet {
	t.Helper()
	fs := pflag.NewFlagSet("test", pflag.ContinueOnError)
	BindFlags(fs)
	if err := fs.Parse(args); err != nil {
		t.Fatalf("parse flags %v: %v", args, err)
	}
	return fs
}

func TestDefault(t *testing.T) {
	c := Default()
	if err := c.Validate(); err != nil {
		t.Fatalf("Default().Validate() = %v, want nil", err)
	}
	tests := []struct {
		name string
		got  any
		want any
	}{
		{"public_url", c.PublicURL, "http://127.0.0.1:8080"},
		{"listen", c.Listen, "127.0.0.1:8080"},
		{"data_dir", c.DataDir, "./data"},
		{"log.level", c.Log.Level, "info"},
		{"log.format", c.Log.Format, "text"},
		{"node.handle", c.Node.Handle, "chapter"},
		{"node.name", c.Node.Name, "Chapterhouse chapter"},
		{"node.summary", c.Node.Summary, ""},
		{"node.level", c.Node.Level, "chapter"},
		{"node.parent", c.Node.Parent, ""},
		{"node.locked", c.Node.Locked, false},
		{"node.approve_children", c.Node.ApproveChildren, "manual"},
		{"node.relay_parent_posts", c.Node.RelayParentPosts, false},
		{"node.languages", c.Node.Languages, []string{"en"}},
		{"federation.allow_http", c.Federation.AllowHTTP, false},
		{"federation.allow_private_networks", c.Federation.AllowPrivateNetworks, false},
		{"federation.authorized_fetch", c.Federation.AuthorizedFetch, false},
		{"federation.workers", c.Federation.Workers, 16},
		{"federation.request_timeout", c.Federation.RequestTimeout, 10 * time.Second},
		{"federation.retry_base", c.Federation.RetryBase, time.Minute},
		{"federation.retry_max_age", c.Federation.RetryMaxAge, 72 * time.Hour},
		{"federation.dead_after", c.Federation.DeadAfter, 168 * time.Hour},
		{"federation.blocked_domains", len(c.Federation.BlockedDomains), 0},
		{"federation.inbox_rate_limit", c.Federation.InboxRateLimit, 50.0},
		{"federation.inbox_burst", c.Federation.InboxBurst, 200},
		{"limits.max_body_bytes", c.Limits.MaxBodyBytes, int64(1048576)},
		{"limits.max_json_depth", c.Limits.MaxJSONDepth, 32},
		{"host", c.Host(), "127.0.0.1:8080"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if !reflect.DeepEqual(tt.got, tt.want) {
				t.Errorf("got %#v, want %#v", tt.got, tt.want)
			}
		})
	}
}

func TestLoadNothingEqualsDefault(t *testing.T) {
	tests := []struct {
		name   string
		path   string
		getenv func(string) string
		flags  *pflag.FlagSet
	}{
		{"all nil", "", nil, nil},
		{"empty env and unset flags", "", env(map[string]string{}), flagSet(t)},
		{"empty file", writeYAML(t, ""), nil, nil},
		{"empty section in file", writeYAML(t, "node:\n"), nil, nil},
		{"empty env values are unset", "", env(map[string]string{
			"CHAPTERHOUSE_NODE_HANDLE": "", "CHAPTERHOUSE_FEDERATION_WORKERS": "", "CHAPTERHOUSE_LISTEN": "  ",
		}), nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := Load(tt.path, tt.getenv, tt.flags)
			if err != nil {
				t.Fatalf("Load: %v", err)
			}
			if want := Default(); !reflect.DeepEqual(got, want) {
				t.Errorf("Load = %+v\nwant %+v", got, want)
			}
		})
	}
}

func TestLoadPrecedence(t *testing.T) {
	file := writeYAML(t, `
listen: 127.0.0.1:1000
log:
  level: debug
node:
  handle: from_file
federation:
  workers: 8
`)
	tests := []struct {
		name       string
		path       string
		env        map[string]string
		args       []string
		wantListen string
		wantLevel  string
		wantHandle string
		wantWork   int
	}{
		{"defaults", "", nil, nil, "127.0.0.1:8080", "info", "chapter", 16},
		{"file over defaults", file, nil, nil, "127.0.0.1:1000", "debug", "from_file", 8},
		{"env over file", file, map[string]string{
			"CHAPTERHOUSE_LISTEN": "127.0.0.1:2000", "CHAPTERHOUSE_LOG_LEVEL": "warn",
			"CHAPTERHOUSE_NODE_HANDLE": "from_env",
		}, nil, "127.0.0.1:2000", "warn", "from_env", 8},
		{"flag over env", file, map[string]string{
			"CHAPTERHOUSE_LISTEN": "127.0.0.1:2000", "CHAPTERHOUSE_LOG_LEVEL": "warn",
		}, []string{"--listen", "127.0.0.1:3000", "--log-level=error"}, "127.0.0.1:3000", "error", "from_file", 8},
		{"unset flag does not override", file, map[string]string{
			"CHAPTERHOUSE_LISTEN": "127.0.0.1:2000",
		}, []string{"--data-dir", "/srv"}, "127.0.0.1:2000", "debug", "from_file", 8},
		{"flag over defaults without file", "", nil, []string{"--listen=0.0.0.0:9000"}, "0.0.0.0:9000", "info", "chapter", 16},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := Load(tt.path, env(tt.env), flagSet(t, tt.args...))
			if err != nil {
				t.Fatalf("Load: %v", err)
			}
			if got.Listen != tt.wantListen || got.Log.Level != tt.wantLevel ||
				got.Node.Handle != tt.wantHandle || got.Federation.Workers != tt.wantWork {
				t.Errorf("got listen=%q level=%q handle=%q workers=%d, want %q %q %q %d",
					got.Listen, got.Log.Level, got.Node.Handle, got.Federation.Workers,
					tt.wantListen, tt.wantLevel, tt.wantHandle, tt.wantWork)
			}
		})
	}
}

func TestLoadValues(t *testing.T) {
	tests := []struct {
		name string
		file string
		env  map[string]string
		args []string
		get  func(*Config) any
		want any
	}{
		{"public_url derived from listen", "", map[string]string{"CHAPTERHOUSE_LISTEN": "10.0.0.1:9090"}, nil,
			func(c *Config) any { return c.PublicURL }, "http://10.0.0.1:9090"},
		{"public_url derived from empty listen host", "", map[string]string{"CHAPTERHOUSE_LISTEN": ":9090"}, nil,
			func(c *Config) any { return c.PublicURL }, "http://localhost:9090"},
		{"public_url trailing slash stripped", "", map[string]string{"CHAPTERHOUSE_PUBLIC_URL": "https://Chapter.Example/"}, nil,
			func(c *Config) any { return c.PublicURL }, "https://chapter.example"},
		{"public_url default port dropped", "", nil, []string{"--public-url", "https://chapter.example:443"},
			func(c *Config) any { return c.Host() }, "chapter.example"},
		{"public_url from flag", "", nil, []string{"--public-url", "https://a.example:8443"},
			func(c *Config) any { return c.Host() }, "a.example:8443"},
		{"data_dir from env", "", map[string]string{"CHAPTERHOUSE_DATA_DIR": "/var/lib/ch"}, nil,
			func(c *Config) any { return c.DataDir }, "/var/lib/ch"},
		{"bool env 1", "", map[string]string{"CHAPTERHOUSE_FEDERATION_ALLOW_HTTP": "1"}, nil,
			func(c *Config) any { return c.Federation.AllowHTTP }, true},
		{"bool env TRUE", "", map[string]string{"CHAPTERHOUSE_NODE_LOCKED": "TRUE"}, nil,
			func(c *Config) any { return c.Node.Locked }, true},
		{"bool env 0 over file", "node:\n  relay_parent_posts: true\n", map[string]string{"CHAPTERHOUSE_NODE_RELAY_PARENT_POSTS": "0"}, nil,
			func(c *Config) any { return c.Node.RelayParentPosts }, false},
		{"list env comma-separated", "", map[string]string{"CHAPTERHOUSE_NODE_LANGUAGES": "en, pt-BR,,fr"}, nil,
			func(c *Config) any { return c.Node.Languages }, []string{"en", "pt-BR", "fr"}},
		{"list file", "node:\n  languages: [de, en]\n", nil, nil,
			func(c *Config) any { return c.Node.Languages }, []string{"de", "en"}},
		{"blocked domains lower-cased", "federation:\n  blocked_domains: [Spam.Example., bad.example]\n", nil, nil,
			func(c *Config) any { return c.Federation.BlockedDomains }, []string{"spam.example", "bad.example"}},
		{"duration env", "", map[string]string{"CHAPTERHOUSE_FEDERATION_REQUEST_TIMEOUT": "90s"}, nil,
			func(c *Config) any { return c.Federation.RequestTimeout }, 90 * time.Second},
		{"duration file", "federation:\n  retry_max_age: 24h\n", nil, nil,
			func(c *Config) any { return c.Federation.RetryMaxAge }, 24 * time.Hour},
		{"float env", "", map[string]string{"CHAPTERHOUSE_FEDERATION_INBOX_RATE_LIMIT": "2.5"}, nil,
			func(c *Config) any { return c.Federation.InboxRateLimit }, 2.5},
		{"int64 env", "", map[string]string{"CHAPTERHOUSE_LIMITS_MAX_BODY_BYTES": "2048"}, nil,
			func(c *Config) any { return c.Limits.MaxBodyBytes }, int64(2048)},
		{"enum lower-cased", "", map[string]string{"CHAPTERHOUSE_NODE_LEVEL": "City"}, nil,
			func(c *Config) any { return c.Node.Level }, "city"},
		{"parent handle", "node:\n  parent: \"@national@hq.example\"\n", nil, nil,
			func(c *Config) any { return c.Node.Parent }, "@national@hq.example"},
		{"approve_children env", "", map[string]string{"CHAPTERHOUSE_NODE_APPROVE_CHILDREN": "auto"}, nil,
			func(c *Config) any { return c.Node.ApproveChildren }, "auto"},
		{"mixed-case file key", "Node:\n  Handle: upper_keys\n", nil, nil,
			func(c *Config) any { return c.Node.Handle }, "upper_keys"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			path := ""
			if tt.file != "" {
				path = writeYAML(t, tt.file)
			}
			c, err := Load(path, env(tt.env), flagSet(t, tt.args...))
			if err != nil {
				t.Fatalf("Load: %v", err)
			}
			if got := tt.get(c); !reflect.DeepEqual(got, tt.want) {
				t.Errorf("got %#v, want %#v", got, tt.want)
			}
		})
	}
}

func TestLoadInvalid(t *testing.T) {
	tests := []struct {
		name  string
		file  string
		env   map[string]string
		args  []string
		wants []string // substrings the error must contain
	}{
		{"env int not a number", "", map[string]string{"CHAPTERHOUSE_FEDERATION_WORKERS": "abc"}, nil,
			[]string{"federation.workers", "CHAPTERHOUSE_FEDERATION_WORKERS"}},
		{"env bool yes", "", map[string]string{"CHAPTERHOUSE_FEDERATION_ALLOW_HTTP": "yes"}, nil,
			[]string{"federation.allow_http", "CHAPTERHOUSE_FEDERATION_ALLOW_HTTP"}},
		{"env duration without unit", "", map[string]string{"CHAPTERHOUSE_FEDERATION_RETRY_BASE": "10"}, nil,
			[]string{"federation.retry_base", "CHAPTERHOUSE_FEDERATION_RETRY_BASE"}},
		{"env float", "", map[string]string{"CHAPTERHOUSE_FEDERATION_INBOX_RATE_LIMIT": "fast"}, nil,
			[]string{"federation.inbox_rate_limit", "CHAPTERHOUSE_FEDERATION_INBOX_RATE_LIMIT"}},
		{"env errors are all reported", "", map[string]string{
			"CHAPTERHOUSE_FEDERATION_WORKERS": "x", "CHAPTERHOUSE_LIMITS_MAX_JSON_DEPTH": "y",
		}, nil, []string{"federation.workers", "limits.max_json_depth"}},
		{"env value fails validation", "", map[string]string{"CHAPTERHOUSE_NODE_LEVEL": "town"}, nil,
			[]string{`node.level "town": must be one of chapter, city, national, international`}},
		{"flag value fails validation", "", nil, []string{"--log-level", "loud"}, []string{"log.level", "loud"}},
		{"flag bad listen", "", nil, []string{"--listen", "nope"}, []string{"listen"}},
		{"file wrong type", "federation:\n  workers: many\n", nil, nil, []string{"federation.workers", "chapterhouse.yaml"}},
		{"file bare number duration", "federation:\n  request_timeout: 10\n", nil, nil, []string{"federation.request_timeout"}},
		{"file list for string", "node:\n  name: [a, b]\n", nil, nil, []string{"node.name", "list"}},
		{"file mapping for list", "node:\n  languages: {a: b}\n", nil, nil, []string{"node.languages"}},
		{"file unknown top-level key", "listen: 127.0.0.1:1\nlisten_addr: x\n", nil, nil, []string{`unknown key "listen_addr"`}},
		{"file unknown nested key", "node:\n  handel: x\n", nil, nil, []string{`unknown key "node.handel"`}},
		{"file unknown section", "database:\n  url: x\n", nil, nil, []string{`unknown key "database.url"`}},
		{"file section as scalar", "node: 5\n", nil, nil, []string{"node", "mapping"}},
		{"file malformed yaml", "node: [\n", nil, nil, []string{"parse config file"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			path := ""
			if tt.file != "" {
				path = writeYAML(t, tt.file)
			}
			c, err := Load(path, env(tt.env), flagSet(t, tt.args...))
			if err == nil {
				t.Fatalf("Load succeeded with %+v, want error", c)
			}
			if c != nil {
				t.Errorf("Load returned a config alongside error %v", err)
			}
			for _, w := range tt.wants {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q does not mention %q", err, w)
				}
			}
		})
	}
}

func TestLoadMissingFile(t *testing.T) {
	path := filepath.Join(t.TempDir(), "absent.yaml")
	_, err := Load(path, nil, nil)
	if err == nil {
		t.Fatal("Load of a missing file succeeded, want error")
	}
	if !errors.Is(err, fs.ErrNotExist) || !strings.Contains(err.Error(), "absent.yaml") {
		t.Errorf("error %q: want fs.ErrNotExist naming the file", err)
	}
}

func TestLoadFlagsFollowKeyNames(t *testing.T) {
	fs := pflag.NewFlagSet("test", pflag.ContinueOnError)
	fs.Int("federation-workers", 0, "")
	fs.StringSlice("node-languages", nil, "")
	fs.String("config", "", "not a key; ignored")
	if err := fs.Parse([]string{"--federation-workers=16", "--node-languages=fr,de", "--config=x"}); err != nil {
		t.Fatal(err)
	}
	c, err := Load("", nil, fs)
	if err != nil {
		t.Fatalf("Load: %v", err)
	}
	if c.Federation.Workers != 16 || !reflect.DeepEqual(c.Node.Languages, []string{"fr", "de"}) {
		t.Errorf("got workers=%d languages=%v, want 16 [fr de]", c.Federation.Workers, c.Node.Languages)
	}
}

func TestKeys(t *testing.T) {
	keys := Keys()
	if !sort.SliceIsSorted(keys, func(i, j int) bool { return keys[i].Key < keys[j].Key }) {
		t.Error("Keys() is not sorted")
	}
	if len(keys) != len(keyDefs()) {
		t.Errorf("Keys() has %d entries, want %d", len(keys), len(keyDefs()))
	}
	byKey := map[string]KeyInfo{}
	for _, k := range keys {
		if k.Description == "" || strings.Contains(k.Description, "\n") {
			t.Errorf("key %s: description %q must be one non-empty line", k.Key, k.Description)
		}
		byKey[k.Key] = k
	}
	tests := []struct {
		key, def, env string
	}{
		{"public_url", "http://127.0.0.1:8080", "CHAPTERHOUSE_PUBLIC_URL"},
		{"data_dir", "./data", "CHAPTERHOUSE_DATA_DIR"},
		{"node.handle", "chapter", "CHAPTERHOUSE_NODE_HANDLE"},
		{"node.languages", "en", "CHAPTERHOUSE_NODE_LANGUAGES"},
		{"node.approve_children", "manual", "CHAPTERHOUSE_NODE_APPROVE_CHILDREN"},
		{"federation.allow_http", "false", "CHAPTERHOUSE_FEDERATION_ALLOW_HTTP"},
		{"federation.request_timeout", "10s", "CHAPTERHOUSE_FEDERATION_REQUEST_TIMEOUT"},
		{"federation.retry_base", "1m", "CHAPTERHOUSE_FEDERATION_RETRY_BASE"},
		{"federation.dead_after", "168h", "CHAPTERHOUSE_FEDERATION_DEAD_AFTER"},
		{"federation.blocked_domains", "", "CHAPTERHOUSE_FEDERATION_BLOCKED_DOMAINS"},
		{"federation.inbox_rate_limit", "50", "CHAPTERHOUSE_FEDERATION_INBOX_RATE_LIMIT"},
		{"limits.max_body_bytes", "1048576", "CHAPTERHOUSE_LIMITS_MAX_BODY_BYTES"},
	}
	for _, tt := range tests {
		t.Run(tt.key, func(t *testing.T) {
			k, ok := byKey[tt.key]
			if !ok {
				t.Fatalf("key %s missing from Keys()", tt.key)
			}
			if k.Default != tt.def || k.Env != tt.env {
				t.Errorf("got default %q env %q, want %q %q", k.Default, k.Env, tt.def, tt.env)
			}
		})
	}
}

// TestKeysRoundTrip sets every key through its env variable to its rendered
// default, proving Keys and Load agree on names and formats.
func TestKeysRoundTrip(t *testing.T) {
	m := map[string]string{}
	for _, k := range Keys() {
		m[k.Env] = k.Default
	}
	c, err := Load("", env(m), nil)
	if err != nil {
		t.Fatalf("Load: %v", err)
	}
	if want := Default(); !reflect.DeepEqual(c, want) {
		t.Errorf("Load = %+v\nwant %+v", c, want)
	}
}

func TestHost(t *testing.T) {
	tests := []struct {
		name, url, want string
	}{
		{"plain", "https://chapter.example", "chapter.example"},
		{"port kept", "http://localhost:8080", "localhost:8080"},
		{"default https port dropped", "https://chapter.example:443/", "chapter.example"},
		{"default http port dropped", "http://chapter.example:80", "chapter.example"},
		{"upper case", "https://Chapter.EXAMPLE", "chapter.example"},
		{"ipv6", "http://[::1]:8080", "[::1]:8080"},
		{"invalid", "::not a url", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := (&Config{PublicURL: tt.url}).Host(); got != tt.want {
				t.Errorf("Host() = %q, want %q", got, tt.want)
			}
		})
	}
}
