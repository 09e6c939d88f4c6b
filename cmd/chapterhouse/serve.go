package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"path/filepath"
	"sync"
	"time"

	"github.com/chapterhouse/chapterhouse/config"
)

// serve listens on the configured address and runs the node until ctx ends.
func serve(ctx context.Context, cfg *config.Config, stdout, stderr io.Writer) error {
	ln, err := net.Listen("tcp", cfg.Listen)
	if err != nil {
		return fmt.Errorf("listen on %s: %w", cfg.Listen, err)
	}
	return serveOn(ctx, cfg, ln, stdout, stderr)
}

// serveOn runs the node on a listener the caller opened (tests open one on
// port 0 first, so they know the public URL before the node starts).
func serveOn(ctx context.Context, cfg *config.Config, ln net.Listener, stdout, stderr io.Writer) error {
	log := newLogger(cfg, stderr)
	n, err := openNode(ctx, cfg, log)
	if err != nil {
		ln.Close()
		return err
	}
	defer n.Close()
	handler, err := n.handler()
	if err != nil {
		ln.Close()
		return err
	}
	srv := &http.Server{
		Handler:           wakeAfterWrites(handler, n.fed.Wake),
		ReadHeaderTimeout: 10 * time.Second,
		ReadTimeout:       30 * time.Second,
		WriteTimeout:      60 * time.Second,
		IdleTimeout:       120 * time.Second,
		MaxHeaderBytes:    64 << 10,
	}
	workCtx, stopWork := context.WithCancel(context.WithoutCancel(ctx))
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		if err := n.fed.Run(workCtx); err != nil {
			log.Error("federation workers stopped", "error", err)
		}
	}()
	wg.Add(1)
	go func() { defer wg.Done(); n.linkParent(workCtx) }()
	serveErr := make(chan error, 1)
	go func() { serveErr <- srv.Serve(ln) }()
	printWelcome(stdout, cfg, "http://"+ln.Addr().String())

	select {
	case err = <-serveErr:
	case <-ctx.Done():
		shutdownCtx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		err = srv.Shutdown(shutdownCtx)
		cancel()
	}
	stopWork()
	wg.Wait()
	if errors.Is(err, http.ErrServerClosed) {
		err = nil
	}
	return err
}

// wakeAfterWrites pokes the delivery workers after every request that may
// have queued deliveries, so posts leave at once instead of at the next poll.
func wakeAfterWrites(next http.Handler, wake func()) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		next.ServeHTTP(w, r)
		if r.Method != http.MethodGet && r.Method != http.MethodHead {
			wake()
		}
	})
}

func printWelcome(w io.Writer, cfg *config.Config, listening string) {
	fmt.Fprintf(w, `Chapterhouse node %q is running.
  listening on   %s
  public URL     %s
  handle         @%s@%s
  data           %s

Open %s in a browser. To run the chapter from there, in another terminal:
  go run ./cmd/chapterhouse member add admin --admin
  echo 'a long admin password' | go run ./cmd/chapterhouse member password admin
then sign in as admin; people apply to join on /join and you approve them on /admin.
The member API: go run ./cmd/chapterhouse token admin gives a bearer token.

To be reachable from Mastodon, put HTTPS in front of this address and set
public_url to that https:// URL (see README.md). Stop with Ctrl-C.
`, cfg.Node.Name, listening, cfg.PublicURL, cfg.Node.Handle, cfg.Host(),
		filepath.Join(cfg.DataDir, "chapterhouse.db"), cfg.PublicURL)
}
