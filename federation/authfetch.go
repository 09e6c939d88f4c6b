package federation

import (
	"context"
	"fmt"
	"net/http"
	"net/url"
)

// signedGET wraps a GET handler for authorized-fetch mode: when it is on,
// ActivityPub documents are only served to requests signed by a known
// server that is not blocked (Mastodon's secure mode). People asking for
// HTML, and the Group's own actor document (which servers need to verify
// our signatures at all), stay open.
func (f *Federation) signedGET(next http.HandlerFunc) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		if !f.o.AuthorizedFetch || !wantsActivityJSON(r) || f.isGroupActorRequest(r) {
			next(w, r)
			return
		}
		if err := f.verifyGET(r.Context(), r); err != nil {
			f.writeError(w, r, err)
			return
		}
		next(w, r)
	}
}

func (f *Federation) isGroupActorRequest(r *http.Request) bool {
	return r.URL.Path == "/users/"+f.svc.Node().Handle
}

// verifyGET checks a signed GET: structure, key, signature, not blocked.
func (f *Federation) verifyGET(ctx context.Context, r *http.Request) error {
	params, err := SignatureChecker{Now: f.now}.Check(r, nil)
	if err != nil {
		return fmt.Errorf("signed get: %w", err)
	}
	key, err := f.signerKey(ctx, params.KeyID, false)
	if err != nil {
		return fmt.Errorf("signed get: key %q: %v: %w", params.KeyID, err, ErrBadSignature)
	}
	if u, err := url.Parse(key.owner); err != nil || f.domainBlocked(ctx, u.Host) {
		return fmt.Errorf("signed get by %s: %w", key.owner, errBlocked)
	}
	return VerifySignature(r, key.pub)
}
