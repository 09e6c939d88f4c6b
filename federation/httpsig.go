package federation

import (
	"crypto"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"encoding/base64"
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/go-fed/httpsig"
)

// This file implements draft-cavage HTTP Signatures as the fediverse uses
// them, verified as strictly as Mastodon verifies them. RFC 9421 signatures
// are refused with a 401-class error; peers that send them fall back to
// draft-cavage when refused.

const (
	// ErrUnsigned reports a request with no Signature header. On an inbox it
	// means 401; on a public GET the caller may serve anyway.
	ErrUnsigned = federationError("federation: request is not signed")

	// ErrBadSignature reports a signature that is malformed, too weak, stale,
	// over the wrong body, or cryptographically invalid. Every such failure
	// wraps it, so the HTTP layer needs one errors.Is to answer 401.
	ErrBadSignature = federationError("federation: bad HTTP signature")
)

// DefaultMaxSkew is how far a signed Date may be from our clock, either way,
// when SignatureChecker.MaxSkew is zero. It bounds replay of a captured
// request while tolerating the clock drift seen between real servers.
const DefaultMaxSkew = time.Hour

// Signature algorithms accepted in the algorithm parameter. hs2019 hides the
// real algorithm; for an RSA key it means RSA-SHA256 in practice
// (GoToSocial and go-fed send it).
const (
	algRSASHA256 = "rsa-sha256"
	algHS2019    = "hs2019"
)

// Pseudo-headers of draft-cavage.
const (
	pseudoRequestTarget = "(request-target)"
	pseudoCreated       = "(created)"
	pseudoExpires       = "(expires)"
)

// SignatureParams is a parsed draft-cavage Signature header. Header names are
// lower-case; Headers is ["date"] when the header omitted the list, as the
// draft specifies.
type SignatureParams struct {
	KeyID     string
	Algorithm string
	Headers   []string
	Signature []byte
	Created   int64
	Expires   int64
}

// has reports whether name (lower-case) is among the signed headers.
func (p SignatureParams) has(name string) bool { return slices.Contains(p.Headers, name) }

// SignatureChecker performs Mastodon's structural checks on an incoming
// signed request: everything that can be refused before the signer's key is
// fetched, so a malformed or replayed request costs us no outgoing request.
// The zero value is ready to use.
type SignatureChecker struct {
	// Now is the clock; nil means time.Now. Tests set it.
	Now func() time.Time
	// MaxSkew bounds |Date − Now|; zero means DefaultMaxSkew.
	MaxSkew time.Duration
}

// Check parses r's Signature header and refuses signatures Mastodon would
// refuse: RFC 9421 signatures, unknown algorithms, signatures that do not
// cover host, date (or (created)), and (request-target) or digest, bodies
// whose digest is unsigned, stale or future dates, and a Digest that does
// not match body (which the caller has already read, bounded). On success it
// returns the parameters so the caller can fetch the key named by KeyID and
// call VerifySignature. Errors wrap ErrUnsigned or ErrBadSignature.
func (c SignatureChecker) Check(r *http.Request, body []byte) (SignatureParams, error) {
	p, err := signatureFromRequest(r)
	if err == nil {
		err = checkAlgorithm(p.Algorithm)
	}
	if err == nil {
		err = checkSignedHeaders(p, r.Method, body)
	}
	if err == nil {
		err = c.checkTime(r, p)
	}
	if err == nil && (p.has("digest") || len(body) > 0) {
		err = checkDigest(r.Header.Values("Digest"), body)
	}
	if err != nil {
		return SignatureParams{}, fmt.Errorf("check signature: %w", err)
	}
	return p, nil
}

// signatureFromRequest finds and parses the one Signature header of r.
func signatureFromRequest(r *http.Request) (SignatureParams, error) {
	values := r.Header.Values("Signature")
	switch {
	case len(values) == 0:
		return SignatureParams{}, ErrUnsigned
	case len(values) > 1:
		return SignatureParams{}, fmt.Errorf("%w: %d Signature headers", ErrBadSignature, len(values))
	}
	p, err := ParseSignatureHeader(values[0])
	if err != nil && r.Header.Get("Signature-Input") != "" {
		return SignatureParams{}, fmt.Errorf("%w: RFC 9421 signatures are not supported, sign with draft-cavage: %w", ErrBadSignature, err)
	}
	return p, err
}

// checkAlgorithm accepts what Mastodon accepts: no algorithm, rsa-sha256,
// or hs2019. Anything else (hmac-sha256, ed25519, …) is refused rather
// than verified as something it is not.
func checkAlgorithm(alg string) error {
	switch strings.ToLower(alg) {
	case "", algRSASHA256, algHS2019:
		return nil
	}
	return fmt.Errorf("%w: unsupported algorithm %q", ErrBadSignature, alg)
}

// checkSignedHeaders enforces Mastodon's minimum coverage. Without host a
// signature can be replayed to another server; without date or (created) it
// can be replayed forever; without (request-target) or digest it can be
// replayed to another endpoint; and a body whose digest is unsigned can be
// swapped.
func checkSignedHeaders(p SignatureParams, method string, body []byte) error {
	if !p.has("host") {
		return fmt.Errorf("%w: host is not signed", ErrBadSignature)
	}
	if !p.has("date") && !p.has(pseudoCreated) {
		return fmt.Errorf("%w: neither date nor (created) is signed", ErrBadSignature)
	}
	if !p.has(pseudoRequestTarget) && !p.has("digest") {
		return fmt.Errorf("%w: neither (request-target) nor digest is signed", ErrBadSignature)
	}
	if hasBody(method, body) && !p.has("digest") {
		return fmt.Errorf("%w: %s with a body must sign digest", ErrBadSignature, method)
	}
	return nil
}

// hasBody reports whether a request carries, or is meant to carry, a body
// that the signature must cover.
func hasBody(method string, body []byte) bool {
	switch method {
	case http.MethodPost, http.MethodPut, http.MethodPatch:
		return true
	}
	return len(body) > 0
}

// checkTime bounds the signature's age both ways, by the Date header and/or
// the (created) and expires parameters, whichever are signed.
func (c SignatureChecker) checkTime(r *http.Request, p SignatureParams) error {
	now := time.Now()
	if c.Now != nil {
		now = c.Now()
	}
	skew := c.MaxSkew
	if skew <= 0 {
		skew = DefaultMaxSkew
	}
	if p.has("date") {
		d := r.Header.Get("Date")
		t, err := http.ParseTime(d)
		if err != nil {
			return fmt.Errorf("%w: unparsable Date %q", ErrBadSignature, d)
		}
		if err := withinSkew("Date", t, now, skew); err != nil {
			return err
		}
	}
	if p.has(pseudoCreated) {
		if p.Created == 0 {
			return fmt.Errorf("%w: (created) is signed but the created parameter is missing", ErrBadSignature)
		}
		if err := withinSkew("created", time.Unix(p.Created, 0), now, skew); err != nil {
			return err
		}
	}
	if p.has(pseudoExpires) && p.Expires == 0 {
		return fmt.Errorf("%w: (expires) is signed but the expires parameter is missing", ErrBadSignature)
	}
	if p.Expires != 0 && now.Unix() > p.Expires {
		return fmt.Errorf("%w: signature expired at %s", ErrBadSignature, time.Unix(p.Expires, 0).UTC().Format(time.RFC3339))
	}
	return nil
}

// withinSkew refuses a timestamp more than skew away from now.
func withinSkew(what string, t, now time.Time, skew time.Duration) error {
	if d := now.Sub(t); d > skew || d < -skew {
		return fmt.Errorf("%w: %s %s is more than %s from now (%s)", ErrBadSignature,
			what, t.UTC().Format(time.RFC3339), skew, now.UTC().Format(time.RFC3339))
	}
	return nil
}

// checkDigest requires an RFC 3230 Digest with a SHA-256 entry matching body.
// Entries may be spread over several comma-separated values; other
// algorithms are ignored, as Mastodon ignores them; every SHA-256 entry
// must match, so a header cannot offer one right and one wrong digest.
func checkDigest(values []string, body []byte) error {
	sum := sha256.Sum256(body)
	want := base64.StdEncoding.EncodeToString(sum[:])
	found := false
	for _, v := range values {
		for entry := range strings.SplitSeq(v, ",") {
			alg, val, ok := strings.Cut(strings.TrimSpace(entry), "=")
			if !ok || !strings.EqualFold(strings.TrimSpace(alg), "SHA-256") {
				continue
			}
			if got := strings.TrimSpace(val); got != want {
				return fmt.Errorf("%w: Digest SHA-256=%s does not match the body (SHA-256=%s)", ErrBadSignature, got, want)
			}
			found = true
		}
	}
	if !found {
		return fmt.Errorf("%w: Digest header has no SHA-256 entry", ErrBadSignature)
	}
	return nil
}

// VerifySignature checks r's draft-cavage signature against pub, an
// *rsa.PublicKey (RSA PKCS#1 v1.5 with SHA-256; hs2019 is treated as
// rsa-sha256, as every RSA signer means it), using go-fed/httpsig for the
// signing string and the crypto. Call it after SignatureChecker.Check and
// fetching the key named by its KeyID: Check covers freshness and the
// digest, VerifySignature covers authenticity. The host signed is compared
// with r.Host, where Go's server puts the Host header, and the request
// target with the path as the client sent it, still escaped. A request with
// a query string is also accepted when signed without it, as older
// Mastodon versions sign. Errors wrap ErrUnsigned or ErrBadSignature.
func VerifySignature(r *http.Request, pub crypto.PublicKey) error {
	key, ok := pub.(*rsa.PublicKey)
	if !ok {
		return fmt.Errorf("verify signature: %w: key type %T is not supported", ErrBadSignature, pub)
	}
	p, err := signatureFromRequest(r)
	if err != nil {
		return fmt.Errorf("verify signature: %w", err)
	}
	if err := checkAlgorithm(p.Algorithm); err != nil {
		return fmt.Errorf("verify signature: %w", err)
	}
	if r.URL == nil {
		return fmt.Errorf("verify signature: %w: request has no URL", ErrBadSignature)
	}
	err = verifyCanonical(r, p, key, true)
	if err != nil && r.URL.RawQuery != "" && verifyCanonical(r, p, key, false) == nil {
		return nil
	}
	if err != nil {
		return fmt.Errorf("verify signature with key %s: %w: %w", p.KeyID, ErrBadSignature, err)
	}
	return nil
}

// verifyCanonical hands go-fed/httpsig a copy of r that it cannot
// misread: a Signature header re-serialized from our strict parse (go-fed's
// own parser splits on every comma and ignores parameters after a space, so
// it could verify different headers than Check checked), the Host header
// set from r.Host, and the raw path. r itself is not modified.
func verifyCanonical(r *http.Request, p SignatureParams, key *rsa.PublicKey, withQuery bool) error {
	host := r.Host
	if host == "" {
		host = r.URL.Host
	}
	h := r.Header.Clone()
	h.Del("Authorization") // go-fed refuses signature parameters in both.
	h["Host"] = []string{host}
	canonical := p
	canonical.KeyID = "k" // only we resolve the key; keep odd keyIds away from go-fed's parser
	canonical.Algorithm = ""
	h.Set("Signature", formatSignatureHeader(canonical))

	u := &url.URL{Path: r.URL.EscapedPath()}
	if u.Path == "" {
		u.Path = "/"
	}
	if withQuery {
		u.RawQuery = r.URL.RawQuery
	}
	v, err := httpsig.NewVerifier(&http.Request{Method: r.Method, URL: u, Host: host, Header: h})
	if err != nil {
		return fmt.Errorf("prepare verifier: %w", err)
	}
	return v.Verify(key, httpsig.RSA_SHA256)
}

// SignRequest signs an outgoing request the way Mastodon does, so every
// implementation can verify it: it sets Date (now, UTC), Host (r.Host, from
// the URL when empty), Digest (SHA-256 of body, when body is not nil; it
// must be the bytes r will send), and Signature with keyId, rsa-sha256 and
// headers "(request-target) host date digest" (without digest when body is
// nil, as for a GET). It signs with crypto/rsa directly: this is the
// fan-out hot path, and the RSA operation is then nearly all of its cost.
func SignRequest(r *http.Request, body []byte, keyID string, key *rsa.PrivateKey, now time.Time) error {
	if key == nil {
		return fmt.Errorf("sign request: no private key")
	}
	if r.URL == nil {
		return fmt.Errorf("sign request: request has no URL")
	}
	if r.Host == "" {
		r.Host = r.URL.Host
	}
	if r.Host == "" {
		return fmt.Errorf("sign request: request has no host")
	}
	if r.Header == nil {
		r.Header = make(http.Header)
	}
	method := r.Method
	if method == "" {
		method = http.MethodGet
	}
	date := now.UTC().Format(http.TimeFormat)
	r.Header.Set("Date", date)

	var s strings.Builder
	s.Grow(256)
	s.WriteString(pseudoRequestTarget + ": ")
	s.WriteString(strings.ToLower(method))
	s.WriteByte(' ')
	s.WriteString(r.URL.RequestURI()) // exactly what net/http puts on the request line
	s.WriteString("\nhost: ")
	s.WriteString(r.Host)
	s.WriteString("\ndate: ")
	s.WriteString(date)
	headers := []string{pseudoRequestTarget, "host", "date"}
	if body != nil {
		sum := sha256.Sum256(body)
		digest := "SHA-256=" + base64.StdEncoding.EncodeToString(sum[:])
		r.Header.Set("Digest", digest)
		s.WriteString("\ndigest: ")
		s.WriteString(digest)
		headers = append(headers, "digest")
	}
	hashed := sha256.Sum256([]byte(s.String()))
	sig, err := rsa.SignPKCS1v15(rand.Reader, key, crypto.SHA256, hashed[:])
	if err != nil {
		return fmt.Errorf("sign request: %w", err)
	}
	r.Header.Set("Signature", formatSignatureHeader(SignatureParams{
		KeyID:     keyID,
		Algorithm: algRSASHA256,
		Headers:   headers,
		Signature: sig,
	}))
	return nil
}

// formatSignatureHeader serializes p as a Signature header value in the
// conventional order (keyId, algorithm, created, expires, headers,
// signature); ParseSignatureHeader reads it back to the same p.
func formatSignatureHeader(p SignatureParams) string {
	var b strings.Builder
	b.WriteString(`keyId=`)
	b.WriteString(quoteParam(p.KeyID))
	if p.Algorithm != "" {
		b.WriteString(`,algorithm=`)
		b.WriteString(quoteParam(p.Algorithm))
	}
	if p.Created != 0 {
		b.WriteString(`,created=`)
		b.WriteString(strconv.FormatInt(p.Created, 10))
	}
	if p.Expires != 0 {
		b.WriteString(`,expires=`)
		b.WriteString(strconv.FormatInt(p.Expires, 10))
	}
	b.WriteString(`,headers="`)
	b.WriteString(strings.Join(p.Headers, " "))
	b.WriteString(`",signature="`)
	b.WriteString(base64.StdEncoding.EncodeToString(p.Signature))
	b.WriteString(`"`)
	return b.String()
}

// quoteParam makes s a quoted-string, escaping quotes and backslashes.
func quoteParam(s string) string {
	if !strings.ContainsAny(s, `"\`) {
		return `"` + s + `"`
	}
	var b strings.Builder
	b.WriteByte('"')
	for i := 0; i < len(s); i++ {
		if s[i] == '"' || s[i] == '\\' {
			b.WriteByte('\\')
		}
		b.WriteByte(s[i])
	}
	b.WriteByte('"')
	return b.String()
}

// ParseSignatureHeader parses a draft-cavage Signature header value:
// comma-separated name=value parameters, values quoted (with backslash
// escapes, so commas and '=' inside them are data) or bare tokens, optional
// whitespace around separators. Unknown parameters are ignored; a missing
// headers parameter means "date"; header names are lower-cased. It refuses
// an empty value (ErrUnsigned), a missing keyId or signature, a signature
// that is not base64, an RFC 9421 value (sig1=:…:), a repeated parameter,
// and anything that is not this grammar (ErrBadSignature). It never panics.
func ParseSignatureHeader(v string) (SignatureParams, error) {
	if strings.TrimSpace(v) == "" {
		return SignatureParams{}, fmt.Errorf("parse signature: %w", ErrUnsigned)
	}
	raw, err := splitSignatureParams(v)
	if err != nil {
		return SignatureParams{}, fmt.Errorf("parse signature: %w: %w", ErrBadSignature, err)
	}
	p, err := interpretSignatureParams(raw)
	if err != nil {
		return SignatureParams{}, fmt.Errorf("parse signature: %w: %w", ErrBadSignature, err)
	}
	return p, nil
}

// splitSignatureParams scans v into name → value, checking the grammar.
func splitSignatureParams(v string) (map[string]string, error) {
	params := make(map[string]string, 6)
	i := 0
	for {
		i = skipOWS(v, i)
		for i < len(v) && v[i] == ',' { // empty list elements are allowed
			i = skipOWS(v, i+1)
		}
		if i == len(v) {
			return params, nil
		}
		name, next := scanToken(v, i)
		if name == "" {
			return nil, fmt.Errorf("expected a parameter name at offset %d", i)
		}
		i = skipOWS(v, next)
		if i == len(v) || v[i] != '=' {
			return nil, fmt.Errorf("expected '=' after %q", name)
		}
		i = skipOWS(v, i+1)
		var value string
		switch {
		case i < len(v) && v[i] == '"':
			var err error
			if value, i, err = scanQuoted(v, i); err != nil {
				return nil, fmt.Errorf("parameter %q: %w", name, err)
			}
		case i < len(v) && v[i] == ':':
			return nil, fmt.Errorf("parameter %q is an RFC 9421 byte sequence; only draft-cavage signatures are supported", name)
		default:
			if value, i = scanToken(v, i); value == "" {
				return nil, fmt.Errorf("parameter %q has no value", name)
			}
		}
		if _, dup := params[name]; dup {
			return nil, fmt.Errorf("parameter %q is repeated", name)
		}
		params[name] = value
		i = skipOWS(v, i)
		if i < len(v) && v[i] != ',' {
			return nil, fmt.Errorf("expected ',' at offset %d", i)
		}
	}
}

// interpretSignatureParams turns raw parameters into SignatureParams.
func interpretSignatureParams(raw map[string]string) (SignatureParams, error) {
	p := SignatureParams{KeyID: raw["keyId"], Algorithm: raw["algorithm"]}
	if p.KeyID == "" {
		return p, fmt.Errorf("missing keyId")
	}
	sig := raw["signature"]
	if sig == "" {
		return p, fmt.Errorf("missing signature")
	}
	var err error
	if p.Signature, err = base64.StdEncoding.DecodeString(sig); err != nil {
		if p.Signature, err = base64.RawStdEncoding.DecodeString(sig); err != nil {
			return p, fmt.Errorf("signature is not base64: %w", err)
		}
	}
	if len(p.Signature) == 0 {
		return p, fmt.Errorf("signature is empty")
	}
	headers, ok := raw["headers"]
	if !ok {
		headers = "date"
	}
	p.Headers = strings.Fields(strings.ToLower(headers))
	if len(p.Headers) == 0 {
		return p, fmt.Errorf("headers parameter is empty")
	}
	for _, h := range p.Headers {
		if !validSignedHeaderName(h) {
			return p, fmt.Errorf("invalid signed header name %q", h)
		}
	}
	if p.Created, err = positiveParam(raw, "created"); err != nil {
		return p, err
	}
	if p.Expires, err = positiveParam(raw, "expires"); err != nil {
		return p, err
	}
	return p, nil
}

// positiveParam reads an optional integer parameter (created, expires);
// absent is 0.
func positiveParam(raw map[string]string, name string) (int64, error) {
	s, ok := raw[name]
	if !ok {
		return 0, nil
	}
	n, err := strconv.ParseInt(s, 10, 64)
	if err != nil || n <= 0 {
		return 0, fmt.Errorf("%s %q is not a positive integer", name, s)
	}
	return n, nil
}

// validSignedHeaderName accepts a header field name (a token) or one of the
// draft's pseudo-headers.
func validSignedHeaderName(h string) bool {
	switch h {
	case pseudoRequestTarget, pseudoCreated, pseudoExpires:
		return true
	}
	name, end := scanToken(h, 0)
	return name != "" && end == len(h)
}

// skipOWS skips spaces and tabs from i.
func skipOWS(s string, i int) int {
	for i < len(s) && (s[i] == ' ' || s[i] == '\t') {
		i++
	}
	return i
}

// scanToken reads an RFC 9110 token starting at i.
func scanToken(s string, i int) (string, int) {
	start := i
	for i < len(s) && isTokenChar(s[i]) {
		i++
	}
	return s[start:i], i
}

// isTokenChar reports whether c is an RFC 9110 tchar.
func isTokenChar(c byte) bool {
	switch {
	case 'a' <= c && c <= 'z', 'A' <= c && c <= 'Z', '0' <= c && c <= '9':
		return true
	}
	return strings.IndexByte("!#$%&'*+-.^_`|~", c) >= 0
}

// scanQuoted reads a quoted-string whose opening quote is at i, undoing
// backslash escapes; control characters other than tab are refused.
func scanQuoted(s string, i int) (string, int, error) {
	var b strings.Builder
	for i++; i < len(s); i++ {
		c := s[i]
		if c == '"' {
			return b.String(), i + 1, nil
		}
		if c == '\\' { // quoted-pair: the next byte is literal
			if i++; i == len(s) {
				return "", i, fmt.Errorf("unterminated escape")
			}
			c = s[i]
		}
		if (c < 0x20 && c != '\t') || c == 0x7f {
			return "", i, fmt.Errorf("control character 0x%02x in quoted string", c)
		}
		b.WriteByte(c)
	}
	return "", i, fmt.Errorf("unterminated quoted string")
}
