package config

import (
	"errors"
	"fmt"
	"math"
	"net"
	"net/url"
	"regexp"
	"strconv"
	"strings"
	"time"
)

// Bounds enforced by Validate, named so the messages and the checks agree.
const (
	maxWorkers        = 256
	maxRequestTimeout = 5 * time.Minute
	minBodyBytes      = 1024
	maxBodyBytes      = 64 << 20
	minJSONDepth      = 4
	maxJSONDepth      = 256
)

// shortDuration prints as formatDuration does, unquoted, in error messages.
type shortDuration time.Duration

// String renders the duration the way a user would write it ("6m").
func (d shortDuration) String() string { return formatDuration(time.Duration(d)) }

var (
	handleRE       = regexp.MustCompile(`^[a-z0-9_]{1,30}$`)
	remoteHandleRE = regexp.MustCompile(`^@([A-Za-z0-9_][A-Za-z0-9_.\-]*)@([^@/\s]+)$`)
	languageRE     = regexp.MustCompile(`^[A-Za-z]{2,8}(-[A-Za-z0-9]{1,8})*$`)
	hostnameRE     = regexp.MustCompile(`^([a-z0-9]([a-z0-9\-]{0,61}[a-z0-9])?)(\.[a-z0-9]([a-z0-9\-]{0,61}[a-z0-9])?)*$`)
)

// Validate checks every key and reports each problem as an error naming the
// key, the offending value and what is allowed, joined with errors.Join. It
// is exported so code that builds a Config by hand (tests, tools) gets the
// same guarantees as Load.
func (c *Config) Validate() error {
	var errs []error
	bad := func(key string, val any, format string, args ...any) {
		if s, ok := val.(string); ok {
			val = strconv.Quote(s)
		}
		errs = append(errs, fmt.Errorf("config: %s %v: %s", key, val, fmt.Sprintf(format, args...)))
	}
	oneOf := func(key, val string, allowed ...string) {
		for _, a := range allowed {
			if val == a {
				return
			}
		}
		bad(key, val, "must be one of %s", strings.Join(allowed, ", "))
	}
	intRange := func(key string, n, lo, hi int64) {
		if n < lo || n > hi {
			bad(key, n, "must be between %d and %d", lo, hi)
		}
	}
	positive := func(key string, d time.Duration) {
		if d <= 0 {
			bad(key, shortDuration(d), "must be greater than 0")
		}
	}

	if err := checkPublicURL(c.PublicURL); err != nil {
		bad("public_url", c.PublicURL, "%v", err)
	}
	if _, port, err := net.SplitHostPort(c.Listen); err != nil {
		bad("listen", c.Listen, "must be host:port, e.g. 127.0.0.1:8080")
	} else if p, err := strconv.Atoi(port); err != nil || p < 0 || p > 65535 {
		bad("listen", c.Listen, "port must be a number from 0 to 65535")
	}
	if strings.TrimSpace(c.DataDir) == "" {
		bad("data_dir", c.DataDir, "must not be empty")
	}

	oneOf("log.level", c.Log.Level, "debug", "info", "warn", "error")
	oneOf("log.format", c.Log.Format, "text", "json")

	if !handleRE.MatchString(c.Node.Handle) {
		bad("node.handle", c.Node.Handle, "must be 1 to 30 characters of a-z, 0-9 and _")
	}
	if strings.TrimSpace(c.Node.Name) == "" {
		bad("node.name", c.Node.Name, "must not be empty")
	}
	oneOf("node.level", c.Node.Level, "chapter", "city", "national", "international")
	if err := checkParent(c.Node.Parent); err != nil {
		bad("node.parent", c.Node.Parent, "%v", err)
	}
	oneOf("node.approve_children", c.Node.ApproveChildren, "manual", "auto")
	if len(c.Node.Languages) == 0 {
		bad("node.languages", "", "must list at least one language tag, e.g. en")
	}
	for _, l := range c.Node.Languages {
		if !languageRE.MatchString(l) {
			bad("node.languages", l, "must be a BCP 47 language tag, e.g. en or pt-BR")
		}
	}

	f := c.Federation
	intRange("federation.workers", int64(f.Workers), 1, maxWorkers)
	if f.RequestTimeout <= 0 || f.RequestTimeout > maxRequestTimeout {
		bad("federation.request_timeout", shortDuration(f.RequestTimeout), "must be greater than 0 and at most %s", formatDuration(maxRequestTimeout))
	}
	positive("federation.retry_base", f.RetryBase)
	if f.RetryMaxAge < f.RetryBase {
		bad("federation.retry_max_age", shortDuration(f.RetryMaxAge), "must be at least federation.retry_base (%s)", formatDuration(f.RetryBase))
	}
	positive("federation.dead_after", f.DeadAfter)
	for _, d := range f.BlockedDomains {
		if len(d) > 253 || !hostnameRE.MatchString(d) {
			bad("federation.blocked_domains", d, "must be a lower-case hostname such as spam.example, without scheme, port or path")
		}
	}
	if !(f.InboxRateLimit > 0) || math.IsInf(f.InboxRateLimit, 0) {
		bad("federation.inbox_rate_limit", f.InboxRateLimit, "must be a finite number of requests per second greater than 0")
	}
	if f.InboxBurst < 1 {
		bad("federation.inbox_burst", f.InboxBurst, "must be at least 1")
	}

	intRange("limits.max_body_bytes", c.Limits.MaxBodyBytes, minBodyBytes, maxBodyBytes)
	intRange("limits.max_json_depth", int64(c.Limits.MaxJSONDepth), minJSONDepth, maxJSONDepth)

	return errors.Join(errs...)
}

// checkPublicURL accepts an absolute http(s) URL with a host and nothing
// after it but an optional "/", because actor IDs are built by appending
// paths to it.
func checkPublicURL(s string) error {
	const want = "must be an absolute http or https URL with no path, query or fragment, e.g. https://chapter.example"
	u, err := url.Parse(s)
	if err != nil {
		return fmt.Errorf("%s: %w", want, err)
	}
	if (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" || u.Hostname() == "" ||
		u.Opaque != "" || u.User != nil || (u.Path != "" && u.Path != "/") ||
		u.RawQuery != "" || u.ForceQuery || u.Fragment != "" || strings.Contains(s, "#") {
		return errors.New(want)
	}
	return nil
}

// checkParent accepts "" (no parent), an http(s) actor URL or @handle@host,
// the two ways an admin is likely to know the parent node.
func checkParent(s string) error {
	if s == "" {
		return nil
	}
	const want = "must be empty, an http or https actor URL, or @handle@host"
	if strings.HasPrefix(s, "@") {
		m := remoteHandleRE.FindStringSubmatch(s)
		if m == nil {
			return errors.New(want)
		}
		if u, err := url.Parse("https://" + m[2]); err != nil || u.Host != m[2] || u.Hostname() == "" {
			return errors.New(want)
		}
		return nil
	}
	u, err := url.Parse(s)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" || u.Hostname() == "" || u.User != nil || u.Fragment != "" {
		return errors.New(want)
	}
	return nil
}
