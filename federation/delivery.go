package federation

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"time"

	"github.com/chapterhouse/chapterhouse/chapter"
)

// deliveryPoll is how often an idle worker looks for due deliveries: the
// retries that come due, and what another process (the CLI) queued, which
// cannot wake the workers directly.
const deliveryPoll = 250 * time.Millisecond

// claimBatch is how many deliveries a worker takes at a time: small, so a
// fan-out spreads over all workers.
const claimBatch = 4

// maxBackoffDoublings caps the exponent of the retry delay: with the
// default one-minute base, retries are never further apart than ~34 hours.
const maxBackoffDoublings = 11

// deliveryWorker takes due deliveries from the queue and sends them. Several
// run at once; the queue's lease keeps them from taking the same one.
//
// Only the first worker polls the queue when idle (claiming is a write);
// the others sleep until woken, by a new request or by a worker that found
// more work than it could take.
func (f *Federation) deliveryWorker(ctx context.Context, first bool) {
	poll := deliveryPoll
	if !first {
		poll = 20 * deliveryPoll
	}
	lease := 2*f.requestTimeout() + 5*time.Second
	for {
		ds, err := f.store.ClaimDeliveries(ctx, f.now(), lease, claimBatch)
		if err != nil && ctx.Err() == nil {
			f.log.Warn("claim deliveries", "error", err)
		}
		if len(ds) == claimBatch {
			// There may be more: wake another worker, which wakes the
			// next, so a fan-out gets every worker at once.
			poke(f.wake)
		}
		for _, d := range ds {
			f.deliverOne(ctx, d)
		}
		if len(ds) > 0 {
			continue
		}
		select {
		case <-ctx.Done():
			return
		case <-f.wake:
		case <-time.After(poll):
		}
	}
}

// Wake tells the federation layer that a request changed the node's state:
// the delivery workers look for new work at once rather than at the next
// poll, and cached documents are rendered afresh.
func (f *Federation) Wake() {
	f.docs.invalidate()
	poke(f.wake)
}

// deliverOne sends one queued request and records the outcome. The outcome
// is recorded even when ctx ends meanwhile (shutdown), so that a restart
// finds the delivery due again rather than leased.
func (f *Federation) deliverOne(ctx context.Context, d *chapter.Delivery) {
	sendCtx := ctx
	ctx = context.WithoutCancel(ctx)
	u, err := url.Parse(d.Inbox)
	if err != nil || u.Host == "" {
		f.drop(ctx, d, "bad inbox URL")
		return
	}
	host := u.Host
	if f.domainBlocked(ctx, host) {
		f.drop(ctx, d, "domain blocked")
		return
	}
	if _, healthy := f.healthy.Load(host); !healthy {
		if dead, err := f.store.InstanceDead(ctx, host); err == nil && dead {
			f.drop(ctx, d, "instance marked dead")
			return
		}
	}
	status, err := f.post(sendCtx, d)
	switch {
	case err == nil && status/100 == 2:
		if err := f.store.DeliveryDone(ctx, d.ID); err != nil {
			f.log.Warn("mark delivery done", "delivery_id", d.ID, "error", err)
		}
		f.instanceSucceeded(ctx, host)
		return
	case err == nil && (status == http.StatusGone || status == http.StatusNotFound):
		// The actor (or the whole server) is gone: stop following-back
		// deliveries to it, as Mastodon does.
		n, rerr := f.store.RemoveFollowersAt(ctx, d.Inbox)
		if rerr != nil {
			f.log.Warn("remove gone followers", "inbox", d.Inbox, "error", rerr)
		}
		f.log.Info("inbox gone, followers removed", "inbox", d.Inbox, "status", status, "followers_removed", n)
		f.drop(ctx, d, fmt.Sprintf("HTTP %d", status))
		return
	case err == nil && status/100 == 4 && status != http.StatusTooManyRequests && status != http.StatusRequestTimeout:
		// The receiver refused this activity; sending it again will not help.
		f.drop(ctx, d, fmt.Sprintf("HTTP %d", status))
		return
	}
	reason := fmt.Sprintf("HTTP %d", status)
	if err != nil {
		reason = err.Error()
	}
	f.retry(ctx, d, host, reason)
}

// retry schedules the next attempt with exponential back-off, and gives up
// on deliveries older than RetryMaxAge or to instances failing for longer
// than DeadAfter.
func (f *Federation) retry(ctx context.Context, d *chapter.Delivery, host, reason string) {
	now := f.now()
	f.healthy.Delete(host)
	since, err := f.store.InstanceFailed(ctx, host, now)
	if err != nil {
		f.log.Warn("record instance failure", "remote_host", host, "error", err)
	}
	if err == nil && now.Sub(since) >= f.o.DeadAfter {
		if err := f.store.MarkInstanceDead(ctx, host, now); err != nil {
			f.log.Warn("mark instance dead", "remote_host", host, "error", err)
		}
		f.log.Warn("instance marked dead", "remote_host", host, "failing_since", since)
		f.drop(ctx, d, "instance dead: "+reason)
		return
	}
	if now.Sub(d.CreatedAt) >= f.o.RetryMaxAge {
		f.drop(ctx, d, "gave up: "+reason)
		return
	}
	doublings := d.Attempts
	if doublings > maxBackoffDoublings {
		doublings = maxBackoffDoublings
	}
	delay := f.o.RetryBase << doublings
	f.log.Info("delivery failed, will retry", "inbox", d.Inbox, "activity_id", d.ActivityIRI,
		"attempts", d.Attempts+1, "retry_delay_seconds", delay.Seconds(), "error", reason)
	if err := f.store.RetryDelivery(ctx, d.ID, reason, now.Add(delay)); err != nil {
		f.log.Warn("schedule retry", "delivery_id", d.ID, "error", err)
	}
}

// instanceSucceeded clears a host's failure streak in the store, once: a
// host already known healthy in this process needs no write per delivery.
func (f *Federation) instanceSucceeded(ctx context.Context, host string) {
	if _, ok := f.healthy.Load(host); ok {
		return
	}
	if err := f.store.InstanceSucceeded(ctx, host); err != nil {
		f.log.Warn("mark instance healthy", "remote_host", host, "error", err)
		return
	}
	f.healthy.Store(host, true)
}

func (f *Federation) drop(ctx context.Context, d *chapter.Delivery, reason string) {
	f.log.Info("delivery dropped", "inbox", d.Inbox, "activity_id", d.ActivityIRI, "reason", reason)
	if err := f.store.DropDelivery(ctx, d.ID, reason); err != nil {
		f.log.Warn("drop delivery", "delivery_id", d.ID, "error", err)
	}
}

// signer returns the local account that signs a delivery; local accounts
// never change username, so they are kept after the first read.
func (f *Federation) signer(ctx context.Context, id int64) (*chapter.Account, error) {
	if a, ok := f.signers.Load(id); ok {
		return a.(*chapter.Account), nil
	}
	a, err := f.store.Account(ctx, id)
	if err != nil {
		return nil, fmt.Errorf("signer %d: %w", id, err)
	}
	f.signers.Store(id, a)
	return a, nil
}

// post sends one signed activity and returns the HTTP status.
func (f *Federation) post(ctx context.Context, d *chapter.Delivery) (int, error) {
	if _, err := CheckURL(d.Inbox, f.o.AllowHTTP); err != nil {
		return http.StatusForbidden, nil // an http:// inbox without allow_http: never sendable
	}
	signer, err := f.signer(ctx, d.SignerID)
	if err != nil {
		return 0, err
	}
	ctx, cancel := context.WithTimeout(ctx, f.requestTimeout())
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, d.Inbox, bytes.NewReader(d.Body))
	if err != nil {
		return 0, fmt.Errorf("request: %w", err)
	}
	req.Header.Set("Content-Type", `application/activity+json`)
	req.Header.Set("Accept", activityAccept)
	if err := f.sign(ctx, req, d.Body, signer); err != nil {
		return 0, err
	}
	resp, err := f.client.Do(req)
	if err != nil {
		if errors.Is(err, ErrForbiddenAddress) {
			return http.StatusForbidden, nil // never retry a refused address
		}
		return 0, fmt.Errorf("post: %w", err)
	}
	_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 64<<10))
	resp.Body.Close()
	return resp.StatusCode, nil
}
