package store

import (
	"context"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/chapterhouse/chapterhouse/chapter"
)

// BenchmarkDeliveryDone measures finishing deliveries from many workers at
// once, as a fan-out does: one op is one delivery marked done.
func BenchmarkDeliveryDone(b *testing.B) {
	db := newTestDB(b)
	ctx := context.Background()
	signer := &chapter.Account{Username: "g", Kind: chapter.KindGroup, CreatedAt: time.Now(), UpdatedAt: time.Now()}
	if err := db.CreateAccount(ctx, signer); err != nil {
		b.Fatal(err)
	}
	inboxes := make([]string, b.N)
	for i := range inboxes {
		inboxes[i] = fmt.Sprintf("https://h%d.example/inbox", i)
	}
	if err := db.Enqueue(ctx, []chapter.Outgoing{{ActivityIRI: "https://x.example/a/1", SignerID: signer.ID, Body: []byte(`{}`), Inboxes: inboxes}}); err != nil {
		b.Fatal(err)
	}
	var ds []*chapter.Delivery
	for {
		batch, err := db.ClaimDeliveries(ctx, time.Now(), time.Hour, 500)
		if err != nil {
			b.Fatal(err)
		}
		if len(batch) == 0 {
			break
		}
		ds = append(ds, batch...)
	}
	b.ResetTimer()
	var wg sync.WaitGroup
	work := make(chan *chapter.Delivery)
	for w := 0; w < 32; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for d := range work {
				if err := db.DeliveryDone(ctx, d.ID); err != nil {
					b.Error(err)
				}
			}
		}()
	}
	for _, d := range ds {
		work <- d
	}
	close(work)
	wg.Wait()
}
