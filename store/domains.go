package store

import (
	"context"
	"fmt"
	"net"
	"strings"
	"time"

	"github.com/chapterhouse/chapterhouse/chapter"
)

const (
	qDomainBlock = `INSERT INTO domain_blocks (host, created_at) VALUES (?, ?)
		ON CONFLICT (host) DO NOTHING`
	qDomainUnblock = `DELETE FROM domain_blocks WHERE host = ?`
	qDomainBlocks  = `SELECT host FROM domain_blocks ORDER BY host`
)

// normalizeHost lower-cases host and drops a trailing dot.
func normalizeHost(host string) string {
	return strings.TrimSuffix(strings.ToLower(strings.TrimSpace(host)), ".")
}

// BlockDomain implements chapter.DomainStore. Blocking a domain blocks its
// subdomains too (see DomainBlocked); blocking twice is not an error.
func (db *DB) BlockDomain(ctx context.Context, host string) error {
	host = normalizeHost(host)
	if host == "" {
		return fmt.Errorf("store: block domain: empty host: %w", chapter.ErrInvalid)
	}
	_, err := db.exec(ctx, nil, qDomainBlock, host, time.Now().UnixMilli())
	return errf(err, "block domain %s", host)
}

// UnblockDomain lifts a block; ErrNotFound when host was not blocked.
func (db *DB) UnblockDomain(ctx context.Context, host string) error {
	host = normalizeHost(host)
	res, err := db.exec(ctx, nil, qDomainUnblock, host)
	if err == nil {
		err = notFoundIfNone(res)
	}
	return errf(err, "unblock domain %s", host)
}

// DomainBlocked implements chapter.DomainStore. host (with or without a
// port) is blocked when it, its name without the port, or one of its parent
// domains is: a block of example.com covers social.example.com.
func (db *DB) DomainBlocked(ctx context.Context, host string) (bool, error) {
	cands := blockCandidates(normalizeHost(host))
	if len(cands) == 0 {
		return false, nil
	}
	args := make([]any, len(cands))
	for i, c := range cands {
		args[i] = c
	}
	var n int
	err := db.readRow(ctx, nil, `SELECT count(*) FROM domain_blocks WHERE host IN (`+
		placeholders(len(cands))+`)`, args...).Scan(&n)
	return n > 0, errf(err, "domain %s blocked", host)
}

// blockCandidates lists the entries that would block host.
func blockCandidates(host string) []string {
	if host == "" {
		return nil
	}
	cands := []string{host}
	name := host
	if h, _, err := net.SplitHostPort(host); err == nil {
		name = strings.Trim(h, "[]")
		cands = append(cands, name)
	}
	if net.ParseIP(name) != nil {
		return cands
	}
	for {
		_, parent, ok := strings.Cut(name, ".")
		if !ok || parent == "" {
			return cands
		}
		cands = append(cands, parent)
		name = parent
	}
}

// BlockedDomains implements chapter.DomainStore, in alphabetical order.
func (db *DB) BlockedDomains(ctx context.Context) ([]string, error) {
	hosts, err := db.texts(ctx, nil, qDomainBlocks)
	return hosts, errf(err, "blocked domains")
}
