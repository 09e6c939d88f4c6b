package store

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/chapterhouse/chapterhouse/chapter"
)

func TestCountReplies(t *testing.T) {
	db := newTestDB(t)
	ctx := context.Background()
	var g ids
	a := mustLocal(t, db, "alice")
	root := mustPost(t, db, &g, a, "root")
	var replies []int64
	for i := 0; i < 3; i++ {
		id := g.next()
		r := &chapter.Post{ID: id, IRI: fmt.Sprintf("https://node.example/posts/%d", id), AccountID: a.ID,
			Content: "reply", Visibility: chapter.VisibilityPublic, InReplyToID: root.ID, InReplyToIRI: root.IRI,
			CreatedAt: time.UnixMilli(1_700_000_000_000 + id)}
		if err := db.CreatePost(ctx, r, nil); err != nil {
			t.Fatal(err)
		}
		replies = append(replies, r.ID)
	}
	if err := db.DeletePost(ctx, replies[0], time.Now(), nil); err != nil {
		t.Fatal(err)
	}
	listed, err := db.Replies(ctx, root.ID)
	if err != nil {
		t.Fatal(err)
	}
	n, err := db.CountReplies(ctx, root.ID)
	if err != nil || n != len(listed) || n != 2 {
		t.Errorf("CountReplies = %d, %v; Replies lists %d; want 2 (the deleted one left out)", n, err, len(listed))
	}
	if n, err := db.CountReplies(ctx, 424242); err != nil || n != 0 {
		t.Errorf("CountReplies of an unknown post = %d, %v", n, err)
	}
}
