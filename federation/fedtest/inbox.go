package fedtest

import (
	"bytes"
	"context"
	"crypto"
	"crypto/rsa"
	"crypto/sha256"
	"crypto/x509"
	"encoding/base64"
	"encoding/json"
	"encoding/pem"
	"errors"
	"fmt"
	"io"
	"mime"
	"net/http"
	"net/url"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"
)

// maxSkew is how far a signed Date may be from the clock, as in Mastodon.
const maxSkew = time.Hour

// maxBody bounds bodies received and fetched, as Mastodon does.
const maxBody = 1 << 20

// serveInbox verifies and records a delivered activity: 202 when accepted,
// 401 (recorded in Refused) when not, 503 while Down, 410 while gone.
func (rm *Remote) serveInbox(w http.ResponseWriter, r *http.Request) {
	down, gone := rm.state()
	switch {
	case gone:
		http.Error(w, "gone", http.StatusGone)
		return
	case down:
		http.Error(w, "down for maintenance", http.StatusServiceUnavailable)
		return
	}
	rec, err := rm.verifyDelivery(r)
	if err != nil {
		rm.mu.Lock()
		rm.refused = append(rm.refused, fmt.Sprintf("%s %s: %v", r.Method, r.URL.Path, err))
		rm.mu.Unlock()
		http.Error(w, err.Error(), http.StatusUnauthorized)
		return
	}
	rec.Inbox = r.URL.Path
	rm.mu.Lock()
	rm.received = append(rm.received, rec)
	rm.mu.Unlock()
	w.WriteHeader(http.StatusAccepted)
}

// verifyDelivery checks a POST to an inbox the way a strict Mastodon does:
// media type, signature coverage, freshness, digest, the signer's key
// fetched from its server with a signed GET, the signature itself, and
// that the key's owner is the activity's actor.
func (rm *Remote) verifyDelivery(r *http.Request) (Received, error) {
	body, err := io.ReadAll(io.LimitReader(r.Body, maxBody+1))
	if err != nil {
		return Received{}, fmt.Errorf("read body: %w", err)
	}
	if len(body) > maxBody {
		return Received{}, fmt.Errorf("body over %d bytes", maxBody)
	}
	if err := checkActivityMediaType(r.Header.Get("Content-Type")); err != nil {
		return Received{}, err
	}
	sig, err := parseCavage(r.Header.Values("Signature"))
	if err != nil {
		return Received{}, err
	}
	switch strings.ToLower(sig.algorithm) {
	case "", "rsa-sha256", "hs2019":
	default:
		return Received{}, fmt.Errorf("algorithm %q not supported", sig.algorithm)
	}
	for _, h := range []string{"(request-target)", "host", "date", "digest"} {
		if !slices.Contains(sig.headers, h) {
			return Received{}, fmt.Errorf("%q is not among the signed headers %q", h, sig.headers)
		}
	}
	date, err := http.ParseTime(r.Header.Get("Date"))
	if err != nil {
		return Received{}, fmt.Errorf("bad Date %q: %w", r.Header.Get("Date"), err)
	}
	if age := time.Since(date); age > maxSkew || age < -maxSkew {
		return Received{}, fmt.Errorf("Date %s is %v away from now", r.Header.Get("Date"), age.Round(time.Second))
	}
	if sig.created != "" {
		c, err := strconv.ParseInt(sig.created, 10, 64)
		if age := time.Since(time.Unix(c, 0)); err != nil || age > maxSkew || age < -maxSkew {
			return Received{}, fmt.Errorf("bad or stale created %q", sig.created)
		}
	}
	if sig.expires != "" {
		if exp, err := strconv.ParseInt(sig.expires, 10, 64); err != nil || time.Now().Unix() > exp {
			return Received{}, fmt.Errorf("signature expired or bad expires %q", sig.expires)
		}
	}
	if err := checkBodyDigest(r.Header.Values("Digest"), body); err != nil {
		return Received{}, err
	}
	var activity map[string]any
	if err := json.Unmarshal(body, &activity); err != nil {
		return Received{}, fmt.Errorf("body is not a JSON object: %w", err)
	}
	actor := idOf(activity["actor"])
	if actor == "" {
		return Received{}, errors.New("activity has no actor")
	}
	pub, owner, err := rm.resolveKey(r.Context(), sig.keyID)
	if err != nil {
		return Received{}, fmt.Errorf("key %s: %w", sig.keyID, err)
	}
	if err := verifyCavage(r, sig, pub); err != nil {
		return Received{}, err
	}
	if owner != actor {
		return Received{}, fmt.Errorf("key %s belongs to %s, but the activity's actor is %s", sig.keyID, owner, actor)
	}
	return Received{KeyID: sig.keyID, Raw: body, Activity: activity}, nil
}

// checkActivityMediaType accepts the media types ActivityPub prescribes.
func checkActivityMediaType(ct string) error {
	mt, params, err := mime.ParseMediaType(ct)
	switch {
	case err != nil:
		return fmt.Errorf("bad Content-Type %q: %w", ct, err)
	case mt == activityJSON:
		return nil
	case mt == "application/ld+json" && params["profile"] == "https://www.w3.org/ns/activitystreams":
		return nil
	}
	return fmt.Errorf("Content-Type %q is not an ActivityPub media type", ct)
}

// checkBodyDigest requires a SHA-256 entry in Digest equal to the body's.
func checkBodyDigest(values []string, body []byte) error {
	sum := sha256.Sum256(body)
	want := base64.StdEncoding.EncodeToString(sum[:])
	for _, entry := range strings.Split(strings.Join(values, ","), ",") {
		alg, val, _ := strings.Cut(strings.TrimSpace(entry), "=")
		if strings.EqualFold(alg, "sha-256") {
			if val != want {
				return fmt.Errorf("Digest SHA-256=%s, but the body's is %s", val, want)
			}
			return nil
		}
	}
	return fmt.Errorf("no SHA-256 entry in Digest %q", values)
}

// cavage is a parsed Signature header.
type cavage struct {
	keyID, algorithm string
	headers          []string
	signature        []byte
	created, expires string
}

// parseCavage parses the single Signature header of a request.
func parseCavage(values []string) (cavage, error) {
	if len(values) != 1 {
		return cavage{}, fmt.Errorf("want one Signature header, got %d", len(values))
	}
	param := regexp.MustCompile(`^\s*([A-Za-z][A-Za-z0-9_-]*)\s*=\s*(?:"((?:[^"\\]|\\.)*)"|([^\s",]+))\s*(?:,|$)`)
	params := map[string]string{}
	for rest := values[0]; strings.TrimSpace(rest) != ""; {
		m := param.FindStringSubmatch(rest)
		if m == nil {
			return cavage{}, fmt.Errorf("malformed Signature at %q", rest)
		}
		if _, dup := params[m[1]]; dup {
			return cavage{}, fmt.Errorf("Signature repeats %q", m[1])
		}
		params[m[1]] = regexp.MustCompile(`\\(.)`).ReplaceAllString(m[2], "$1") + m[3]
		rest = rest[len(m[0]):]
	}
	sig := cavage{keyID: params["keyId"], algorithm: params["algorithm"],
		created: params["created"], expires: params["expires"]}
	if sig.keyID == "" {
		return cavage{}, errors.New("Signature has no keyId")
	}
	headers, ok := params["headers"]
	if !ok {
		headers = "date"
	}
	sig.headers = strings.Fields(strings.ToLower(headers))
	var err error
	if sig.signature, err = base64.StdEncoding.DecodeString(params["signature"]); err != nil || len(sig.signature) == 0 {
		return cavage{}, fmt.Errorf("Signature has no valid base64 signature: %v", err)
	}
	return sig, nil
}

// verifyCavage rebuilds the signing string from the request as received
// and checks the RSA-SHA256 signature over it.
func verifyCavage(r *http.Request, sig cavage, pub *rsa.PublicKey) error {
	lines := make([]string, 0, len(sig.headers))
	for _, h := range sig.headers {
		var v string
		switch h {
		case "(request-target)":
			target := r.RequestURI // as sent, still escaped
			if !strings.HasPrefix(target, "/") {
				target = r.URL.RequestURI()
			}
			v = strings.ToLower(r.Method) + " " + target
		case "host":
			v = r.Host
		case "(created)", "(expires)":
			v = map[string]string{"(created)": sig.created, "(expires)": sig.expires}[h]
			if v == "" {
				return fmt.Errorf("%s signed without its parameter", h)
			}
		default:
			vals := r.Header.Values(h)
			if len(vals) == 0 {
				return fmt.Errorf("signed header %q is absent", h)
			}
			for i := range vals {
				vals[i] = strings.TrimSpace(vals[i])
			}
			v = strings.Join(vals, ", ")
		}
		lines = append(lines, h+": "+v)
	}
	hashed := sha256.Sum256([]byte(strings.Join(lines, "\n")))
	if err := rsa.VerifyPKCS1v15(pub, crypto.SHA256, hashed[:], sig.signature); err != nil {
		return fmt.Errorf("signature does not verify over %q: %w", strings.Join(lines, `\n`), err)
	}
	return nil
}

// resolveKey fetches keyID with a signed GET, as Mastodon in secure mode
// does, and returns the key and its owner. When the key did not come from
// its owner's own document (a GoToSocial actor stub, or a Key document),
// the owner is fetched too and must list the key: otherwise anyone could
// publish a key claiming any owner.
func (rm *Remote) resolveKey(ctx context.Context, keyID string) (*rsa.PublicKey, string, error) {
	u, err := url.Parse(keyID)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return nil, "", fmt.Errorf("keyId is not an http(s) URL")
	}
	u.Fragment, u.RawFragment = "", ""
	docURL := u.String()
	doc, err := rm.fetchDocument(ctx, docURL)
	if err != nil {
		return nil, "", err
	}
	owner, keyPEM, err := findKey(doc, keyID)
	if err != nil {
		return nil, "", fmt.Errorf("in %s: %w", docURL, err)
	}
	if owner != docURL || idOf(doc["id"]) != owner {
		actor, err := rm.fetchDocument(ctx, owner)
		if err != nil {
			return nil, "", fmt.Errorf("owner: %w", err)
		}
		if got := idOf(actor["id"]); got != owner {
			return nil, "", fmt.Errorf("owner %s serves a document with id %q", owner, got)
		}
		actorOwner, actorPEM, err := findKey(actor, keyID)
		if err != nil || actorOwner != owner {
			return nil, "", fmt.Errorf("owner %s does not list the key (%v)", owner, err)
		}
		keyPEM = actorPEM
	}
	pub, err := parseRSAPublicKey(keyPEM)
	if err != nil {
		return nil, "", err
	}
	return pub, owner, nil
}

// fetchDocument GETs an ActivityPub document, signed, requiring 200 and an
// ActivityPub media type as Mastodon does.
func (rm *Remote) fetchDocument(ctx context.Context, u string) (map[string]any, error) {
	resp, err := rm.SignedGet(ctx, u)
	if err != nil {
		return nil, fmt.Errorf("fetch %s: %w", u, err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("fetch %s: status %s", u, resp.Status)
	}
	if err := checkActivityMediaType(resp.Header.Get("Content-Type")); err != nil {
		return nil, fmt.Errorf("fetch %s: %w", u, err)
	}
	b, err := io.ReadAll(io.LimitReader(resp.Body, maxBody+1))
	if err != nil || len(b) > maxBody {
		return nil, fmt.Errorf("fetch %s: body unreadable or over %d bytes (%v)", u, maxBody, err)
	}
	var doc map[string]any
	if err := json.NewDecoder(bytes.NewReader(b)).Decode(&doc); err != nil {
		return nil, fmt.Errorf("fetch %s: %w", u, err)
	}
	return doc, nil
}

// findKey finds keyID in doc: in its publicKey (an object or an array of
// them), or doc itself when it is the Key. It returns the owner and PEM.
func findKey(doc map[string]any, keyID string) (owner, keyPEM string, err error) {
	candidates := []any{doc}
	switch pk := doc["publicKey"].(type) {
	case map[string]any:
		candidates = append(candidates, pk)
	case []any:
		candidates = append(candidates, pk...)
	}
	for _, c := range candidates {
		k, ok := c.(map[string]any)
		if !ok || idOf(k["id"]) != keyID {
			continue
		}
		keyPEM, _ = k["publicKeyPem"].(string)
		owner = idOf(k["owner"])
		if keyPEM == "" || owner == "" {
			return "", "", fmt.Errorf("key %s lacks publicKeyPem or owner", keyID)
		}
		return owner, keyPEM, nil
	}
	return "", "", fmt.Errorf("no key with id %s", keyID)
}

// idOf returns v if it is a string, or its "id" if it is an object.
func idOf(v any) string {
	switch v := v.(type) {
	case string:
		return v
	case map[string]any:
		s, _ := v["id"].(string)
		return s
	}
	return ""
}

// parseRSAPublicKey reads a PKIX or PKCS#1 PEM RSA key.
func parseRSAPublicKey(s string) (*rsa.PublicKey, error) {
	block, _ := pem.Decode([]byte(s))
	if block == nil {
		return nil, errors.New("publicKeyPem holds no PEM block")
	}
	switch block.Type {
	case "PUBLIC KEY":
		k, err := x509.ParsePKIXPublicKey(block.Bytes)
		if err != nil {
			return nil, fmt.Errorf("publicKeyPem: %w", err)
		}
		if rk, ok := k.(*rsa.PublicKey); ok {
			return rk, nil
		}
		return nil, fmt.Errorf("publicKeyPem is a %T, not RSA", k)
	case "RSA PUBLIC KEY":
		k, err := x509.ParsePKCS1PublicKey(block.Bytes)
		if err != nil {
			return nil, fmt.Errorf("publicKeyPem: %w", err)
		}
		return k, nil
	}
	return nil, fmt.Errorf("publicKeyPem is a %q block", block.Type)
}

// itoa formats a Unix time for the created and expires parameters.
func itoa(n int64) string { return strconv.FormatInt(n, 10) }
