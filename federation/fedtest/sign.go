package fedtest

import (
	"bytes"
	"context"
	"crypto"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
	"time"
)

// userAgent is what the remote's requests carry, in Mastodon's format.
const userAgent = "http.rb/5.1.1 (Mastodon/4.3.0-fedtest; +https://fedtest.invalid/)"

// SignOpts lets a test forge or vary what PostWith sends. The zero value
// signs exactly as Post does.
type SignOpts struct {
	// KeyID replaces the remote's keyId.
	KeyID string
	// Algorithm replaces the algorithm parameter ("rsa-sha256", or "hs2019"
	// for WithGoToSocialKeys), e.g. "hmac-sha256".
	Algorithm string
	// OmitAlgorithm leaves the algorithm parameter out.
	OmitAlgorithm bool
	// Headers replaces the signed headers, "(request-target) host date
	// digest". A header that is not sent is signed as empty. "(created)"
	// and "(expires)" add created (the Date) and expires (Date + 5 min).
	Headers []string
	// Date replaces the current time in the Date header and signature.
	Date time.Time
	// Digest replaces the Digest header's value (it is signed as sent).
	Digest string
	// OmitDigest sends no Digest header.
	OmitDigest bool
	// OmitSignature sends no Signature header.
	OmitSignature bool
	// ContentType replaces "application/activity+json".
	ContentType string
	// Key signs instead of the remote's key.
	Key *rsa.PrivateKey
}

// Post delivers activity to one of our inboxes exactly as Mastodon does:
// Content-Type application/activity+json, Date, Digest SHA-256, and a
// Signature with keyId KeyID, algorithm rsa-sha256 (hs2019 with
// WithGoToSocialKeys) over "(request-target) host date digest". activity
// may be []byte, json.RawMessage, a string of JSON, or anything
// json.Marshal takes.
func (rm *Remote) Post(ctx context.Context, inboxURL string, activity any) (*http.Response, error) {
	var body []byte
	switch a := activity.(type) {
	case []byte:
		body = a
	case json.RawMessage:
		body = a
	case string:
		body = []byte(a)
	default:
		b, err := json.Marshal(a)
		if err != nil {
			return nil, fmt.Errorf("fedtest: marshal activity: %w", err)
		}
		body = b
	}
	return rm.PostWith(ctx, inboxURL, body, SignOpts{})
}

// PostWith delivers body to inboxURL signed as opts says; see SignOpts.
func (rm *Remote) PostWith(ctx context.Context, inboxURL string, body []byte, opts SignOpts) (*http.Response, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, inboxURL, bytes.NewReader(body))
	if err != nil {
		return nil, fmt.Errorf("fedtest: new request: %w", err)
	}
	contentType := opts.ContentType
	if contentType == "" {
		contentType = activityJSON
	}
	req.Header.Set("Content-Type", contentType)
	if !opts.OmitDigest {
		digest := opts.Digest
		if digest == "" {
			sum := sha256.Sum256(body)
			digest = "SHA-256=" + base64.StdEncoding.EncodeToString(sum[:])
		}
		req.Header.Set("Digest", digest)
	}
	headers := opts.Headers
	if headers == nil {
		headers = []string{"(request-target)", "host", "date", "digest"}
	}
	if err := rm.sign(req, headers, opts); err != nil {
		return nil, err
	}
	return rm.do(req)
}

// SignedGet fetches url as Mastodon in secure mode does: Accept
// application/activity+json, signed by the remote's key over
// "(request-target) host date accept".
func (rm *Remote) SignedGet(ctx context.Context, url string) (*http.Response, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return nil, fmt.Errorf("fedtest: new request: %w", err)
	}
	req.Header.Set("Accept", activityJSON)
	if err := rm.sign(req, []string{"(request-target)", "host", "date", "accept"}, SignOpts{}); err != nil {
		return nil, err
	}
	return rm.do(req)
}

// do sends req with the remote's client.
func (rm *Remote) do(req *http.Request) (*http.Response, error) {
	req.Header.Set("User-Agent", userAgent)
	resp, err := rm.client.Do(req)
	if err != nil {
		return nil, fmt.Errorf("fedtest: %s %s: %w", req.Method, req.URL, err)
	}
	return resp, nil
}

// sign sets Date and, unless opts.OmitSignature, a draft-cavage Signature
// over headers, building the signing string from req as it will be sent.
func (rm *Remote) sign(req *http.Request, headers []string, opts SignOpts) error {
	date := opts.Date
	if date.IsZero() {
		date = time.Now()
	}
	req.Header.Set("Date", date.UTC().Format(http.TimeFormat))
	if opts.OmitSignature {
		return nil
	}
	params := []string{`keyId="` + firstNonEmpty(opts.KeyID, rm.KeyID) + `"`}
	if !opts.OmitAlgorithm {
		alg := "rsa-sha256"
		if rm.cfg.gtsKeys {
			alg = "hs2019"
		}
		params = append(params, `algorithm="`+firstNonEmpty(opts.Algorithm, alg)+`"`)
	}
	lines := make([]string, 0, len(headers))
	for _, h := range headers {
		h = strings.ToLower(h)
		var v string
		switch h {
		case "(request-target)":
			v = strings.ToLower(req.Method) + " " + req.URL.RequestURI()
		case "host":
			v = firstNonEmpty(req.Host, req.URL.Host)
		case "(created)":
			v = itoa(date.Unix())
			params = append(params, "created="+v)
		case "(expires)":
			v = itoa(date.Add(5 * time.Minute).Unix())
			params = append(params, "expires="+v)
		default:
			v = strings.Join(req.Header.Values(h), ", ")
		}
		lines = append(lines, h+": "+v)
	}
	key := opts.Key
	if key == nil {
		key = rm.Key
	}
	hashed := sha256.Sum256([]byte(strings.Join(lines, "\n")))
	sig, err := rsa.SignPKCS1v15(rand.Reader, key, crypto.SHA256, hashed[:])
	if err != nil {
		return fmt.Errorf("fedtest: sign: %w", err)
	}
	params = append(params,
		`headers="`+strings.ToLower(strings.Join(headers, " "))+`"`,
		`signature="`+base64.StdEncoding.EncodeToString(sig)+`"`)
	req.Header.Set("Signature", strings.Join(params, ","))
	return nil
}

// firstNonEmpty returns the first of ss that is not empty.
func firstNonEmpty(ss ...string) string {
	for _, s := range ss {
		if s != "" {
			return s
		}
	}
	return ""
}
