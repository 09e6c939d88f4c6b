package web

import (
	"fmt"
	"net/http"

	"github.com/chapterhouse/chapterhouse/chapter"
)

// verifyCredentials shows the signed-in member their own account, with the
// source of their profile: GET /api/v1/accounts/verify_credentials.
// Clients call it first, to learn who the token belongs to.
func (a *API) verifyCredentials(w http.ResponseWriter, r *http.Request) {
	me, err := a.member(r)
	if err != nil {
		a.writeError(w, r, err)
		return
	}
	j, err := a.renderer(r.Context(), me).credentialAccount(me)
	if err != nil {
		a.writeError(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, j)
}

// getAccount shows any account this node knows: GET /api/v1/accounts/{id}.
// Local people who are not active members (pending applicants, suspended
// members) are not shown to anyone but themselves.
func (a *API) getAccount(w http.ResponseWriter, r *http.Request) {
	viewer, err := a.viewer(r)
	if err != nil {
		a.writeError(w, r, err)
		return
	}
	id, err := pathID(r)
	if err != nil {
		a.writeError(w, r, err)
		return
	}
	acc, err := a.svc.Store().Account(r.Context(), id)
	if err == nil && acc.Local() && !acc.Member() && (viewer == nil || viewer.ID != acc.ID) {
		err = fmt.Errorf("account %d is %q: %w", id, acc.State, chapter.ErrNotFound)
	}
	if err != nil {
		a.writeError(w, r, err)
		return
	}
	j, err := a.renderer(r.Context(), viewer).account(acc)
	if err != nil {
		a.writeError(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, j)
}
