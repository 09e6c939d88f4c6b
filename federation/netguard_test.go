package federation

import (
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"
)

func TestNetForbiddenIP(t *testing.T) {
	tests := []struct {
		ip        string
		forbidden bool
	}{
		{"127.0.0.1", true},
		{"127.255.0.9", true},
		{"::1", true},
		{"10.1.2.3", true},
		{"172.16.0.1", true},
		{"172.31.255.255", true},
		{"192.168.1.1", true},
		{"fc00::1", true},
		{"fd12:3456::1", true},
		{"169.254.169.254", true}, // cloud metadata service
		{"fe80::1", true},
		{"fe80::1%eth0", true},
		{"0.0.0.0", true},
		{"0.1.2.3", true},
		{"::", true},
		{"224.0.0.1", true},
		{"239.255.255.250", true},
		{"ff02::1", true},
		{"ff05::2", true},
		{"100.64.0.1", true},
		{"100.127.255.255", true},
		{"255.255.255.255", true},
		{"240.0.0.1", true},
		{"198.18.0.1", true},
		{"192.0.2.1", true},
		{"::ffff:127.0.0.1", true},
		{"::ffff:10.0.0.1", true},
		{"::ffff:169.254.169.254", true},
		{"::ffff:100.64.0.1", true},
		{"::127.0.0.1", true},        // IPv4-compatible
		{"64:ff9b::7f00:1", true},    // NAT64 of 127.0.0.1
		{"64:ff9b::a9fe:a9fe", true}, // NAT64 of 169.254.169.254
		{"2002:7f00:1::1", true},     // 6to4 of 127.0.0.1
		{"2002:c0a8:101::1", true},   // 6to4 of 192.168.1.1
		{"2001:db8::1", true},
		{"fec0::1", true},
		{"8.8.8.8", false},
		{"1.1.1.1", false},
		{"100.63.255.255", false},
		{"100.128.0.0", false},
		{"172.15.255.255", false},
		{"172.32.0.0", false},
		{"192.0.3.1", false},
		{"2606:4700:4700::1111", false},
		{"2a01:4f8::1", false},
		{"::ffff:8.8.8.8", false},
		{"64:ff9b::808:808", false}, // NAT64 of 8.8.8.8
		{"2002:808:808::1", false},  // 6to4 of 8.8.8.8
	}
	for _, tt := range tests {
		t.Run(tt.ip, func(t *testing.T) {
			ip := netip.MustParseAddr(tt.ip)
			if got := IsForbiddenIP(ip); got != tt.forbidden {
				t.Errorf("IsForbiddenIP(%s) = %v (%q), want %v", ip, got, forbiddenIPReason(ip), tt.forbidden)
			}
			err := guardDial("tcp", netip.AddrPortFrom(ip, 443).String(), nil)
			if got := err != nil; got != tt.forbidden {
				t.Errorf("guardDial(%s) = %v, want refused: %v", ip, err, tt.forbidden)
			}
			if err != nil && !errors.Is(err, ErrForbiddenAddress) {
				t.Errorf("guardDial error %v does not wrap ErrForbiddenAddress", err)
			}
		})
	}
}

func TestNetGuardDialRefusesOddNetworks(t *testing.T) {
	for _, network := range []string{"udp", "unix", "ip4:icmp"} {
		if err := guardDial(network, "8.8.8.8:53", nil); !errors.Is(err, ErrForbiddenAddress) {
			t.Errorf("guardDial(%q) = %v, want ErrForbiddenAddress", network, err)
		}
	}
	if err := guardDial("tcp", "not-an-ip:80", nil); !errors.Is(err, ErrForbiddenAddress) {
		t.Errorf("guardDial of an unresolved name = %v, want ErrForbiddenAddress", err)
	}
}

func TestNetCheckURL(t *testing.T) {
	tests := []struct {
		name      string
		raw       string
		allowHTTP bool
		ok        bool
	}{
		{name: "https", raw: "https://example.com/users/alice", ok: true},
		{name: "https with port and query", raw: "https://example.com:8443/a?b=c#main-key", ok: true},
		{name: "upper-case scheme", raw: "HTTPS://example.com/", ok: true},
		{name: "http refused by default", raw: "http://example.com/"},
		{name: "http allowed", raw: "http://example.com/", allowHTTP: true, ok: true},
		{name: "userinfo", raw: "https://user:pass@example.com/"},
		{name: "user only", raw: "https://user@example.com/"},
		{name: "relative", raw: "/users/alice"},
		{name: "scheme-relative", raw: "//example.com/users/alice"},
		{name: "no host", raw: "https:///users/alice"},
		{name: "port only", raw: "https://:443/"},
		{name: "opaque", raw: "https:example.com"},
		{name: "file", raw: "file:///etc/passwd", allowHTTP: true},
		{name: "gopher", raw: "gopher://example.com/", allowHTTP: true},
		{name: "javascript", raw: "javascript:alert(1)", allowHTTP: true},
		{name: "unparsable", raw: "https://exa mple.com/%zz"},
		{name: "empty", raw: ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			u, err := CheckURL(tt.raw, tt.allowHTTP)
			if got := err == nil; got != tt.ok {
				t.Fatalf("CheckURL(%q, %v) = %v, %v; want ok: %v", tt.raw, tt.allowHTTP, u, err, tt.ok)
			}
			if err != nil && !errors.Is(err, ErrForbiddenAddress) {
				t.Errorf("error %v does not wrap ErrForbiddenAddress", err)
			}
		})
	}
}

// countingServer starts an httptest server on 127.0.0.1 that counts requests
// and echoes the User-Agent.
func countingServer(t *testing.T) (*httptest.Server, *atomic.Int64) {
	t.Helper()
	var hits atomic.Int64
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		hits.Add(1)
		fmt.Fprint(w, r.Header.Get("User-Agent"))
	}))
	t.Cleanup(srv.Close)
	return srv, &hits
}

func TestNetClientRefusesLoopback(t *testing.T) {
	srv, hits := countingServer(t)
	localhostURL := strings.Replace(srv.URL, "127.0.0.1", "localhost", 1)
	tests := []struct {
		name string
		opts ClientOptions
		url  string
	}{
		{name: "default options", opts: ClientOptions{}, url: srv.URL},
		{name: "http allowed, private not", opts: ClientOptions{AllowHTTP: true}, url: srv.URL},
		{name: "localhost by name", opts: ClientOptions{AllowHTTP: true}, url: localhostURL},
		{name: "IPv4-mapped loopback", opts: ClientOptions{AllowHTTP: true},
			url: strings.Replace(srv.URL, "127.0.0.1", "[::ffff:127.0.0.1]", 1)},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			resp, err := NewHTTPClient(tt.opts).Get(tt.url)
			if err == nil {
				resp.Body.Close()
				t.Fatalf("GET %s succeeded with %+v, want it refused", tt.url, tt.opts)
			}
			if !errors.Is(err, ErrForbiddenAddress) {
				t.Errorf("GET %s error = %v, want ErrForbiddenAddress", tt.url, err)
			}
		})
	}
	if got := hits.Load(); got != 0 {
		t.Errorf("server saw %d requests, want 0", got)
	}
}

func TestNetClientAllowsPrivateWhenAsked(t *testing.T) {
	srv, hits := countingServer(t)
	client := NewHTTPClient(ClientOptions{AllowHTTP: true, AllowPrivateNetworks: true, UserAgent: "Chapterhouse/test"})
	resp, err := client.Get(srv.URL)
	if err != nil {
		t.Fatalf("GET %s: %v", srv.URL, err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	if got, want := resp.StatusCode, http.StatusOK; got != want {
		t.Errorf("status = %d, want %d", got, want)
	}
	if got, want := string(body), "Chapterhouse/test"; got != want {
		t.Errorf("server saw User-Agent %q, want %q", got, want)
	}
	if got, want := hits.Load(), int64(1); got != want {
		t.Errorf("server saw %d requests, want %d", got, want)
	}

	req, err := http.NewRequest(http.MethodGet, srv.URL, nil)
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("User-Agent", "caller's own")
	resp2, err := client.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp2.Body.Close()
	body, _ = io.ReadAll(resp2.Body)
	if got, want := string(body), "caller's own"; got != want {
		t.Errorf("an explicit User-Agent was replaced: server saw %q, want %q", got, want)
	}
}

func TestNetClientRedirects(t *testing.T) {
	mux := http.NewServeMux()
	// /hop/N redirects to /hop/N-1; /hop/0 answers 200.
	mux.HandleFunc("/hop/{n}", func(w http.ResponseWriter, r *http.Request) {
		n, err := strconv.Atoi(r.PathValue("n"))
		if err != nil {
			http.Error(w, err.Error(), http.StatusBadRequest)
			return
		}
		if n == 0 {
			fmt.Fprint(w, "arrived")
			return
		}
		http.Redirect(w, r, "/hop/"+strconv.Itoa(n-1), http.StatusFound)
	})
	mux.HandleFunc("/to", func(w http.ResponseWriter, r *http.Request) {
		http.Redirect(w, r, r.URL.Query().Get("u"), http.StatusFound)
	})
	srv := httptest.NewServer(mux)
	t.Cleanup(srv.Close)
	withUser := strings.Replace(srv.URL, "http://", "http://user:pw@", 1) + "/hop/0"
	tests := []struct {
		name string
		path string
		ok   bool
	}{
		{name: "no redirect", path: "/hop/0", ok: true},
		{name: "five redirects", path: "/hop/5", ok: true},
		{name: "six redirects", path: "/hop/6"},
		{name: "redirect to file", path: "/to?u=file:///etc/passwd"},
		{name: "redirect to userinfo", path: "/to?u=" + withUser},
	}
	client := NewHTTPClient(ClientOptions{AllowHTTP: true, AllowPrivateNetworks: true})
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			resp, err := client.Get(srv.URL + tt.path)
			if err != nil {
				if tt.ok {
					t.Fatalf("GET %s: %v", tt.path, err)
				}
				t.Logf("refused as expected: %v", err)
				return
			}
			defer resp.Body.Close()
			if !tt.ok {
				t.Fatalf("GET %s succeeded with status %d, want an error", tt.path, resp.StatusCode)
			}
			if got, want := resp.StatusCode, http.StatusOK; got != want {
				t.Errorf("status = %d, want %d", got, want)
			}
		})
	}

	strict := NewHTTPClient(ClientOptions{AllowPrivateNetworks: true})
	if resp, err := strict.Get(srv.URL + "/hop/1"); !errors.Is(err, ErrForbiddenAddress) {
		if err == nil {
			resp.Body.Close()
		}
		t.Errorf("http GET without AllowHTTP: error = %v, want ErrForbiddenAddress", err)
	}
}

func TestNetClientTimeout(t *testing.T) {
	release := make(chan struct{})
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		select {
		case <-release:
		case <-r.Context().Done():
		}
	}))
	t.Cleanup(srv.Close)
	t.Cleanup(func() { close(release) })
	client := NewHTTPClient(ClientOptions{AllowHTTP: true, AllowPrivateNetworks: true, Timeout: 200 * time.Millisecond})
	start := time.Now()
	resp, err := client.Get(srv.URL)
	if err == nil {
		resp.Body.Close()
		t.Fatal("GET of a server that never answers succeeded")
	}
	if elapsed := time.Since(start); elapsed > 5*time.Second {
		t.Errorf("GET took %v to time out, want about 200ms", elapsed)
	}
}

func TestNetClientDefaults(t *testing.T) {
	client := NewHTTPClient(ClientOptions{})
	if got, want := client.Timeout, DefaultClientTimeout; got != want {
		t.Errorf("Timeout = %v, want %v", got, want)
	}
	g, ok := client.Transport.(*guardedTransport)
	if !ok {
		t.Fatalf("Transport is %T, want *guardedTransport", client.Transport)
	}
	if g.next.Proxy != nil {
		t.Errorf("transport uses a proxy; the dial guard would only see the proxy's address")
	}
	if g.next.TLSHandshakeTimeout == 0 || g.next.ResponseHeaderTimeout == 0 {
		t.Errorf("transport lacks TLS handshake or response header timeouts")
	}
}
