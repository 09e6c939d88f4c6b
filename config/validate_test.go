package config

import (
	"math"
	"strings"
	"testing"
	"time"
)

func TestValidateRejects(t *testing.T) {
	tests := []struct {
		name   string
		mutate func(*Config)
		key    string // the key the error must name
		want   string // and a fragment of what is allowed
	}{
		{"public_url relative", func(c *Config) { c.PublicURL = "chapter.example" }, "public_url", "absolute http or https URL"},
		{"public_url ftp", func(c *Config) { c.PublicURL = "ftp://chapter.example" }, "public_url", "http or https"},
		{"public_url path", func(c *Config) { c.PublicURL = "https://chapter.example/ch" }, "public_url", "no path"},
		{"public_url query", func(c *Config) { c.PublicURL = "https://chapter.example/?a=1" }, "public_url", "query"},
		{"public_url fragment", func(c *Config) { c.PublicURL = "https://chapter.example/#x" }, "public_url", "fragment"},
		{"public_url userinfo", func(c *Config) { c.PublicURL = "https://u:p@chapter.example" }, "public_url", "URL"},
		{"public_url no host", func(c *Config) { c.PublicURL = "https://:443" }, "public_url", "URL"},
		{"public_url empty", func(c *Config) { c.PublicURL = "" }, "public_url", "URL"},
		{"listen no port", func(c *Config) { c.Listen = "localhost" }, "listen", "host:port"},
		{"listen bad port", func(c *Config) { c.Listen = "localhost:http" }, "listen", "port"},
		{"listen port too big", func(c *Config) { c.Listen = "localhost:70000" }, "listen", "port"},
		{"data_dir empty", func(c *Config) { c.DataDir = " " }, "data_dir", "must not be empty"},
		{"log.level", func(c *Config) { c.Log.Level = "trace" }, `log.level "trace"`, "debug, info, warn, error"},
		{"log.format", func(c *Config) { c.Log.Format = "xml" }, `log.format "xml"`, "text, json"},
		{"node.handle empty", func(c *Config) { c.Node.Handle = "" }, "node.handle", "1 to 30"},
		{"node.handle too long", func(c *Config) { c.Node.Handle = strings.Repeat("a", 31) }, "node.handle", "1 to 30"},
		{"node.handle upper case", func(c *Config) { c.Node.Handle = "Chapter" }, "node.handle", "a-z"},
		{"node.handle dash", func(c *Config) { c.Node.Handle = "my-chapter" }, "node.handle", "a-z"},
		{"node.name empty", func(c *Config) { c.Node.Name = "" }, "node.name", "must not be empty"},
		{"node.level", func(c *Config) { c.Node.Level = "town" }, `node.level "town"`, "must be one of chapter, city, national, international"},
		{"node.parent bare word", func(c *Config) { c.Node.Parent = "national" }, "node.parent", "@handle@host"},
		{"node.parent handle without host", func(c *Config) { c.Node.Parent = "@national" }, "node.parent", "@handle@host"},
		{"node.parent handle bad host", func(c *Config) { c.Node.Parent = "@n@host/path" }, "node.parent", "@handle@host"},
		{"node.parent ftp url", func(c *Config) { c.Node.Parent = "ftp://hq.example/actor" }, "node.parent", "actor URL"},
		{"node.parent url without host", func(c *Config) { c.Node.Parent = "https:///actor" }, "node.parent", "actor URL"},
		{"node.approve_children", func(c *Config) { c.Node.ApproveChildren = "sometimes" }, "node.approve_children", "manual, auto"},
		{"node.languages empty", func(c *Config) { c.Node.Languages = nil }, "node.languages", "at least one"},
		{"node.languages bad tag", func(c *Config) { c.Node.Languages = []string{"en", "english!"} }, `node.languages "english!"`, "BCP 47"},
		{"federation.workers zero", func(c *Config) { c.Federation.Workers = 0 }, "federation.workers 0", "between 1 and 256"},
		{"federation.workers too many", func(c *Config) { c.Federation.Workers = 257 }, "federation.workers 257", "between 1 and 256"},
		{"federation.request_timeout zero", func(c *Config) { c.Federation.RequestTimeout = 0 }, "federation.request_timeout", "greater than 0"},
		{"federation.request_timeout too long", func(c *Config) { c.Federation.RequestTimeout = 6 * time.Minute }, "federation.request_timeout 6m", "at most 5m"},
		{"federation.retry_base zero", func(c *Config) { c.Federation.RetryBase = 0 }, "federation.retry_base", "greater than 0"},
		{"federation.retry_max_age below base", func(c *Config) { c.Federation.RetryMaxAge = 30 * time.Second }, "federation.retry_max_age 30s", "at least federation.retry_base"},
		{"federation.dead_after negative", func(c *Config) { c.Federation.DeadAfter = -time.Hour }, "federation.dead_after", "greater than 0"},
		{"federation.blocked_domains url", func(c *Config) { c.Federation.BlockedDomains = []string{"https://spam.example"} }, "federation.blocked_domains", "hostname"},
		{"federation.blocked_domains upper", func(c *Config) { c.Federation.BlockedDomains = []string{"Spam.Example"} }, "federation.blocked_domains", "lower-case"},
		{"federation.blocked_domains port", func(c *Config) { c.Federation.BlockedDomains = []string{"spam.example:443"} }, "federation.blocked_domains", "hostname"},
		{"federation.inbox_rate_limit zero", func(c *Config) { c.Federation.InboxRateLimit = 0 }, "federation.inbox_rate_limit", "greater than 0"},
		{"federation.inbox_rate_limit NaN", func(c *Config) { c.Federation.InboxRateLimit = math.NaN() }, "federation.inbox_rate_limit", "finite"},
		{"federation.inbox_rate_limit Inf", func(c *Config) { c.Federation.InboxRateLimit = math.Inf(1) }, "federation.inbox_rate_limit", "finite"},
		{"federation.inbox_burst zero", func(c *Config) { c.Federation.InboxBurst = 0 }, "federation.inbox_burst", "at least 1"},
		{"limits.max_body_bytes small", func(c *Config) { c.Limits.MaxBodyBytes = 1023 }, "limits.max_body_bytes 1023", "between 1024 and 67108864"},
		{"limits.max_body_bytes big", func(c *Config) { c.Limits.MaxBodyBytes = 64<<20 + 1 }, "limits.max_body_bytes", "between 1024 and 67108864"},
		{"limits.max_json_depth small", func(c *Config) { c.Limits.MaxJSONDepth = 3 }, "limits.max_json_depth 3", "between 4 and 256"},
		{"limits.max_json_depth big", func(c *Config) { c.Limits.MaxJSONDepth = 257 }, "limits.max_json_depth", "between 4 and 256"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := Default()
			tt.mutate(c)
			err := c.Validate()
			if err == nil {
				t.Fatal("Validate() = nil, want error")
			}
			msg := err.Error()
			if !strings.Contains(msg, "config: "+tt.key) || !strings.Contains(msg, tt.want) {
				t.Errorf("error %q: want it to name %q and say %q", msg, tt.key, tt.want)
			}
			if n := strings.Count(msg, "\n") + 1; n != 1 {
				t.Errorf("error %q reports %d problems, want 1", msg, n)
			}
		})
	}
}

func TestValidateAccepts(t *testing.T) {
	tests := []struct {
		name   string
		mutate func(*Config)
	}{
		{"https public_url with port", func(c *Config) { c.PublicURL = "https://chapter.example:8443" }},
		{"public_url trailing slash", func(c *Config) { c.PublicURL = "https://chapter.example/" }},
		{"ipv6 listen", func(c *Config) { c.Listen = "[::1]:8080" }},
		{"ephemeral port", func(c *Config) { c.Listen = "127.0.0.1:0" }},
		{"handle max length", func(c *Config) { c.Node.Handle = strings.Repeat("a", 30) }},
		{"handle digits and underscore", func(c *Config) { c.Node.Handle = "ch_42" }},
		{"every level", func(c *Config) { c.Node.Level = "international" }},
		{"parent url", func(c *Config) { c.Node.Parent = "https://hq.example/users/national" }},
		{"parent http url", func(c *Config) { c.Node.Parent = "http://localhost:8081/actor" }},
		{"parent handle with port", func(c *Config) { c.Node.Parent = "@national@hq.example:8443" }},
		{"parent handle with dot", func(c *Config) { c.Node.Parent = "@na.tional@hq.example" }},
		{"languages with region", func(c *Config) { c.Node.Languages = []string{"pt-BR", "zh-Hant-TW"} }},
		{"blocked domains", func(c *Config) { c.Federation.BlockedDomains = []string{"spam.example", "localhost"} }},
		{"bounds low", func(c *Config) {
			c.Federation.Workers, c.Limits.MaxBodyBytes, c.Limits.MaxJSONDepth = 1, 1024, 4
		}},
		{"bounds high", func(c *Config) {
			c.Federation.Workers, c.Limits.MaxBodyBytes, c.Limits.MaxJSONDepth = 256, 64<<20, 256
			c.Federation.RequestTimeout = 5 * time.Minute
		}},
		{"retry_max_age equal to base", func(c *Config) { c.Federation.RetryMaxAge = c.Federation.RetryBase }},
		{"fractional rate", func(c *Config) { c.Federation.InboxRateLimit = 0.5 }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := Default()
			tt.mutate(c)
			if err := c.Validate(); err != nil {
				t.Errorf("Validate() = %v, want nil", err)
			}
		})
	}
}

func TestValidateJoinsProblems(t *testing.T) {
	c := Default()
	c.Node.Level = "town"
	c.Log.Format = "xml"
	c.Federation.Workers = 0
	err := c.Validate()
	if err == nil {
		t.Fatal("Validate() = nil, want error")
	}
	for _, key := range []string{"node.level", "log.format", "federation.workers"} {
		if !strings.Contains(err.Error(), key) {
			t.Errorf("error %q does not mention %s", err, key)
		}
	}
	if n := len(strings.Split(err.Error(), "\n")); n != 3 {
		t.Errorf("error reports %d problems, want 3:\n%v", n, err)
	}
}
