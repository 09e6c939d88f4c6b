package store

import (
	"context"
	"database/sql"
	"errors"
	"sync"
)

// maxInboxBatch bounds how many inbox items share one transaction, so
// that other writers never wait long for the writer connection.
const maxInboxBatch = 128

// errClosed is returned by calls made while or after the DB closes.
var errClosed = errors.New("database closed")

// inboxRow is an item to insert into inbox_items.
type inboxRow struct {
	iri, actor string
	body       []byte
	at         int64
}

// inboxResult is what inserting an inboxRow did.
type inboxResult struct {
	created bool
	id      int64
	err     error
}

// inboxReq is a call of SaveInbox waiting for the batcher.
type inboxReq struct {
	ctx  context.Context
	row  inboxRow
	done chan inboxResult // buffered: the batcher never blocks on it
}

// inboxBatcher commits concurrent SaveInbox calls together: group commit.
// One goroutine takes a request, adds whatever others are already
// waiting, and inserts them all in one transaction. Under light load a
// batch is a single insert; under a burst, one WAL commit serves many
// activities, which is where the time of an insert goes.
type inboxBatcher struct {
	db       *DB
	reqs     chan *inboxReq
	quit     chan struct{}
	done     chan struct{}
	stopOnce sync.Once
}

func newInboxBatcher(db *DB) *inboxBatcher {
	b := &inboxBatcher{
		db:   db,
		reqs: make(chan *inboxReq, maxInboxBatch),
		quit: make(chan struct{}),
		done: make(chan struct{}),
	}
	go b.run()
	return b
}

// save queues row and waits for its result, or for ctx.
func (b *inboxBatcher) save(ctx context.Context, row inboxRow) (inboxResult, error) {
	if err := ctx.Err(); err != nil {
		return inboxResult{}, err
	}
	req := &inboxReq{ctx: ctx, row: row, done: make(chan inboxResult, 1)}
	select {
	case b.reqs <- req:
	case <-ctx.Done():
		return inboxResult{}, ctx.Err()
	case <-b.quit:
		return inboxResult{}, errClosed
	}
	select {
	case res := <-req.done:
		return res, res.err
	case <-ctx.Done():
		return inboxResult{}, ctx.Err()
	case <-b.done:
		// The batcher stopped; it may have answered just before.
		select {
		case res := <-req.done:
			return res, res.err
		default:
			return inboxResult{}, errClosed
		}
	}
}

// stop ends the batcher after the batch in hand, answering the requests
// still queued with errClosed.
func (b *inboxBatcher) stop() {
	b.stopOnce.Do(func() { close(b.quit) })
	<-b.done
}

func (b *inboxBatcher) run() {
	defer close(b.done)
	batch := make([]*inboxReq, 0, maxInboxBatch)
	for {
		select {
		case req := <-b.reqs:
			batch = append(batch[:0], req)
		case <-b.quit:
			for {
				select {
				case req := <-b.reqs:
					req.done <- inboxResult{err: errClosed}
				default:
					return
				}
			}
		}
	collect:
		for len(batch) < maxInboxBatch {
			select {
			case req := <-b.reqs:
				batch = append(batch, req)
			default:
				break collect
			}
		}
		b.commit(batch)
		clear(batch)
	}
}

// commit inserts the batch. A lone request runs as one statement with its
// own context; several share a transaction, and if that fails each is
// tried again alone, so that one bad item fails by itself.
func (b *inboxBatcher) commit(batch []*inboxReq) {
	live := batch[:0:0]
	for _, req := range batch {
		if err := req.ctx.Err(); err != nil {
			req.done <- inboxResult{err: err}
			continue
		}
		live = append(live, req)
	}
	switch len(live) {
	case 0:
		return
	case 1:
		req := live[0]
		req.done <- b.insertAlone(req.ctx, req.row)
		return
	}
	// The batch serves several callers, so no single caller's context
	// may abort it; a caller that gives up stops waiting instead.
	ctx := context.Background()
	results := make([]inboxResult, len(live))
	err := b.db.withTx(ctx, func(tx *sql.Tx) error {
		stmt := b.db.ws.bind(ctx, tx, qInboxInsert)
		for i, req := range live {
			res, err := stmt.ExecContext(ctx, req.row.iri, req.row.actor, req.row.body, req.row.at)
			if results[i] = result(res, err); results[i].err != nil {
				return results[i].err
			}
		}
		return nil
	})
	for i, req := range live {
		if err != nil {
			req.done <- b.insertAlone(req.ctx, req.row)
			continue
		}
		req.done <- results[i]
	}
}

// insertAlone inserts one row in a transaction of its own.
func (b *inboxBatcher) insertAlone(ctx context.Context, row inboxRow) inboxResult {
	return result(b.db.exec(ctx, nil, qInboxInsert, row.iri, row.actor, row.body, row.at))
}

// result reads what the INSERT of one row did.
func result(res sql.Result, err error) inboxResult {
	if err != nil {
		return inboxResult{err: err}
	}
	n, err := res.RowsAffected()
	if err != nil || n == 0 {
		return inboxResult{err: err}
	}
	id, err := res.LastInsertId()
	if err != nil {
		return inboxResult{err: err}
	}
	return inboxResult{created: true, id: id}
}
