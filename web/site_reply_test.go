package web

import (
	"context"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"testing"

	"github.com/chapterhouse/chapterhouse/chapter"
)

// Any comment of a thread can be answered from the thread's page,
// including a reply that came from another server; a post of another
// thread cannot be smuggled in.
func TestSiteReplyToComment(t *testing.T) {
	e := newFormEnv(t)
	e.account(t, "alice", chapter.RoleMember)
	e.account(t, "bob", chapter.RoleMember)
	root := e.post(t, "alice", chapter.NewPost{Text: "Where shall we meet?"})
	mallory := e.remote(t, &chapter.Account{Username: "rosa", Host: "remote.test", ActorIRI: "https://remote.test/users/rosa",
		DisplayName: "Rosa"})
	comment := e.remotePost(t, mallory, &chapter.Post{Content: "<p>At the library</p>", InReplyToID: root.ID, InReplyToIRI: root.IRI})
	other := e.post(t, "alice", chapter.NewPost{Text: "Another thread"})
	page := postPath(root)

	b := e.signedIn(t, "bob")
	res := b.page(page+"?reply_to="+strconv.FormatInt(comment.ID, 10), http.StatusOK)
	wantText(t, "the form addressed to the comment", res, "Replying to Rosa")
	if !strings.Contains(res.body, `href="`+page+`?reply_to=`+strconv.FormatInt(comment.ID, 10)+`#write-reply-heading"`) {
		t.Errorf("the comment has no Reply link")
	}

	res = b.submit(page, page+"/reply", url.Values{"text": {"See you there"}, "in_reply_to": {strconv.FormatInt(comment.ID, 10)}})
	wantStatus(t, "reply to the comment", res, http.StatusSeeOther)
	replies, err := e.db.Replies(context.Background(), comment.ID)
	if err != nil || len(replies) != 1 || !strings.Contains(replies[0].Content, "See you there") {
		t.Fatalf("replies to the comment = %v, %v", replies, err)
	}

	res = b.submit(page, page+"/reply", url.Values{"text": {"smuggled"}, "in_reply_to": {strconv.FormatInt(other.ID, 10)}})
	if res.status != http.StatusNotFound {
		t.Errorf("a reply aimed at another thread: status %d, want 404", res.status)
	}
	if replies, _ := e.db.Replies(context.Background(), other.ID); len(replies) != 0 {
		t.Errorf("the other thread got a reply")
	}
}

// Place searches ask every node below, so a visitor's address is limited.
func TestSiteFindIsRateLimited(t *testing.T) {
	e := newFormEnv(t)
	b := e.browser(t)
	for i := 0; i < searchesPerAddress; i++ {
		if res := b.get("/find?region=lyon"); res.status != http.StatusOK {
			t.Fatalf("search %d: status %d", i, res.status)
		}
	}
	if res := b.get("/find?region=lyon"); res.status != http.StatusTooManyRequests {
		t.Errorf("search past the limit: status %d, want 429", res.status)
	}
}
