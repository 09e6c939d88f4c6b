package federation

import (
	"fmt"
	"net"
	"net/http"
	"net/netip"
	"net/url"
	"syscall"
	"time"
)

// ErrForbiddenAddress reports an outgoing request refused by our
// server-side-request-forgery policy: a URL that is not absolute http(s), or
// a host that resolves to an address inside our own networks. Remote peers
// choose the URLs we fetch (actor ids, inboxes, keyIds), so without this an
// attacker could make us probe 127.0.0.1 or the cloud metadata service.
const ErrForbiddenAddress = federationError("federation: forbidden address")

// DefaultClientTimeout bounds a whole outgoing request, redirects and body
// included, when ClientOptions.Timeout is zero. Mastodon allows 10 s too.
const DefaultClientTimeout = 10 * time.Second

// maxRedirects is how many redirects we follow: enough for http→https and a
// moved actor, few enough that a peer cannot bounce us around.
const maxRedirects = 5

// maxConnectTimeout caps the dial and the TLS handshake, so a black-holed
// host fails fast even under a long overall Timeout.
const maxConnectTimeout = 5 * time.Second

// ClientOptions configures NewHTTPClient. The zero value is the production
// policy: https only, public addresses only, 10 s timeout.
type ClientOptions struct {
	// AllowHTTP permits plain http URLs; for tests and local development.
	AllowHTTP bool
	// AllowPrivateNetworks permits loopback and private addresses; for tests
	// against httptest servers and for closed federations on a LAN.
	AllowPrivateNetworks bool
	// Timeout bounds each request end to end; zero means DefaultClientTimeout.
	Timeout time.Duration
	// UserAgent is set on requests that carry none; Mastodon and others log
	// it, and some refuse requests without one.
	UserAgent string
}

// NewHTTPClient returns the client for every request to a remote server. Its
// dialer checks the IP address actually dialled (in net.Dialer.Control, after
// DNS resolution), so a hostname that resolves to a public address for a
// check and a private one for the connection (DNS rebinding) still cannot
// reach our networks. Every request URL, the first and each redirect, must
// pass CheckURL. It never uses an environment proxy: through a proxy the
// dialer would only see the proxy's address.
func NewHTTPClient(o ClientOptions) *http.Client {
	timeout := o.Timeout
	if timeout <= 0 {
		timeout = DefaultClientTimeout
	}
	connectTimeout := min(timeout, maxConnectTimeout)
	dialer := &net.Dialer{Timeout: connectTimeout, KeepAlive: 30 * time.Second}
	if !o.AllowPrivateNetworks {
		dialer.Control = guardDial
	}
	transport := &http.Transport{
		Proxy:                  nil,
		DialContext:            dialer.DialContext,
		ForceAttemptHTTP2:      true,
		TLSHandshakeTimeout:    connectTimeout,
		ResponseHeaderTimeout:  timeout,
		ExpectContinueTimeout:  time.Second,
		IdleConnTimeout:        90 * time.Second,
		MaxIdleConns:           100,
		MaxIdleConnsPerHost:    8,
		MaxResponseHeaderBytes: 64 << 10,
	}
	return &http.Client{
		Transport: &guardedTransport{
			next:      transport,
			allowHTTP: o.AllowHTTP,
			userAgent: o.UserAgent,
		},
		CheckRedirect: redirectPolicy(o.AllowHTTP),
		Timeout:       timeout,
	}
}

// CheckURL parses raw and accepts it only as an absolute http(s) URL with a
// host and no userinfo, https unless allowHTTP. Run it on any URL a peer
// gave us before storing or fetching it; errors wrap ErrForbiddenAddress.
// Whether the host is a public address is decided when it is dialled.
func CheckURL(raw string, allowHTTP bool) (*url.URL, error) {
	u, err := url.Parse(raw)
	if err != nil {
		return nil, fmt.Errorf("check URL: %w: %w", ErrForbiddenAddress, err)
	}
	if err := checkParsedURL(u, allowHTTP); err != nil {
		return nil, fmt.Errorf("check URL %q: %w", raw, err)
	}
	return u, nil
}

// checkParsedURL is CheckURL for an already parsed URL, as the transport and
// redirect policy hold one.
func checkParsedURL(u *url.URL, allowHTTP bool) error {
	switch {
	case u.Scheme == "https":
	case u.Scheme == "http" && allowHTTP:
	case u.Scheme == "http":
		return fmt.Errorf("%w: plain http is not allowed", ErrForbiddenAddress)
	case u.Scheme == "":
		return fmt.Errorf("%w: not an absolute URL", ErrForbiddenAddress)
	default:
		return fmt.Errorf("%w: scheme %q is not http(s)", ErrForbiddenAddress, u.Scheme)
	}
	if u.Opaque != "" {
		return fmt.Errorf("%w: opaque URL", ErrForbiddenAddress)
	}
	if u.User != nil {
		return fmt.Errorf("%w: URL carries userinfo", ErrForbiddenAddress)
	}
	if u.Hostname() == "" {
		return fmt.Errorf("%w: URL has no host", ErrForbiddenAddress)
	}
	return nil
}

// redirectPolicy follows at most maxRedirects redirects, each to a URL that
// passes CheckURL, so a peer cannot redirect us to file: or to an http URL
// in production.
func redirectPolicy(allowHTTP bool) func(*http.Request, []*http.Request) error {
	return func(req *http.Request, via []*http.Request) error {
		if len(via) > maxRedirects {
			return fmt.Errorf("stopped after %d redirects", maxRedirects)
		}
		if err := checkParsedURL(req.URL, allowHTTP); err != nil {
			return fmt.Errorf("redirect to %s: %w", req.URL.Redacted(), err)
		}
		return nil
	}
}

// guardedTransport checks every request URL before it leaves, including the
// first (which http.Client's redirect policy never sees), and sets the
// User-Agent.
type guardedTransport struct {
	next      *http.Transport
	allowHTTP bool
	userAgent string
}

// RoundTrip checks req's URL, then sends it.
func (g *guardedTransport) RoundTrip(req *http.Request) (*http.Response, error) {
	if err := checkParsedURL(req.URL, g.allowHTTP); err != nil {
		if req.Body != nil {
			_ = req.Body.Close() // RoundTrip must always close the body.
		}
		return nil, fmt.Errorf("request to %s: %w", req.URL.Redacted(), err)
	}
	if g.userAgent != "" && req.Header.Get("User-Agent") == "" {
		// RoundTrip must not modify the caller's request.
		req = req.Clone(req.Context())
		req.Header.Set("User-Agent", g.userAgent)
	}
	return g.next.RoundTrip(req)
}

// CloseIdleConnections lets http.Client.CloseIdleConnections reach the
// underlying transport.
func (g *guardedTransport) CloseIdleConnections() { g.next.CloseIdleConnections() }

// guardDial is the net.Dialer.Control hook: it runs after resolution, on the
// exact address about to be connected, and refuses forbidden ones.
func guardDial(network, address string, _ syscall.RawConn) error {
	switch network {
	case "tcp", "tcp4", "tcp6":
	default:
		return fmt.Errorf("%w: network %q", ErrForbiddenAddress, network)
	}
	ap, err := netip.ParseAddrPort(address)
	if err != nil {
		return fmt.Errorf("%w: dial address %q: %w", ErrForbiddenAddress, address, err)
	}
	if reason := forbiddenIPReason(ap.Addr()); reason != "" {
		return fmt.Errorf("%w: %s is %s", ErrForbiddenAddress, ap.Addr(), reason)
	}
	return nil
}

// IsForbiddenIP reports whether ip lies in a range that outgoing federation
// requests must never reach (unless private networks are explicitly
// allowed): loopback, private, link-local, CGNAT, multicast, unspecified,
// reserved and documentation ranges, and IPv6 forms that embed such an IPv4
// address. Use it to refuse IP-literal hosts early; NewHTTPClient applies it
// at dial time regardless.
func IsForbiddenIP(ip netip.Addr) bool {
	return forbiddenIPReason(ip) != ""
}

// forbiddenIPReason says why ip is forbidden, or "" when it is a public
// unicast address.
func forbiddenIPReason(ip netip.Addr) string {
	ip = ip.Unmap() // ::ffff:127.0.0.1 is 127.0.0.1.
	switch {
	case !ip.IsValid():
		return "not a valid address"
	case ip.IsUnspecified():
		return "unspecified"
	case ip.IsLoopback():
		return "loopback"
	case ip.IsPrivate():
		return "private"
	case ip.IsLinkLocalUnicast(), ip.IsLinkLocalMulticast():
		return "link-local"
	case ip.IsMulticast(), ip.IsInterfaceLocalMulticast():
		return "multicast"
	}
	for _, r := range reservedRanges() {
		if r.prefix.Contains(ip.WithZone("")) {
			return r.reason
		}
	}
	if v4, ok := embeddedIPv4(ip); ok {
		if reason := forbiddenIPReason(v4); reason != "" {
			return "an IPv6 form of a " + reason + " address"
		}
	}
	return ""
}

// reservedRange is an address block that is never a legitimate peer.
type reservedRange struct {
	prefix netip.Prefix
	reason string
}

// reservedRanges lists the blocks netip's predicates do not cover. It is a
// function, not a variable, so the list cannot be changed at run time; it is
// only consulted when dialling, where a microsecond does not matter.
func reservedRanges() []reservedRange {
	return []reservedRange{
		{netip.MustParsePrefix("0.0.0.0/8"), "\"this network\""},
		{netip.MustParsePrefix("100.64.0.0/10"), "carrier-grade NAT"},
		{netip.MustParsePrefix("192.0.0.0/24"), "IETF protocol assignments"},
		{netip.MustParsePrefix("192.0.2.0/24"), "documentation"},
		{netip.MustParsePrefix("198.18.0.0/15"), "benchmarking"},
		{netip.MustParsePrefix("198.51.100.0/24"), "documentation"},
		{netip.MustParsePrefix("203.0.113.0/24"), "documentation"},
		{netip.MustParsePrefix("240.0.0.0/4"), "reserved"}, // includes broadcast
		{netip.MustParsePrefix("::/96"), "IPv4-compatible (deprecated)"},
		{netip.MustParsePrefix("64:ff9b:1::/48"), "local-use NAT64"},
		{netip.MustParsePrefix("100::/64"), "discard-only"},
		{netip.MustParsePrefix("2001::/32"), "Teredo"},
		{netip.MustParsePrefix("2001:db8::/32"), "documentation"},
		{netip.MustParsePrefix("fec0::/10"), "site-local (deprecated)"},
	}
}

// embeddedIPv4 extracts the IPv4 address carried by a NAT64 (64:ff9b::/96)
// or 6to4 (2002::/16) address: a gateway would forward a connection to it,
// so 64:ff9b::127.0.0.1 is as forbidden as 127.0.0.1.
func embeddedIPv4(ip netip.Addr) (netip.Addr, bool) {
	if !ip.Is6() {
		return netip.Addr{}, false
	}
	b := ip.As16()
	nat64 := [12]byte{0x00, 0x64, 0xff, 0x9b}
	switch {
	case [12]byte(b[:12]) == nat64:
		return netip.AddrFrom4([4]byte(b[12:16])), true
	case b[0] == 0x20 && b[1] == 0x02:
		return netip.AddrFrom4([4]byte(b[2:6])), true
	}
	return netip.Addr{}, false
}
