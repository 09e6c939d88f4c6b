package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"path/filepath"
	"strings"
	"time"

	"github.com/gorilla/mux"

	"github.com/chapterhouse/chapterhouse/chapter"
	"github.com/chapterhouse/chapterhouse/config"
	"github.com/chapterhouse/chapterhouse/federation"
	"github.com/chapterhouse/chapterhouse/store"
	"github.com/chapterhouse/chapterhouse/web"
)

// node is one Chapterhouse node wired together: the store, the domain
// service, the federation layer and the HTTP routes.
type node struct {
	cfg *config.Config
	db  *store.DB
	svc *chapter.Service
	fed *federation.Federation
	log *slog.Logger
}

// openNode opens the data directory and wires every layer. The caller
// closes it.
func openNode(ctx context.Context, cfg *config.Config, log *slog.Logger) (*node, error) {
	db, err := store.Open(ctx, cfg.DataDir)
	if err != nil {
		return nil, fmt.Errorf("open data directory %q: %w", cfg.DataDir, err)
	}
	fed := federation.New(federation.Options{
		Store: db, PublicURL: cfg.PublicURL,
		AllowHTTP: cfg.Federation.AllowHTTP, AllowPrivateNetworks: cfg.Federation.AllowPrivateNetworks,
		AuthorizedFetch: cfg.Federation.AuthorizedFetch, RequestTimeout: cfg.Federation.RequestTimeout,
		Workers: cfg.Federation.Workers, RetryBase: cfg.Federation.RetryBase,
		RetryMaxAge: cfg.Federation.RetryMaxAge, DeadAfter: cfg.Federation.DeadAfter,
		MaxBodyBytes: cfg.Limits.MaxBodyBytes, MaxJSONDepth: cfg.Limits.MaxJSONDepth,
		BlockedDomains: cfg.Federation.BlockedDomains, InboxRateLimit: cfg.Federation.InboxRateLimit,
		InboxBurst: cfg.Federation.InboxBurst, Version: version, Logger: log,
	})
	svc := chapter.NewService(chapter.Options{
		Store: db, Publisher: fed, Resolver: fed, Hasher: web.Argon2id{}, Directory: fed,
		Node: chapter.Node{Handle: cfg.Node.Handle, Name: cfg.Node.Name, Summary: cfg.Node.Summary,
			Level: chapter.Level(cfg.Node.Level), Locked: cfg.Node.Locked, Host: cfg.Host(),
			Parent: cfg.Node.Parent, AutoApproveChildren: cfg.Node.ApproveChildren == "auto",
			RelayParentPosts: cfg.Node.RelayParentPosts},
	})
	fed.Bind(svc)
	if _, err := svc.EnsureNode(ctx); err != nil {
		db.Close()
		return nil, err
	}
	return &node{cfg: cfg, db: db, svc: svc, fed: fed, log: log}, nil
}

// linkParent asks the configured parent to link this node, retrying while
// the parent is unreachable (nodes of a tree start in any order) and giving
// up with a clear log line when the configuration is wrong.
func (n *node) linkParent(ctx context.Context) {
	if n.cfg.Node.Parent == "" {
		return
	}
	delay := time.Second
	for {
		l, err := n.svc.LinkParent(ctx)
		if err == nil {
			n.log.Info("asked parent to link", "parent", n.cfg.Node.Parent, "state", string(l.State))
			n.fed.Wake()
			return
		}
		if errors.Is(err, chapter.ErrInvalid) {
			n.log.Error("parent not linked: fix node.parent", "parent", n.cfg.Node.Parent, "error", err)
			return
		}
		n.log.Warn("parent not reachable yet, will retry", "parent", n.cfg.Node.Parent,
			"retry_delay_seconds", delay.Seconds(), "error", err)
		select {
		case <-ctx.Done():
			return
		case <-time.After(delay):
		}
		delay = min(2*delay, time.Minute)
	}
}

// Close releases the store.
func (n *node) Close() error { return n.db.Close() }

// handler is every route of the node: ActivityPub, the member API and the
// website.
func (n *node) handler() (http.Handler, error) {
	r := mux.NewRouter()
	n.fed.Routes(r)
	web.NewAPI(web.APIOptions{Service: n.svc, PublicURL: n.cfg.PublicURL, Version: version,
		Logger: n.log, MaxBodyBytes: n.cfg.Limits.MaxBodyBytes}).Routes(r)
	site, err := web.NewSite(web.SiteOptions{Service: n.svc, PublicURL: n.cfg.PublicURL, Logger: n.log,
		MediaDir: filepath.Join(n.cfg.DataDir, "media")})
	if err != nil {
		return nil, fmt.Errorf("website: %w", err)
	}
	site.Routes(r)
	return r, nil
}

// newLogger builds the logger the configuration asks for.
func newLogger(cfg *config.Config, w io.Writer) *slog.Logger {
	var level slog.Level
	_ = level.UnmarshalText([]byte(strings.ToUpper(cfg.Log.Level))) // validated by config
	opts := &slog.HandlerOptions{Level: level}
	if cfg.Log.Format == "json" {
		return slog.New(slog.NewJSONHandler(w, opts))
	}
	return slog.New(slog.NewTextHandler(w, opts))
}
