package config

import (
	"bytes"
	"errors"
	"fmt"
	"net"
	"net/url"
	"os"
	"sort"
	"strings"
	"time"

	"github.com/spf13/pflag"
	"github.com/spf13/viper"
)

// EnvPrefix starts the name of every environment variable Load reads, so
// Chapterhouse settings cannot collide with unrelated variables.
const EnvPrefix = "CHAPTERHOUSE_"

// Config is the validated configuration of one Chapterhouse node. Load and
// Default return it; the rest of the program reads it and never re-parses
// settings itself.
type Config struct {
	// PublicURL is the base URL remote servers use to reach this node; actor
	// IDs and WebFinger handles are derived from it, so it must be stable.
	PublicURL string
	// Listen is the host:port the HTTP server binds; it may differ from
	// PublicURL when a reverse proxy sits in front.
	Listen string
	// DataDir holds the database and keys; everything persistent lives here.
	DataDir string
	// Log controls how much the server says and in which format.
	Log LogConfig
	// Node describes this node's identity and its place in the hierarchy.
	Node NodeConfig
	// Federation tunes how the node talks to other servers.
	Federation FederationConfig
	// Limits bound what a single request may cost the node.
	Limits LimitsConfig
}

// LogConfig is the logging section, kept separate so the logger can be set
// up from it alone.
type LogConfig struct {
	// Level is the minimum level logged: debug, info, warn or error.
	Level string
	// Format is text for people or json for log collectors.
	Format string
}

// NodeConfig describes the node's own actor and how it relates to the rest
// of the organisation.
type NodeConfig struct {
	// Handle is the local part of the node actor's handle (@handle@host).
	Handle string
	// Name is the display name of the node actor.
	Name string
	// Summary is the node actor's profile text.
	Summary string
	// Level places the node in the hierarchy: chapter, city, national or
	// international.
	Level string
	// Parent is the actor of the node one level up, as an http(s) actor URL
	// or "@handle@host"; empty for a node with no parent.
	Parent string
	// Locked makes follows of the node actor need manual approval.
	Locked bool
	// ApproveChildren says whether child nodes asking to join are accepted
	// automatically ("auto") or wait for an admin ("manual").
	ApproveChildren string
	// RelayParentPosts makes the node announce its parent's posts to its own
	// followers.
	RelayParentPosts bool
	// Languages are the BCP 47 tags the node posts in, first is the default.
	Languages []string
}

// FederationConfig tunes delivery and the defences against remote servers.
type FederationConfig struct {
	// AllowHTTP permits plain-http remote servers; only for local testing.
	AllowHTTP bool
	// AllowPrivateNetworks permits fetching from loopback and private
	// addresses; off by default to prevent server-side request forgery.
	AllowPrivateNetworks bool
	// AuthorizedFetch requires signed GETs for the node's objects, so blocked
	// servers cannot read them.
	AuthorizedFetch bool
	// Workers is the number of concurrent delivery workers.
	Workers int
	// RequestTimeout bounds each outgoing request so a slow server cannot
	// hold a worker.
	RequestTimeout time.Duration
	// RetryBase is the delay before the first retry; it doubles after each.
	RetryBase time.Duration
	// RetryMaxAge stops retrying a delivery older than this.
	RetryMaxAge time.Duration
	// DeadAfter marks an instance dead, and skips it, once it has failed
	// continuously for this long.
	DeadAfter time.Duration
	// BlockedDomains are lower-case hostnames the node refuses to talk to.
	BlockedDomains []string
	// InboxRateLimit is the sustained number of inbox requests per second
	// accepted from one remote host.
	InboxRateLimit float64
	// InboxBurst is how many inbox requests one remote host may send at once
	// before the rate limit applies.
	InboxBurst int
}

// LimitsConfig bounds the cost of parsing one incoming request.
type LimitsConfig struct {
	// MaxBodyBytes is the largest request body read, in bytes.
	MaxBodyBytes int64
	// MaxJSONDepth is the deepest JSON nesting accepted, against stack abuse.
	MaxJSONDepth int
}

// KeyInfo documents one configuration key, so the README table and the
// `chapterhouse config` output are generated from the same source as Load.
type KeyInfo struct {
	// Key is the dotted key, as used in the YAML file (nested by section).
	Key string
	// Default is the built-in value, rendered as it would be written.
	Default string
	// Description is a one-line explanation of the key.
	Description string
	// Env is the environment variable that sets the key.
	Env string
}

// keyDef ties a key to its description and to the Config field it fills.
type keyDef struct {
	key   string
	desc  string
	field func(*Config) any // pointer to the field
}

// keyDefs is the single table of keys; a function, not a variable, so it
// cannot be mutated.
func keyDefs() []keyDef {
	return []keyDef{
		{"public_url", "Public base URL of the node; actor IDs and handles derive from it (default http:// + listen)", func(c *Config) any { return &c.PublicURL }},
		{"listen", "Address the HTTP server binds, host:port", func(c *Config) any { return &c.Listen }},
		{"data_dir", "Directory for the database and keys", func(c *Config) any { return &c.DataDir }},
		{"log.level", "Minimum log level: debug, info, warn or error", func(c *Config) any { return &c.Log.Level }},
		{"log.format", "Log format: text or json", func(c *Config) any { return &c.Log.Format }},
		{"node.handle", "Handle of the node actor, 1-30 of a-z 0-9 _", func(c *Config) any { return &c.Node.Handle }},
		{"node.name", "Display name of the node actor", func(c *Config) any { return &c.Node.Name }},
		{"node.summary", "Profile text of the node actor", func(c *Config) any { return &c.Node.Summary }},
		{"node.level", "Place in the hierarchy: chapter, city, national or international", func(c *Config) any { return &c.Node.Level }},
		{"node.parent", "Parent node actor, as an http(s) URL or @handle@host; empty for none", func(c *Config) any { return &c.Node.Parent }},
		{"node.locked", "Follows of the node actor need approval", func(c *Config) any { return &c.Node.Locked }},
		{"node.approve_children", "Child nodes asking to join: manual or auto", func(c *Config) any { return &c.Node.ApproveChildren }},
		{"node.relay_parent_posts", "Announce the parent node's posts to this node's followers", func(c *Config) any { return &c.Node.RelayParentPosts }},
		{"node.languages", "Languages the node posts in (BCP 47 tags, comma-separated in env)", func(c *Config) any { return &c.Node.Languages }},
		{"federation.allow_http", "Allow plain-http remote servers (testing only)", func(c *Config) any { return &c.Federation.AllowHTTP }},
		{"federation.allow_private_networks", "Allow requests to loopback and private addresses (testing only)", func(c *Config) any { return &c.Federation.AllowPrivateNetworks }},
		{"federation.authorized_fetch", "Require signed requests to read the node's objects", func(c *Config) any { return &c.Federation.AuthorizedFetch }},
		{"federation.workers", "Concurrent delivery workers, 1-256", func(c *Config) any { return &c.Federation.Workers }},
		{"federation.request_timeout", "Timeout of one outgoing request, up to 5m", func(c *Config) any { return &c.Federation.RequestTimeout }},
		{"federation.retry_base", "Delay before the first delivery retry; doubles after each", func(c *Config) any { return &c.Federation.RetryBase }},
		{"federation.retry_max_age", "Stop retrying a delivery older than this", func(c *Config) any { return &c.Federation.RetryMaxAge }},
		{"federation.dead_after", "Mark an instance dead after failing continuously this long", func(c *Config) any { return &c.Federation.DeadAfter }},
		{"federation.blocked_domains", "Hostnames the node refuses to federate with", func(c *Config) any { return &c.Federation.BlockedDomains }},
		{"federation.inbox_rate_limit", "Inbox requests per second accepted per remote host", func(c *Config) any { return &c.Federation.InboxRateLimit }},
		{"federation.inbox_burst", "Inbox requests a remote host may burst above the rate", func(c *Config) any { return &c.Federation.InboxBurst }},
		{"limits.max_body_bytes", "Largest request body accepted, 1024 to 67108864 bytes", func(c *Config) any { return &c.Limits.MaxBodyBytes }},
		{"limits.max_json_depth", "Deepest JSON nesting accepted, 4-256", func(c *Config) any { return &c.Limits.MaxJSONDepth }},
	}
}

// defaults returns the built-in values with PublicURL still empty, so Load
// can derive it from whatever listen ends up being.
func defaults() *Config {
	return &Config{
		Listen:  "127.0.0.1:8080",
		DataDir: "./data",
		Log:     LogConfig{Level: "info", Format: "text"},
		Node: NodeConfig{
			Handle:          "chapter",
			Name:            "Chapterhouse chapter",
			Level:           "chapter",
			ApproveChildren: "manual",
			Languages:       []string{"en"},
		},
		Federation: FederationConfig{
			Workers:        16,
			RequestTimeout: 10 * time.Second,
			RetryBase:      time.Minute,
			RetryMaxAge:    72 * time.Hour,
			DeadAfter:      168 * time.Hour,
			InboxRateLimit: 50,
			InboxBurst:     200,
		},
		Limits: LimitsConfig{MaxBodyBytes: 1 << 20, MaxJSONDepth: 32},
	}
}

// Default returns a Config with every default filled in: what `serve` runs
// with when given no file, environment or flags. It is valid as returned.
func Default() *Config {
	c := defaults()
	c.normalize()
	return c
}

// Keys returns every configuration key with its default, description and
// environment variable, sorted by key, so documentation can be generated
// rather than kept in sync by hand.
func Keys() []KeyInfo {
	def := Default()
	defs := keyDefs()
	out := make([]KeyInfo, 0, len(defs))
	for _, d := range defs {
		out = append(out, KeyInfo{
			Key:         d.key,
			Default:     render(d.field(def)),
			Description: d.desc,
			Env:         envName(d.key),
		})
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Key < out[j].Key })
	return out
}

// envName is the environment variable for key: node.handle becomes
// CHAPTERHOUSE_NODE_HANDLE.
func envName(key string) string {
	return EnvPrefix + strings.ToUpper(strings.ReplaceAll(key, ".", "_"))
}

// flagName is the command-line flag for key: log.level becomes log-level.
func flagName(key string) string {
	return strings.NewReplacer(".", "-", "_", "-").Replace(key)
}

// BindFlags registers the flags most often used to override the file on the
// command line: --listen, --public-url, --data-dir and --log-level. Their
// defaults are empty because Load only honours flags the user set; any other
// flag named after a key the same way (e.g. --federation-workers) is honoured
// too. Calling it twice on one FlagSet panics, as pflag does.
func BindFlags(fs *pflag.FlagSet) {
	fs.String(flagName("listen"), "", "address to listen on, host:port (config key listen; default 127.0.0.1:8080)")
	fs.String(flagName("public_url"), "", "public base URL of the node (config key public_url; default http:// + listen)")
	fs.String(flagName("data_dir"), "", "directory for the database and keys (config key data_dir; default ./data)")
	fs.String(flagName("log.level"), "", "minimum log level: debug, info, warn, error (config key log.level; default info)")
}

// Load builds the configuration from, lowest to highest precedence: the
// defaults, the YAML file at path (skipped if path is ""), the environment
// read through getenv (nil means an empty environment) and the flags in
// flags that were explicitly set (flags may be nil). It then validates the
// result, so a non-nil *Config is always usable. Every problem found in one
// layer is reported together, each naming the key and where it came from.
func Load(path string, getenv func(string) string, flags *pflag.FlagSet) (*Config, error) {
	defs := keyDefs()
	v := viper.New()
	base := defaults()
	for _, d := range defs {
		v.SetDefault(d.key, value(d.field(base)))
	}
	if path != "" {
		if err := readFile(v, path, defs); err != nil {
			return nil, err
		}
	}
	var errs []error
	if getenv != nil {
		for _, d := range defs {
			name := envName(d.key)
			raw := strings.TrimSpace(getenv(name))
			if raw == "" {
				continue
			}
			if err := setDecoded(v, d, raw); err != nil {
				errs = append(errs, fmt.Errorf("config: %s from %s=%q: %w", d.key, name, raw, err))
			}
		}
	}
	if flags != nil {
		for _, d := range defs {
			f := flags.Lookup(flagName(d.key))
			if f == nil || !f.Changed {
				continue
			}
			var raw any = f.Value.String()
			if sv, ok := f.Value.(pflag.SliceValue); ok {
				raw = sv.GetSlice()
			}
			if err := setDecoded(v, d, raw); err != nil {
				errs = append(errs, fmt.Errorf("config: %s from flag --%s: %w", d.key, f.Name, err))
			}
		}
	}
	if len(errs) > 0 {
		return nil, errors.Join(errs...)
	}
	c := &Config{}
	for _, d := range defs {
		if err := decode(d.field(c), v.Get(d.key)); err != nil {
			errs = append(errs, fmt.Errorf("config: %s: %w", d.key, err))
		}
	}
	if len(errs) > 0 {
		return nil, errors.Join(errs...)
	}
	c.normalize()
	if err := c.Validate(); err != nil {
		return nil, err
	}
	return c, nil
}

// setDecoded checks raw against the type of d's field and records the typed
// value in v's override layer, so type errors are reported with their
// source rather than after the layers are merged.
func setDecoded(v *viper.Viper, d keyDef, raw any) error {
	var scratch Config
	p := d.field(&scratch)
	if err := decode(p, raw); err != nil {
		return err
	}
	v.Set(d.key, value(p))
	return nil
}

// readFile merges the YAML file at path into v's config layer, refusing
// unknown keys and values of the wrong type.
func readFile(v *viper.Viper, path string, defs []keyDef) error {
	b, err := os.ReadFile(path)
	if err != nil {
		return fmt.Errorf("config: read config file: %w", err)
	}
	fv := viper.New()
	fv.SetConfigType("yaml")
	if err := fv.ReadConfig(bytes.NewReader(b)); err != nil {
		return fmt.Errorf("config: parse config file %s: %w", path, err)
	}
	known := make(map[string]keyDef, len(defs))
	sections := make(map[string]bool)
	for _, d := range defs {
		known[d.key] = d
		if i := strings.IndexByte(d.key, '.'); i > 0 {
			sections[d.key[:i]] = true
		}
	}
	keys := fv.AllKeys()
	sort.Strings(keys)
	var errs []error
	for _, k := range keys {
		raw := fv.Get(k)
		d, ok := known[k]
		switch {
		case ok:
			var scratch Config
			if err := decode(d.field(&scratch), raw); err != nil {
				errs = append(errs, fmt.Errorf("config: %s in %s: %w", k, path, err))
			}
		case sections[k] && raw == nil:
			// An empty section ("node:") sets nothing.
		case sections[k]:
			errs = append(errs, fmt.Errorf("config: %s in %s: must be a mapping of %s.* keys, got %s", k, path, k, kindOf(raw)))
		default:
			errs = append(errs, fmt.Errorf("config: unknown key %q in %s", k, path))
		}
	}
	if len(errs) > 0 {
		return errors.Join(errs...)
	}
	if err := v.MergeConfigMap(fv.AllSettings()); err != nil {
		return fmt.Errorf("config: merge config file %s: %w", path, err)
	}
	return nil
}

// normalize puts equivalent spellings into one canonical form, so the rest
// of the program can compare values directly: enum values lower-cased,
// public_url derived from listen when unset and without a trailing slash or
// default port, blocked domains lower-cased without a trailing dot.
func (c *Config) normalize() {
	c.PublicURL = strings.TrimSpace(c.PublicURL)
	c.Listen = strings.TrimSpace(c.Listen)
	c.DataDir = strings.TrimSpace(c.DataDir)
	for _, p := range []*string{&c.Log.Level, &c.Log.Format, &c.Node.Level, &c.Node.ApproveChildren} {
		*p = strings.ToLower(strings.TrimSpace(*p))
	}
	c.Node.Parent = strings.TrimSpace(c.Node.Parent)
	if c.PublicURL == "" {
		c.PublicURL = publicURLFor(c.Listen)
	}
	if u, err := url.Parse(c.PublicURL); err == nil && u.Host != "" && (u.Path == "" || u.Path == "/") {
		u.Scheme = strings.ToLower(u.Scheme)
		u.Host = canonicalHost(u)
		u.Path = ""
		c.PublicURL = u.String()
	}
	for i, d := range c.Federation.BlockedDomains {
		c.Federation.BlockedDomains[i] = strings.TrimSuffix(strings.ToLower(strings.TrimSpace(d)), ".")
	}
}

// publicURLFor derives the default public URL from the listen address; an
// empty listen host (":8080") becomes localhost, since "http://:8080" is not
// a URL anyone can reach.
func publicURLFor(listen string) string {
	host, port, err := net.SplitHostPort(listen)
	if err != nil {
		return "http://" + listen
	}
	if host == "" {
		host = "localhost"
	}
	return "http://" + net.JoinHostPort(host, port)
}

// canonicalHost returns u's host lower-cased and without the scheme's
// default port, so one node has exactly one spelling of its host.
func canonicalHost(u *url.URL) string {
	host := strings.ToLower(u.Host)
	switch {
	case u.Scheme == "http" && strings.HasSuffix(host, ":80"):
		host = strings.TrimSuffix(host, ":80")
	case u.Scheme == "https" && strings.HasSuffix(host, ":443"):
		host = strings.TrimSuffix(host, ":443")
	}
	return host
}

// Host returns the host[:port] of PublicURL, lower-cased and without a
// default port: the domain part of the node's WebFinger handles. It returns
// "" if PublicURL is not a valid URL.
func (c *Config) Host() string {
	u, err := url.Parse(c.PublicURL)
	if err != nil || u.Host == "" {
		return ""
	}
	return canonicalHost(u)
}
