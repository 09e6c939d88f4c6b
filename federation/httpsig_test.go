package federation

import (
	"bytes"
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/chapterhouse/chapterhouse/federation/fedtest"
	"github.com/go-fed/httpsig"
)

const testKeyID = "https://remote.example/users/alice#main-key"

// testNow is the fixed clock of these tests.
func testNow() time.Time { return time.Date(2025, 3, 14, 15, 9, 26, 0, time.UTC) }

func TestSigParseHeader(t *testing.T) {
	sigB64 := base64.StdEncoding.EncodeToString([]byte("signature bytes"))
	sig := []byte("signature bytes")
	tests := []struct {
		name    string
		header  string
		want    SignatureParams
		wantErr error
		errText string
	}{
		{
			name:   "mastodon",
			header: `keyId="https://a.example/users/x#main-key",algorithm="rsa-sha256",headers="(request-target) host date digest content-type",signature="` + sigB64 + `"`,
			want: SignatureParams{KeyID: "https://a.example/users/x#main-key", Algorithm: "rsa-sha256",
				Headers: []string{"(request-target)", "host", "date", "digest", "content-type"}, Signature: sig},
		},
		{
			name:   "whitespace around separators",
			header: " keyId = \"k\" ,\talgorithm=\"hs2019\", headers=\"host  date\" , signature=\"" + sigB64 + "\" ",
			want:   SignatureParams{KeyID: "k", Algorithm: "hs2019", Headers: []string{"host", "date"}, Signature: sig},
		},
		{
			name:   "comma and equals inside quotes",
			header: `keyId="https://a.example/k?a=b,c=d",signature="` + sigB64 + `"`,
			want:   SignatureParams{KeyID: "https://a.example/k?a=b,c=d", Headers: []string{"date"}, Signature: sig},
		},
		{
			name:   "escaped quote and backslash",
			header: `keyId="a\"b\\c",signature="` + sigB64 + `"`,
			want:   SignatureParams{KeyID: `a"b\c`, Headers: []string{"date"}, Signature: sig},
		},
		{
			name:   "unknown params ignored, token values",
			header: `foo=bar,keyId=k1,x-y="z,z",signature="` + sigB64 + `"`,
			want:   SignatureParams{KeyID: "k1", Headers: []string{"date"}, Signature: sig},
		},
		{
			name:   "header names lower-cased",
			header: `keyId="k",headers="(Request-Target) Host DATE Digest",signature="` + sigB64 + `"`,
			want:   SignatureParams{KeyID: "k", Headers: []string{"(request-target)", "host", "date", "digest"}, Signature: sig},
		},
		{
			name:   "created and expires",
			header: `keyId="k",created=1402170695,expires="1402170995",headers="(created) (expires) host",signature="` + sigB64 + `"`,
			want: SignatureParams{KeyID: "k", Headers: []string{"(created)", "(expires)", "host"},
				Signature: sig, Created: 1402170695, Expires: 1402170995},
		},
		{
			name:   "empty list elements",
			header: `,keyId="k",,signature="` + sigB64 + `",`,
			want:   SignatureParams{KeyID: "k", Headers: []string{"date"}, Signature: sig},
		},
		{
			name:   "unpadded base64",
			header: `keyId="k",signature="` + strings.TrimRight(sigB64, "=") + `"`,
			want:   SignatureParams{KeyID: "k", Headers: []string{"date"}, Signature: sig},
		},
		{name: "empty", header: "", wantErr: ErrUnsigned},
		{name: "blank", header: "  \t ", wantErr: ErrUnsigned},
		{name: "missing keyId", header: `signature="` + sigB64 + `"`, wantErr: ErrBadSignature, errText: "missing keyId"},
		{name: "empty keyId", header: `keyId="",signature="` + sigB64 + `"`, wantErr: ErrBadSignature, errText: "missing keyId"},
		{name: "keyId case matters", header: `keyid="k",signature="` + sigB64 + `"`, wantErr: ErrBadSignature, errText: "missing keyId"},
		{name: "missing signature", header: `keyId="k"`, wantErr: ErrBadSignature, errText: "missing signature"},
		{name: "empty signature", header: `keyId="k",signature=""`, wantErr: ErrBadSignature, errText: "missing signature"},
		{name: "undecodable signature", header: `keyId="k",signature="!!!not base64"`, wantErr: ErrBadSignature, errText: "base64"},
		{name: "RFC 9421", header: `sig1=:` + sigB64 + `:`, wantErr: ErrBadSignature, errText: "RFC 9421"},
		{name: "duplicate keyId", header: `keyId="a",keyId="b",signature="` + sigB64 + `"`, wantErr: ErrBadSignature, errText: "repeated"},
		{name: "duplicate unknown", header: `keyId="a",x=1,x=2,signature="` + sigB64 + `"`, wantErr: ErrBadSignature, errText: "repeated"},
		{name: "garbage", header: `hello world`, wantErr: ErrBadSignature},
		{name: "name only", header: `keyId`, wantErr: ErrBadSignature},
		{name: "no value", header: `keyId=,signature="` + sigB64 + `"`, wantErr: ErrBadSignature},
		{name: "unterminated quote", header: `keyId="k,signature="` + sigB64, wantErr: ErrBadSignature},
		{name: "missing comma", header: `keyId="k" signature="` + sigB64 + `"`, wantErr: ErrBadSignature},
		{name: "trailing backslash", header: `keyId="k\`, wantErr: ErrBadSignature},
		{name: "control character", header: "keyId=\"k\x00\",signature=\"" + sigB64 + "\"", wantErr: ErrBadSignature},
		{name: "bad header name", header: `keyId="k",headers="date,host",signature="` + sigB64 + `"`, wantErr: ErrBadSignature},
		{name: "empty headers", header: `keyId="k",headers="",signature="` + sigB64 + `"`, wantErr: ErrBadSignature},
		{name: "bad created", header: `keyId="k",created="soon",signature="` + sigB64 + `"`, wantErr: ErrBadSignature},
		{name: "negative expires", header: `keyId="k",expires=-5,signature="` + sigB64 + `"`, wantErr: ErrBadSignature},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := ParseSignatureHeader(tt.header)
			if tt.wantErr != nil {
				if !errors.Is(err, tt.wantErr) || !strings.Contains(fmt.Sprint(err), tt.errText) {
					t.Fatalf("ParseSignatureHeader(%q) error = %v, want %v containing %q", tt.header, err, tt.wantErr, tt.errText)
				}
				return
			}
			if err != nil {
				t.Fatalf("ParseSignatureHeader(%q): %v", tt.header, err)
			}
			if !reflect.DeepEqual(got, tt.want) {
				t.Errorf("ParseSignatureHeader(%q)\n got %+v\nwant %+v", tt.header, got, tt.want)
			}
			again, err := ParseSignatureHeader(formatSignatureHeader(got))
			if err != nil || !reflect.DeepEqual(again, got) {
				t.Errorf("re-parsing %q = %+v, %v; want %+v", formatSignatureHeader(got), again, err, got)
			}
		})
	}
}

func FuzzParseSignatureHeader(f *testing.F) {
	for _, seed := range []string{
		`keyId="https://a.example/users/x#main-key",algorithm="rsa-sha256",headers="(request-target) host date digest",signature="c2ln"`,
		`keyId="a\"b",signature="c2ln",created=1,expires="2"`,
		`sig1=:c2ln:`, `keyId`, `,,,`, `keyId="k",headers="",signature="c2ln"`, `keyId="k\`, "keyId=\"k\x01\"", "keyId=\"\\\x00\",signature=\"00\"",
	} {
		f.Add(seed)
	}
	f.Fuzz(func(t *testing.T, header string) {
		p, err := ParseSignatureHeader(header)
		if err != nil {
			if !errors.Is(err, ErrBadSignature) && !errors.Is(err, ErrUnsigned) {
				t.Fatalf("error %v wraps neither ErrBadSignature nor ErrUnsigned", err)
			}
			return
		}
		if p.KeyID == "" || len(p.Signature) == 0 || len(p.Headers) == 0 {
			t.Fatalf("accepted %q with incomplete params %+v", header, p)
		}
		again, err := ParseSignatureHeader(formatSignatureHeader(p))
		if err != nil || !reflect.DeepEqual(again, p) {
			t.Fatalf("round trip of %q: %+v, %v; want %+v", header, again, err, p)
		}
	})
}

// fakeSig builds a Signature header for structural checks: the signature
// bytes are not real, since Check never looks at them.
func fakeSig(headers string, extra ...string) string {
	parts := append([]string{`keyId="` + testKeyID + `"`, `algorithm="rsa-sha256"`}, extra...)
	return strings.Join(append(parts, `headers="`+headers+`"`, `signature="c2lnbmF0dXJl"`), ",")
}

func digestOf(body []byte) string {
	sum := sha256.Sum256(body)
	return "SHA-256=" + base64.StdEncoding.EncodeToString(sum[:])
}

func TestSigCheck(t *testing.T) {
	now := testNow()
	body := []byte(`{"type":"Create"}`)
	date := now.Format(http.TimeFormat)
	post := "(request-target) host date digest"
	type req struct {
		method string
		body   []byte
		header map[string]string
	}
	postReq := func(mod map[string]string) req {
		h := map[string]string{"Date": date, "Digest": digestOf(body), "Signature": fakeSig(post)}
		for k, v := range mod {
			h[k] = v
		}
		return req{method: http.MethodPost, body: body, header: h}
	}
	tests := []struct {
		name    string
		req     req
		wantErr error
		errText string
	}{
		{name: "mastodon POST", req: postReq(nil)},
		{name: "GET", req: req{method: http.MethodGet, header: map[string]string{"Date": date, "Signature": fakeSig("(request-target) host date accept")}}},
		{name: "hs2019", req: postReq(map[string]string{"Signature": strings.Replace(fakeSig(post), "rsa-sha256", "hs2019", 1)})},
		{name: "algorithm absent", req: postReq(map[string]string{"Signature": strings.Replace(fakeSig(post), `algorithm="rsa-sha256",`, "", 1)})},
		{name: "algorithm upper-case", req: postReq(map[string]string{"Signature": strings.Replace(fakeSig(post), "rsa-sha256", "RSA-SHA256", 1)})},
		{name: "hmac refused", req: postReq(map[string]string{"Signature": strings.Replace(fakeSig(post), "rsa-sha256", "hmac-sha256", 1)}), wantErr: ErrBadSignature, errText: "algorithm"},
		{name: "ed25519 refused", req: postReq(map[string]string{"Signature": strings.Replace(fakeSig(post), "rsa-sha256", "ed25519", 1)}), wantErr: ErrBadSignature, errText: "algorithm"},
		{name: "unsigned", req: req{method: http.MethodPost, body: body, header: map[string]string{"Date": date}}, wantErr: ErrUnsigned},
		{name: "RFC 9421", req: postReq(map[string]string{"Signature": "sig1=:c2ln:", "Signature-Input": `sig1=("@method");keyid="k"`}), wantErr: ErrBadSignature, errText: "RFC 9421"},
		{name: "host unsigned", req: postReq(map[string]string{"Signature": fakeSig("(request-target) date digest")}), wantErr: ErrBadSignature, errText: "host"},
		{name: "date unsigned", req: postReq(map[string]string{"Signature": fakeSig("(request-target) host digest")}), wantErr: ErrBadSignature, errText: "date"},
		{name: "target and digest unsigned", req: req{method: http.MethodGet, header: map[string]string{"Date": date, "Signature": fakeSig("host date")}}, wantErr: ErrBadSignature, errText: "request-target"},
		{name: "default headers are only date", req: req{method: http.MethodGet, header: map[string]string{"Date": date, "Signature": `keyId="k",signature="c2ln"`}}, wantErr: ErrBadSignature},
		{name: "POST digest unsigned", req: postReq(map[string]string{"Signature": fakeSig("(request-target) host date")}), wantErr: ErrBadSignature, errText: "digest"},
		{name: "digest without target is enough", req: postReq(map[string]string{"Signature": fakeSig("host date digest")})},
		{name: "date an hour old", req: postReq(map[string]string{"Date": now.Add(-time.Hour).Format(http.TimeFormat)})},
		{name: "date too old", req: postReq(map[string]string{"Date": now.Add(-time.Hour - time.Second).Format(http.TimeFormat)}), wantErr: ErrBadSignature, errText: "Date"},
		{name: "date in the future", req: postReq(map[string]string{"Date": now.Add(61 * time.Minute).Format(http.TimeFormat)}), wantErr: ErrBadSignature, errText: "Date"},
		{name: "date unparsable", req: postReq(map[string]string{"Date": "yesterday"}), wantErr: ErrBadSignature, errText: "Date"},
		{name: "date missing", req: postReq(map[string]string{"Date": ""}), wantErr: ErrBadSignature, errText: "Date"},
		{name: "date RFC 850", req: postReq(map[string]string{"Date": now.Format(time.RFC850)})},
		{name: "created instead of date", req: postReq(map[string]string{"Date": "", "Signature": fakeSig("(request-target) host (created) digest", fmt.Sprintf("created=%d", now.Unix()))})},
		{name: "created stale", req: postReq(map[string]string{"Signature": fakeSig("(request-target) host (created) digest", fmt.Sprintf("created=%d", now.Add(-2*time.Hour).Unix()))}), wantErr: ErrBadSignature, errText: "created"},
		{name: "created missing", req: postReq(map[string]string{"Signature": fakeSig("(request-target) host (created) digest")}), wantErr: ErrBadSignature, errText: "created"},
		{name: "expired", req: postReq(map[string]string{"Signature": fakeSig(post, fmt.Sprintf("expires=%d", now.Add(-time.Second).Unix()))}), wantErr: ErrBadSignature, errText: "expired"},
		{name: "digest mismatch", req: postReq(map[string]string{"Digest": digestOf([]byte("other"))}), wantErr: ErrBadSignature, errText: "does not match"},
		{name: "digest missing", req: postReq(map[string]string{"Digest": ""}), wantErr: ErrBadSignature, errText: "SHA-256"},
		{name: "digest only SHA-512", req: postReq(map[string]string{"Digest": "SHA-512=abc"}), wantErr: ErrBadSignature, errText: "SHA-256"},
		{name: "digest lower-case prefix", req: postReq(map[string]string{"Digest": strings.Replace(digestOf(body), "SHA-256", "sha-256", 1)})},
		{name: "digest among others", req: postReq(map[string]string{"Digest": "SHA-512=abc, " + digestOf(body) + ",MD5=xyz"})},
		{name: "digest right and wrong", req: postReq(map[string]string{"Digest": digestOf(body) + "," + digestOf([]byte("x"))}), wantErr: ErrBadSignature, errText: "does not match"},
		{name: "GET with a body must sign digest", req: req{method: http.MethodGet, body: body, header: map[string]string{"Date": date, "Signature": fakeSig("(request-target) host date")}}, wantErr: ErrBadSignature, errText: "digest"},
	}
	checker := SignatureChecker{Now: testNow}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := httptest.NewRequest(tt.req.method, "https://local.example/inbox", bytes.NewReader(tt.req.body))
			for k, v := range tt.req.header {
				if v != "" {
					r.Header.Set(k, v)
				}
			}
			p, err := checker.Check(r, tt.req.body)
			if tt.wantErr != nil {
				if !errors.Is(err, tt.wantErr) || !strings.Contains(fmt.Sprint(err), tt.errText) {
					t.Fatalf("Check error = %v, want %v containing %q", err, tt.wantErr, tt.errText)
				}
				return
			}
			if err != nil {
				t.Fatalf("Check: %v", err)
			}
			if got, want := p.KeyID, testKeyID; got != want {
				t.Errorf("KeyID = %q, want %q", got, want)
			}
		})
	}
}

func TestSigCheckDefaults(t *testing.T) {
	r := httptest.NewRequest(http.MethodGet, "https://local.example/users/bob", nil)
	r.Header.Set("Signature", fakeSig("(request-target) host date"))
	r.Header.Set("Date", time.Now().Add(-50*time.Minute).Format(http.TimeFormat))
	if _, err := (SignatureChecker{}).Check(r, nil); err != nil {
		t.Errorf("zero SignatureChecker refused a 50-minute-old date: %v", err)
	}
	r.Header.Set("Date", time.Now().Add(-70*time.Minute).Format(http.TimeFormat))
	if _, err := (SignatureChecker{}).Check(r, nil); !errors.Is(err, ErrBadSignature) {
		t.Errorf("zero SignatureChecker accepted a 70-minute-old date: %v", err)
	}
	strict := SignatureChecker{MaxSkew: 30 * time.Second}
	r.Header.Set("Date", time.Now().Add(-time.Minute).Format(http.TimeFormat))
	if _, err := strict.Check(r, nil); !errors.Is(err, ErrBadSignature) {
		t.Errorf("MaxSkew 30s accepted a minute-old date: %v", err)
	}
}

// verifyingServer is a real HTTP server that checks and verifies each
// request against pub, answering 200 or 401 with the error.
func verifyingServer(t *testing.T, pub any) *httptest.Server {
	t.Helper()
	checker := SignatureChecker{Now: testNow}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, err := ReadBody(r.Body, DefaultMaxBodyBytes)
		if err != nil {
			http.Error(w, err.Error(), http.StatusRequestEntityTooLarge)
			return
		}
		if _, err := checker.Check(r, body); err != nil {
			http.Error(w, err.Error(), http.StatusUnauthorized)
			return
		}
		if err := VerifySignature(r, pub); err != nil {
			http.Error(w, err.Error(), http.StatusUnauthorized)
			return
		}
		if _, ok := r.Header["Host"]; ok {
			http.Error(w, "VerifySignature modified the request's headers", http.StatusInternalServerError)
			return
		}
		fmt.Fprint(w, "ok")
	}))
	t.Cleanup(srv.Close)
	return srv
}

// send performs req and returns the status and body.
func send(t *testing.T, req *http.Request) (int, string) {
	t.Helper()
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatalf("%s %s: %v", req.Method, req.URL, err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, strings.TrimSpace(string(b))
}

func TestSigVerifyOverHTTP(t *testing.T) {
	key := testRSAKey(t)
	other := testRSAKey(t)
	srv := verifyingServer(t, &key.PublicKey)
	body := []byte(`{"type":"Follow","actor":"https://remote.example/users/alice"}`)

	newReq := func(t *testing.T, method, target string, body []byte) *http.Request {
		t.Helper()
		var rd io.Reader
		if body != nil {
			rd = bytes.NewReader(body)
		}
		req, err := http.NewRequest(method, srv.URL+target, rd)
		if err != nil {
			t.Fatal(err)
		}
		return req
	}
	tests := []struct {
		name   string
		method string
		target string
		body   []byte
		key    *rsa.PrivateKey
		tamper func(r *http.Request)
		ok     bool
	}{
		{name: "POST", method: http.MethodPost, target: "/users/bob/inbox", body: body, key: key, ok: true},
		{name: "GET", method: http.MethodGet, target: "/users/bob", key: key, ok: true},
		{name: "GET with query", method: http.MethodGet, target: "/users/bob/outbox?page=true&min_id=0", key: key, ok: true},
		{name: "escaped path", method: http.MethodGet, target: "/tags/caf%C3%A9%2Fx", key: key, ok: true},
		{name: "empty POST body", method: http.MethodPost, target: "/inbox", body: []byte{}, key: key, ok: true},
		{name: "wrong key", method: http.MethodPost, target: "/inbox", body: body, key: other},
		{name: "other path", method: http.MethodPost, target: "/inbox", body: body, key: key,
			tamper: func(r *http.Request) { r.URL.Path = "/users/bob/inbox" }},
		{name: "other host", method: http.MethodGet, target: "/users/bob", key: key,
			tamper: func(r *http.Request) { r.Host = "evil.example" }},
		{name: "other date", method: http.MethodGet, target: "/users/bob", key: key,
			tamper: func(r *http.Request) { r.Header.Set("Date", testNow().Add(time.Second).Format(http.TimeFormat)) }},
		{name: "other method", method: http.MethodGet, target: "/users/bob", key: key,
			tamper: func(r *http.Request) { r.Method = http.MethodHead }},
		{name: "other body, same digest", method: http.MethodPost, target: "/inbox", body: body, key: key,
			tamper: func(r *http.Request) {
				r.Body = io.NopCloser(strings.NewReader(`{"type":"Delete"}`))
				r.ContentLength = -1
			}},
		{name: "other body, its own digest", method: http.MethodPost, target: "/inbox", body: body, key: key,
			tamper: func(r *http.Request) {
				r.Body = io.NopCloser(strings.NewReader(`{"type":"Delete"}`))
				r.ContentLength = -1
				r.Header.Set("Digest", digestOf([]byte(`{"type":"Delete"}`)))
			}},
		{name: "spaces after commas", method: http.MethodPost, target: "/inbox", body: body, key: key, ok: true,
			tamper: func(r *http.Request) {
				r.Header.Set("Signature", strings.ReplaceAll(r.Header.Get("Signature"), `",`, `", `))
			}},
		{name: "query added after signing", method: http.MethodGet, target: "/users/bob", key: key,
			tamper: func(r *http.Request) { r.URL.RawQuery = "x=1" }, ok: true}, // old Mastodon signs without the query
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			req := newReq(t, tt.method, tt.target, tt.body)
			if err := SignRequest(req, tt.body, testKeyID, tt.key, testNow()); err != nil {
				t.Fatalf("SignRequest: %v", err)
			}
			if tt.tamper != nil {
				tt.tamper(req)
			}
			status, msg := send(t, req)
			if got := status == http.StatusOK; got != tt.ok {
				t.Errorf("status %d (%s), want success: %v", status, msg, tt.ok)
			}
		})
	}
}

func TestSigSignRequestHeaders(t *testing.T) {
	key := testRSAKey(t)
	body := []byte(`{}`)
	req, err := http.NewRequest(http.MethodPost, "https://remote.example/users/alice/inbox", bytes.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	if err := SignRequest(req, body, testKeyID, key, testNow().In(time.FixedZone("CET", 3600))); err != nil {
		t.Fatal(err)
	}
	if got, want := req.Header.Get("Date"), "Fri, 14 Mar 2025 15:09:26 GMT"; got != want {
		t.Errorf("Date = %q, want %q", got, want)
	}
	if got, want := req.Host, "remote.example"; got != want {
		t.Errorf("Host = %q, want %q", got, want)
	}
	if got, want := req.Header.Get("Digest"), digestOf(body); got != want {
		t.Errorf("Digest = %q, want %q", got, want)
	}
	p, err := ParseSignatureHeader(req.Header.Get("Signature"))
	if err != nil {
		t.Fatal(err)
	}
	if got, want := strings.Join(p.Headers, " "), "(request-target) host date digest"; got != want {
		t.Errorf("signed headers = %q, want %q", got, want)
	}
	if got, want := p.Algorithm, "rsa-sha256"; got != want {
		t.Errorf("algorithm = %q, want %q", got, want)
	}
	if got, want := p.KeyID, testKeyID; got != want {
		t.Errorf("keyId = %q, want %q", got, want)
	}
	if !strings.HasPrefix(req.Header.Get("Signature"), `keyId="`+testKeyID+`",algorithm="rsa-sha256",headers="(request-target) host date digest",signature="`) {
		t.Errorf("Signature header not in Mastodon's layout: %s", req.Header.Get("Signature"))
	}

	get, err := http.NewRequest(http.MethodGet, "https://remote.example/users/alice", nil)
	if err != nil {
		t.Fatal(err)
	}
	if err := SignRequest(get, nil, testKeyID, key, testNow()); err != nil {
		t.Fatal(err)
	}
	if get.Header.Get("Digest") != "" {
		t.Errorf("GET got a Digest header")
	}
	if p, err := ParseSignatureHeader(get.Header.Get("Signature")); err != nil || strings.Join(p.Headers, " ") != "(request-target) host date" {
		t.Errorf("GET signed headers = %v, %v; want (request-target) host date", p.Headers, err)
	}
	if err := SignRequest(get, nil, testKeyID, nil, testNow()); err == nil {
		t.Errorf("SignRequest without a key succeeded")
	}
}

// TestSigInteropGoFed checks both directions against go-fed/httpsig as
// GoToSocial uses it: its signer (algorithm "hs2019") against our verifier,
// and our signer against its verifier.
func TestSigInteropGoFed(t *testing.T) {
	key := testRSAKey(t)
	body := []byte(`{"type":"Like"}`)
	srv := verifyingServer(t, &key.PublicKey)
	signer, _, err := httpsig.NewSigner([]httpsig.Algorithm{httpsig.RSA_SHA256}, httpsig.DigestSha256,
		[]string{httpsig.RequestTarget, "host", "date", "digest"}, httpsig.Signature, 0)
	if err != nil {
		t.Fatal(err)
	}
	req, err := http.NewRequest(http.MethodPost, srv.URL+"/users/bob/inbox", bytes.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Date", testNow().Format(http.TimeFormat))
	req.Header.Set("Host", req.URL.Host) // go-fed signs the Host header, so GoToSocial sets it
	if err := signer.SignRequest(key, "https://remote.example/users/alice/main-key", req, body); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(req.Header.Get("Signature"), `algorithm="hs2019"`) {
		t.Fatalf("go-fed signature is not hs2019: %s", req.Header.Get("Signature"))
	}
	if status, msg := send(t, req); status != http.StatusOK {
		t.Errorf("go-fed signed request refused: %d %s", status, msg)
	}

	ours := httptest.NewRequest(http.MethodPost, "https://local.example/users/bob/inbox", bytes.NewReader(body))
	if err := SignRequest(ours, body, testKeyID, key, time.Now()); err != nil {
		t.Fatal(err)
	}
	ours.Header.Set("Host", ours.Host)
	v, err := httpsig.NewVerifier(ours)
	if err != nil {
		t.Fatal(err)
	}
	if err := v.Verify(&key.PublicKey, httpsig.RSA_SHA256); err != nil {
		t.Errorf("go-fed refused our signature: %v", err)
	}
}

func TestSigVerifyRefusals(t *testing.T) {
	key := testRSAKey(t)
	edPub, _, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	signed := func() *http.Request {
		r := httptest.NewRequest(http.MethodGet, "https://local.example/users/bob", nil)
		if err := SignRequest(r, nil, testKeyID, key, testNow()); err != nil {
			t.Fatal(err)
		}
		return r
	}
	tests := []struct {
		name    string
		req     func() *http.Request
		pub     any
		wantErr error
	}{
		{name: "valid", req: signed, pub: &key.PublicKey},
		{name: "unsigned", req: func() *http.Request { return httptest.NewRequest(http.MethodGet, "/", nil) }, pub: &key.PublicKey, wantErr: ErrUnsigned},
		{name: "ed25519 key", req: signed, pub: edPub, wantErr: ErrBadSignature},
		{name: "nil key", req: signed, pub: nil, wantErr: ErrBadSignature},
		{name: "hmac algorithm", req: func() *http.Request {
			r := signed()
			r.Header.Set("Signature", strings.Replace(r.Header.Get("Signature"), "rsa-sha256", "hmac-sha256", 1))
			return r
		}, pub: &key.PublicKey, wantErr: ErrBadSignature},
		{name: "hs2019 algorithm", req: func() *http.Request {
			r := signed()
			r.Header.Set("Signature", strings.Replace(r.Header.Get("Signature"), "rsa-sha256", "hs2019", 1))
			return r
		}, pub: &key.PublicKey},
		{name: "two signatures", req: func() *http.Request {
			r := signed()
			r.Header.Add("Signature", r.Header.Get("Signature"))
			return r
		}, pub: &key.PublicKey, wantErr: ErrBadSignature},
		{name: "signed header missing", req: func() *http.Request {
			r := signed()
			r.Header.Del("Date")
			return r
		}, pub: &key.PublicKey, wantErr: ErrBadSignature},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := VerifySignature(tt.req(), tt.pub)
			if !errors.Is(err, tt.wantErr) || (tt.wantErr == nil) != (err == nil) {
				t.Errorf("VerifySignature = %v, want %v", err, tt.wantErr)
			}
		})
	}
}

func BenchmarkSignRequest(b *testing.B) {
	key := testRSAKey(b)
	body := bytes.Repeat([]byte("x"), 2048)
	for b.Loop() {
		req, err := http.NewRequest(http.MethodPost, "https://remote.example/users/alice/inbox", bytes.NewReader(body))
		if err != nil {
			b.Fatal(err)
		}
		if err := SignRequest(req, body, testKeyID, key, testNow()); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkVerifySignature(b *testing.B) {
	key := testRSAKey(b)
	body := bytes.Repeat([]byte("x"), 2048)
	r := httptest.NewRequest(http.MethodPost, "https://local.example/inbox", bytes.NewReader(body))
	if err := SignRequest(r, body, testKeyID, key, testNow()); err != nil {
		b.Fatal(err)
	}
	checker := SignatureChecker{Now: testNow}
	for b.Loop() {
		if _, err := checker.Check(r, body); err != nil {
			b.Fatal(err)
		}
		if err := VerifySignature(r, &key.PublicKey); err != nil {
			b.Fatal(err)
		}
	}
}

// localInstance is a minimal "us" for the cross-check with fedtest: one actor
// (whose GET requires a valid signature, as in secure mode) and an inbox,
// both verified with SignatureChecker and VerifySignature.
type localInstance struct {
	srv     *httptest.Server
	actorID string
	key     *rsa.PrivateKey
	client  *http.Client
}

func newLocalInstance(t *testing.T) *localInstance {
	t.Helper()
	privPEM, pubPEM, err := GenerateKeyPEM()
	if err != nil {
		t.Fatal(err)
	}
	key, err := ParsePrivateKeyPEM(privPEM)
	if err != nil {
		t.Fatal(err)
	}
	li := &localInstance{key: key, client: NewHTTPClient(ClientOptions{AllowHTTP: true, AllowPrivateNetworks: true})}
	mux := http.NewServeMux()
	mux.HandleFunc("GET /users/alice", func(w http.ResponseWriter, r *http.Request) {
		if _, err := li.verify(r, nil); err != nil {
			http.Error(w, err.Error(), http.StatusUnauthorized)
			return
		}
		w.Header().Set("Content-Type", "application/activity+json")
		_ = json.NewEncoder(w).Encode(map[string]any{
			"id": li.actorID, "type": "Person", "inbox": li.actorID + "/inbox",
			"publicKey": map[string]any{"id": li.actorID + "#main-key", "owner": li.actorID, "publicKeyPem": pubPEM},
		})
	})
	mux.HandleFunc("POST /inbox", func(w http.ResponseWriter, r *http.Request) {
		body, err := ReadBody(r.Body, 0)
		if err != nil {
			http.Error(w, err.Error(), http.StatusRequestEntityTooLarge)
			return
		}
		owner, err := li.verify(r, body)
		var activity struct{ Actor string }
		if err == nil {
			err = json.Unmarshal(body, &activity)
		}
		if err == nil && activity.Actor != owner {
			err = fmt.Errorf("signed by %s for actor %s", owner, activity.Actor)
		}
		if err != nil {
			http.Error(w, err.Error(), http.StatusUnauthorized)
			return
		}
		w.WriteHeader(http.StatusAccepted)
	})
	li.srv = httptest.NewServer(mux)
	t.Cleanup(li.srv.Close)
	li.actorID = li.srv.URL + "/users/alice"
	return li
}

// verify checks r's signature, fetching the signer's key document, and
// returns the key's owner.
func (li *localInstance) verify(r *http.Request, body []byte) (string, error) {
	p, err := SignatureChecker{}.Check(r, body)
	if err != nil {
		return "", err
	}
	u, err := CheckURL(p.KeyID, true)
	if err != nil {
		return "", err
	}
	u.Fragment = ""
	resp, err := li.client.Get(u.String())
	if err != nil {
		return "", err
	}
	defer resp.Body.Close()
	var doc struct {
		PublicKey struct{ ID, Owner, PublicKeyPem string }
	}
	if err := json.NewDecoder(resp.Body).Decode(&doc); err != nil {
		return "", fmt.Errorf("key document %s: %w", u, err)
	}
	if doc.PublicKey.ID != p.KeyID {
		return "", fmt.Errorf("%s does not hold key %s", u, p.KeyID)
	}
	pub, err := ParsePublicKeyPEM(doc.PublicKey.PublicKeyPem)
	if err != nil {
		return "", err
	}
	return doc.PublicKey.Owner, VerifySignature(r, pub)
}

// TestSigCrossCheckFedtest checks our signer against fedtest's independent
// strict verifier, and fedtest's Mastodon-, GoToSocial- and Mobilizon-style
// signers against ours.
func TestSigCrossCheckFedtest(t *testing.T) {
	li := newLocalInstance(t)
	key := testRSAKey(t)
	remotes := map[string]*fedtest.Remote{
		"mastodon":   fedtest.NewRemote(t, "bob", fedtest.WithKey(key)),
		"gotosocial": fedtest.NewRemote(t, "gts", fedtest.WithKey(key), fedtest.WithGoToSocialKeys()),
		"mobilizon":  fedtest.NewRemote(t, "mob", fedtest.WithKey(key), fedtest.WithPKCS1Key()),
	}
	ctx := context.Background()
	for name, rm := range remotes {
		t.Run(name, func(t *testing.T) {
			for _, inbox := range []string{rm.InboxURL, rm.SharedInboxURL} {
				body := []byte(`{"type":"Follow","actor":"` + li.actorID + `","object":"` + rm.ActorID + `"}`)
				req, err := http.NewRequestWithContext(ctx, http.MethodPost, inbox, bytes.NewReader(body))
				if err != nil {
					t.Fatal(err)
				}
				req.Header.Set("Content-Type", "application/activity+json")
				if err := SignRequest(req, body, li.actorID+"#main-key", li.key, time.Now()); err != nil {
					t.Fatal(err)
				}
				if status, msg := send(t, req); status != http.StatusAccepted {
					t.Errorf("our POST to %s: %d %s", inbox, status, msg)
				}
			}
			rm.WaitFor(t, func(r []fedtest.Received) bool { return len(r) == 2 }, 5*time.Second)
			if refused := rm.Refused(); len(refused) != 0 {
				t.Errorf("fedtest refused our requests: %q", refused)
			}

			resp, err := rm.Post(ctx, li.srv.URL+"/inbox", map[string]any{"type": "Follow", "actor": rm.ActorID, "object": li.actorID})
			if err != nil {
				t.Fatal(err)
			}
			msg, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			if resp.StatusCode != http.StatusAccepted {
				t.Errorf("fedtest's POST to our inbox: %d %s", resp.StatusCode, msg)
			}
		})
	}

	rm := remotes["mastodon"]
	body := []byte(`{"type":"Follow","actor":"` + rm.ActorID + `"}`)
	variants := []struct {
		name string
		opts fedtest.SignOpts
		ok   bool
	}{
		{name: "(created) instead of date", ok: true,
			opts: fedtest.SignOpts{Headers: []string{"(request-target)", "host", "(created)", "digest"}}},
		{name: "content-type signed too", ok: true,
			opts: fedtest.SignOpts{Headers: []string{"(request-target)", "host", "date", "digest", "content-type"}}},
		{name: "hs2019", ok: true, opts: fedtest.SignOpts{Algorithm: "hs2019"}},
		{name: "wrong key", opts: fedtest.SignOpts{Key: li.key}},
		{name: "stale", opts: fedtest.SignOpts{Date: time.Now().Add(-2 * time.Hour)}},
		{name: "forged digest", opts: fedtest.SignOpts{Digest: "SHA-256=" + base64.StdEncoding.EncodeToString(make([]byte, 32))}},
	}
	for _, tt := range variants {
		t.Run(tt.name, func(t *testing.T) {
			resp, err := rm.PostWith(ctx, li.srv.URL+"/inbox", body, tt.opts)
			if err != nil {
				t.Fatal(err)
			}
			msg, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			if got := resp.StatusCode == http.StatusAccepted; got != tt.ok {
				t.Errorf("status %d (%s), want accepted: %v", resp.StatusCode, msg, tt.ok)
			}
		})
	}
}
