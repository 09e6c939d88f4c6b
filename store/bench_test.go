package store

import (
	"context"
	"fmt"
	"sync/atomic"
	"testing"

	"github.com/chapterhouse/chapterhouse/chapter"
)

// BenchmarkSaveInbox measures stored inbox activities per second under
// concurrent deliveries: "callers=N" runs N goroutines per processor, as
// HTTP handlers would during a burst.
func BenchmarkSaveInbox(b *testing.B) {
	for _, p := range []int{1, 8, 32} {
		b.Run(fmt.Sprintf("callers=%dxCPU", p), func(b *testing.B) {
			db := newTestDB(b)
			ctx := context.Background()
			body := []byte(`{"@context":"https://www.w3.org/ns/activitystreams","type":"Create",` +
				`"actor":"https://remote.example/users/alice","object":{"type":"Note","content":"hello, chapter"}}`)
			var n atomic.Int64
			b.ReportAllocs()
			b.SetParallelism(p)
			b.ResetTimer()
			b.RunParallel(func(pb *testing.PB) {
				for pb.Next() {
					i := n.Add(1)
					item := &chapter.InboxItem{
						ActivityIRI: fmt.Sprintf("https://remote.example/activities/%d", i),
						ActorIRI:    "https://remote.example/users/alice",
						Body:        body,
					}
					if _, err := db.SaveInbox(ctx, item); err != nil {
						b.Error(err)
						return
					}
				}
			})
			b.StopTimer()
			b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "items/s")
		})
	}
}

// BenchmarkCreatePost measures posting: one transaction with the insert
// and the adoption of orphan replies.
func BenchmarkCreatePost(b *testing.B) {
	db := newTestDB(b)
	ctx := context.Background()
	author := mustLocal(b, db, "alice")
	b.ReportAllocs()
	b.ResetTimer()
	for i := range b.N {
		id := int64(i + 1)
		p := &chapter.Post{
			ID:         id,
			IRI:        fmt.Sprintf("https://node.example/users/alice/statuses/%d", id),
			AccountID:  author.ID,
			Content:    "<p>Meeting on Thursday at the library, 7pm.</p>",
			Source:     "Meeting on Thursday at the library, 7pm.",
			Visibility: chapter.VisibilityPublic,
		}
		if err := db.CreatePost(ctx, p, nil); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkEnqueueFanout measures queueing one activity to 1,000 inboxes.
func BenchmarkEnqueueFanout(b *testing.B) {
	db := newTestDB(b)
	ctx := context.Background()
	signer := mustLocal(b, db, "group")
	inboxes := make([]string, 1000)
	for i := range inboxes {
		inboxes[i] = fmt.Sprintf("https://server%d.example/inbox", i)
	}
	body := make([]byte, 2048)
	b.ReportAllocs()
	b.ResetTimer()
	for i := range b.N {
		out := []chapter.Outgoing{{
			ActivityIRI: fmt.Sprintf("https://node.example/activities/%d", i),
			SignerID:    signer.ID,
			Body:        body,
			Inboxes:     inboxes,
		}}
		if err := db.Enqueue(ctx, out); err != nil {
			b.Fatal(err)
		}
	}
	b.StopTimer()
	b.ReportMetric(float64(b.N)*float64(len(inboxes))/b.Elapsed().Seconds(), "deliveries/s")
}

// BenchmarkImportMembers measures importing a membership list: 10,000
// CreateAccount calls per iteration.
func BenchmarkImportMembers(b *testing.B) {
	const members = 10000
	ctx := context.Background()
	b.ReportAllocs()
	for i := range b.N {
		b.StopTimer()
		db, err := Open(ctx, b.TempDir())
		if err != nil {
			b.Fatal(err)
		}
		b.StartTimer()
		for j := range members {
			a := &chapter.Account{
				Username: fmt.Sprintf("member%d_%d", i, j),
				Role:     chapter.RoleMember,
				State:    chapter.StateActive,
			}
			if err := db.CreateAccount(ctx, a); err != nil {
				b.Fatal(err)
			}
		}
		b.StopTimer()
		if err := db.Close(); err != nil {
			b.Fatal(err)
		}
		b.StartTimer()
	}
	b.StopTimer()
	b.ReportMetric(float64(b.N)*members/b.Elapsed().Seconds(), "members/s")
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/(float64(b.N)*members), "ns/member")
}
