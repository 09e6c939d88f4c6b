package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"time"

	"github.com/spf13/cobra"

	"github.com/chapterhouse/chapterhouse/chapter"
	"github.com/chapterhouse/chapterhouse/config"
)

// demoLevels are the nodes of the demo tree, top first; each one's parent
// is the one before it. Handles are the level names, as in docker-compose.yml.
var demoLevels = []string{"international", "national", "city", "chapter"}

// demoAddressesFile, in a --dir, remembers the ports of the previous run:
// a node's public URL (and so every actor id it stored) includes its port.
const demoAddressesFile = "addresses"

// demoCommand runs a whole organization tree on this machine, for newcomers.
func demoCommand(stdout, stderr io.Writer) *cobra.Command {
	demo := &cobra.Command{
		Use:   "demo",
		Short: "Try Chapterhouse on this machine, with nothing to configure",
	}
	var o demoOptions
	tree := &cobra.Command{
		Use:   "tree",
		Short: "Run a chapter, city, national and international node linked in one process and follow a post up",
		Long: `Starts four nodes on loopback ports in this process, linked by configuration
alone (chapter -> city -> national -> international, children approved
automatically), adds a member "demo" on the chapter, posts "Hello from the
chapter" and reports when and how fast it reaches each node above. The nodes
keep running until Ctrl-C (or exit at once with --once); their data is in a
temporary directory removed on exit unless --dir is given.

Plain HTTP and loopback peers are allowed here (federation.allow_http and
federation.allow_private_networks), as they must never be on a public node.
The nodes' configuration is built in: --config and the configuration flags
are ignored, except --log-level (default warn) for the nodes' logs on stderr.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			o.logLevel = "warn"
			if f := cmd.Flags().Lookup("log-level"); f != nil && f.Changed {
				o.logLevel = strings.ToLower(f.Value.String())
			}
			return runDemoTree(cmd.Context(), o, stdout, stderr)
		},
	}
	tree.Flags().StringVar(&o.dir, "dir", "", "keep the nodes' data in this directory (default: a temporary directory, removed on exit)")
	tree.Flags().BoolVar(&o.once, "once", false, "exit as soon as the post reaches the international node")
	tree.Flags().DurationVar(&o.timeout, "timeout", time.Minute, "give up when the tree is not linked, or the post has not arrived, within this")
	demo.AddCommand(tree)
	return demo
}

type demoOptions struct {
	dir      string
	once     bool
	timeout  time.Duration
	logLevel string // the nodes' log level; their logs go to stderr
}

// demoNode is one node of the demo tree.
type demoNode struct {
	cfg *config.Config
	ln  net.Listener
}

func (n *demoNode) handle() string { return "@" + n.cfg.Node.Handle + "@" + n.cfg.Host() }
func (n *demoNode) actor() string  { return n.cfg.PublicURL + "/users/" + n.cfg.Node.Handle }

// nodeExit is a node's serveOn returning.
type nodeExit struct {
	name string
	err  error
}

// runDemoTree is `chapterhouse demo tree`.
func runDemoTree(ctx context.Context, o demoOptions, stdout, stderr io.Writer) (err error) {
	if o.timeout <= 0 {
		return errors.New("--timeout must be greater than 0")
	}
	root := o.dir
	if root == "" {
		if root, err = os.MkdirTemp("", "chapterhouse-demo-"); err != nil {
			return err
		}
		defer func() {
			if rmErr := os.RemoveAll(root); rmErr != nil {
				err = errors.Join(err, rmErr)
			}
		}()
	} else if err := os.MkdirAll(root, 0o700); err != nil {
		return err
	}

	nodes, err := demoNodes(root, o)
	if err != nil {
		return err
	}
	// The nodes run under their own context so that they also stop when
	// this function returns early (timeout, a node failing).
	nodeCtx, stopNodes := context.WithCancel(ctx)
	var wg sync.WaitGroup
	exited := make(chan nodeExit, len(nodes))
	logs := &lockedWriter{w: stderr}
	for _, n := range nodes {
		wg.Add(1)
		go func() {
			defer wg.Done()
			w := &prefixWriter{lw: logs, prefix: "[" + n.cfg.Node.Handle + "] "}
			exited <- nodeExit{n.cfg.Node.Handle, serveOn(nodeCtx, n.cfg, n.ln, io.Discard, w)}
		}()
	}
	defer func() {
		stopNodes()
		wg.Wait()
		close(exited)
		for e := range exited {
			if e.err != nil {
				err = errors.Join(err, fmt.Errorf("%s node: %w", e.name, e.err))
			}
		}
		where := "removing " + root
		if o.dir != "" {
			where = "data kept in " + root
		}
		fmt.Fprintf(stdout, "All four nodes stopped; %s.\n", where)
	}()

	fmt.Fprintf(stdout, "Chapterhouse demo: four nodes in this process, linked by configuration alone.\n\n")
	for _, n := range nodes {
		parent := ""
		if n.cfg.Node.Parent != "" {
			parent = "parent " + n.cfg.Node.Parent
		}
		line := fmt.Sprintf("  %-14s %-24s %-36s %s", n.cfg.Node.Level, n.cfg.PublicURL, n.handle(), parent)
		fmt.Fprintln(stdout, strings.TrimRight(line, " "))
	}
	fmt.Fprintf(stdout, "\nData in %s.\n", root)

	w := &demoWaiter{ctx: ctx, exited: exited, deadline: time.Now().Add(o.timeout),
		client: &http.Client{Timeout: 5 * time.Second}}

	// 1. The tree links: every child asks its parent, which approves it
	// (approve_children: auto) and follows it back.
	start := time.Now()
	fmt.Fprintln(stdout, "\nStarting the nodes and linking the tree...")
	pending := map[int]bool{1: true, 2: true, 3: true}
	err = w.until("the tree to link", func() bool {
		for i := range pending {
			if w.linked(nodes[i-1], nodes[i]) {
				delete(pending, i)
				fmt.Fprintf(stdout, "  %-8s linked to %-14s after %s\n", nodes[i].cfg.Node.Level,
					nodes[i-1].cfg.Node.Level, millis(time.Since(start)))
			}
		}
		return len(pending) == 0
	})
	if err != nil {
		return err
	}

	// 2. A member of the chapter posts, through the chapter's service as
	// `chapterhouse post` does: the serving node delivers it.
	chap := nodes[len(nodes)-1]
	author, post, start, err := demoPost(ctx, chap.cfg, &prefixWriter{lw: logs, prefix: "[chapter cli] "})
	if err != nil {
		return err
	}
	fmt.Fprintf(stdout, "\n@%s@%s posted %q: %s\n", author.Username, chap.cfg.Host(), "Hello from the chapter", post.URL)

	// 3. It travels up: city, national, international.
	arrived := map[int]bool{}
	err = w.until("the post to reach the international node", func() bool {
		for i := len(nodes) - 2; i >= 0; i-- {
			if !arrived[i] && w.inTimeline(nodes[i], post.IRI) {
				arrived[i] = true
				fmt.Fprintf(stdout, "  in the %-14s public timeline after %s\n", nodes[i].cfg.Node.Level, millis(time.Since(start)))
			}
		}
		return arrived[0]
	})
	if err != nil {
		return err
	}
	intl := nodes[0]
	fmt.Fprintf(stdout, "\nchapter → international in %s\n", millis(time.Since(start)))
	fmt.Fprintln(stdout, "(a post made from the command line, as here, leaves at the running chapter node's next\n"+
		"delivery poll, within a quarter second; a post made through the API leaves at once.)")
	if o.once {
		return nil
	}

	fmt.Fprintf(stdout, `
The nodes keep running. Look around:
  curl %s/api/v1/timelines/public
  curl -H 'Accept: application/activity+json' %s/children
Stop with Ctrl-C.
`, intl.cfg.PublicURL, intl.actor())
	select {
	case <-ctx.Done():
		fmt.Fprintln(stdout, "\nStopping...")
		return nil
	case e := <-exited:
		return fmt.Errorf("%s node stopped: %v", e.name, e.err)
	}
}

// demoNodes opens the four listeners first, because a node's public URL
// (its identity) must be known before it starts, and builds each node's
// configuration from the defaults. In a --dir, the ports of the previous
// run are used again so that the stored identities stay valid.
func demoNodes(root string, o demoOptions) (nodes []*demoNode, err error) {
	addrs := map[string]string{}
	if o.dir != "" {
		if b, err := os.ReadFile(filepath.Join(root, demoAddressesFile)); err == nil {
			for _, line := range strings.Split(string(b), "\n") {
				if name, addr, ok := strings.Cut(strings.TrimSpace(line), " "); ok {
					addrs[name] = addr
				}
			}
		} else if !errors.Is(err, os.ErrNotExist) {
			return nil, err
		}
	}
	defer func() {
		if err != nil {
			for _, n := range nodes {
				n.ln.Close()
			}
			nodes = nil
		}
	}()
	var record strings.Builder
	for i, level := range demoLevels {
		addr := addrs[level]
		if addr == "" {
			addr = "127.0.0.1:0"
		}
		ln, err := net.Listen("tcp", addr)
		if err != nil {
			return nodes, fmt.Errorf("%s node: %w (its port is kept from the previous demo in %s; stop what uses it or give another --dir)", level, err, root)
		}
		cfg := config.Default()
		cfg.Listen = ln.Addr().String()
		cfg.PublicURL = "http://" + cfg.Listen
		cfg.DataDir = filepath.Join(root, level)
		cfg.Log.Level = o.logLevel
		cfg.Node.Handle = level
		cfg.Node.Name = "Demo " + level
		cfg.Node.Level = level
		cfg.Node.ApproveChildren = "auto"
		if i > 0 {
			parent := nodes[i-1]
			cfg.Node.Parent = parent.handle()
		}
		// Loopback peers over plain HTTP: for this demo on one machine only.
		cfg.Federation.AllowHTTP = true
		cfg.Federation.AllowPrivateNetworks = true
		cfg.Federation.RetryBase = 200 * time.Millisecond
		cfg.Federation.RequestTimeout = 5 * time.Second
		nodes = append(nodes, &demoNode{cfg: cfg, ln: ln})
		if err := cfg.Validate(); err != nil {
			return nodes, err
		}
		fmt.Fprintf(&record, "%s %s\n", level, cfg.Listen)
	}
	if o.dir != "" {
		if err := os.WriteFile(filepath.Join(root, demoAddressesFile), []byte(record.String()), 0o600); err != nil {
			return nodes, err
		}
	}
	return nodes, nil
}

// demoPost adds the member "demo" on the chapter (once; a --dir may have it
// already) and posts as it, through a second handle on the chapter's data
// directory, exactly as `chapterhouse member add` and `chapterhouse post` do
// next to a running node. It returns when the post was created.
func demoPost(ctx context.Context, cfg *config.Config, logs io.Writer) (*chapter.Account, *chapter.Post, time.Time, error) {
	n, err := openNode(ctx, cfg, newLogger(cfg, logs))
	if err != nil {
		return nil, nil, time.Time{}, err
	}
	defer n.Close()
	author, err := n.db.AccountByUsername(ctx, "demo")
	if errors.Is(err, chapter.ErrNotFound) {
		author, err = n.svc.AddMember(ctx, "demo", chapter.RoleMember)
	}
	if err != nil {
		return nil, nil, time.Time{}, err
	}
	start := time.Now()
	p, err := n.svc.CreatePost(ctx, author.ID, chapter.NewPost{Text: "Hello from the chapter", Visibility: chapter.VisibilityPublic})
	if err != nil {
		return nil, nil, time.Time{}, err
	}
	return author, p, start, nil
}

// demoWaiter polls the running nodes until a condition holds, the overall
// deadline passes, a node stops or the user interrupts.
type demoWaiter struct {
	ctx      context.Context
	exited   <-chan nodeExit
	deadline time.Time
	client   *http.Client
}

func (w *demoWaiter) until(what string, cond func() bool) error {
	for !cond() {
		if time.Now().After(w.deadline) {
			return fmt.Errorf("timed out waiting for %s (see the nodes' logs with --log-level info)", what)
		}
		select {
		case <-w.ctx.Done():
			return fmt.Errorf("interrupted while waiting for %s: %w", what, w.ctx.Err())
		case e := <-w.exited:
			return fmt.Errorf("%s node stopped while waiting for %s: %v", e.name, what, e.err)
		case <-time.After(10 * time.Millisecond):
		}
	}
	return nil
}

// getJSON fetches u into out; any failure is "not yet".
func (w *demoWaiter) getJSON(u, accept string, out any) bool {
	req, err := http.NewRequestWithContext(w.ctx, http.MethodGet, u, nil)
	if err != nil {
		return false
	}
	req.Header.Set("Accept", accept)
	resp, err := w.client.Do(req)
	if err != nil {
		return false
	}
	defer resp.Body.Close()
	return resp.StatusCode == http.StatusOK && json.NewDecoder(io.LimitReader(resp.Body, 4<<20)).Decode(out) == nil
}

// linked reports whether parent lists child in its children collection and
// follows it back, so that the child's posts are delivered to it.
func (w *demoWaiter) linked(parent, child *demoNode) bool {
	const ap = "application/activity+json"
	var children struct {
		OrderedItems []struct {
			ID string `json:"id"`
		} `json:"orderedItems"`
	}
	if !w.getJSON(parent.actor()+"/children", ap, &children) {
		return false
	}
	listed := false
	for _, c := range children.OrderedItems {
		listed = listed || c.ID == child.actor()
	}
	var following struct {
		OrderedItems []string `json:"orderedItems"`
	}
	if !listed || !w.getJSON(parent.actor()+"/following?page=1", ap, &following) {
		return false
	}
	for _, f := range following.OrderedItems {
		if f == child.actor() {
			return true
		}
	}
	return false
}

// inTimeline reports whether the post with this ActivityPub id is in the
// node's public timeline.
func (w *demoWaiter) inTimeline(n *demoNode, iri string) bool {
	var timeline []struct {
		URI string `json:"uri"`
	}
	if !w.getJSON(n.cfg.PublicURL+"/api/v1/timelines/public", "application/json", &timeline) {
		return false
	}
	for _, s := range timeline {
		if s.URI == iri {
			return true
		}
	}
	return false
}

// millis renders a duration for people: "180 ms", or "2.4 s" above 10 s.
func millis(d time.Duration) string {
	if d < 10*time.Second {
		return fmt.Sprintf("%d ms", d.Milliseconds())
	}
	return fmt.Sprintf("%.1f s", d.Seconds())
}

// lockedWriter serializes the writes of several loggers to one writer.
type lockedWriter struct {
	mu sync.Mutex
	w  io.Writer
}

// prefixWriter starts every write (one log record each, as slog writes
// them) with the node's name, so the four nodes' logs can be told apart.
type prefixWriter struct {
	lw     *lockedWriter
	prefix string
}

func (p *prefixWriter) Write(b []byte) (int, error) {
	p.lw.mu.Lock()
	defer p.lw.mu.Unlock()
	if _, err := io.WriteString(p.lw.w, p.prefix); err != nil {
		return 0, err
	}
	return p.lw.w.Write(b)
}

// healthCommand checks a running node from the outside, for container
// health checks: the image has no curl, and needs none.
func healthCommand(load loader, stdout io.Writer) *cobra.Command {
	var rawURL string
	var timeout time.Duration
	cmd := &cobra.Command{
		Use:   "health",
		Short: "Check that the node answers: GET /api/v1/instance on the listen address, non-zero exit if not",
		Long: `Fetches /api/v1/instance from the node this configuration describes, on its
listen address (0.0.0.0 and :: become loopback), and exits non-zero unless
it answers 200 with the instance document within --timeout. For container
health checks:

  chapterhouse health --config /etc/chapterhouse/chapterhouse.yaml`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			u := rawURL
			if u == "" {
				cfg, err := load(cmd)
				if err != nil {
					return err
				}
				if u, err = healthURL(cfg.Listen); err != nil {
					return err
				}
			}
			return checkHealth(cmd.Context(), u, timeout, stdout)
		},
	}
	cmd.Flags().StringVar(&rawURL, "url", "", "URL to check instead (default: http:// + listen + /api/v1/instance)")
	cmd.Flags().DurationVar(&timeout, "timeout", 3*time.Second, "how long to wait for the answer")
	return cmd
}

// healthURL is the instance document on the listen address, reachable from
// the same machine (or container).
func healthURL(listen string) (string, error) {
	host, port, err := net.SplitHostPort(listen)
	if err != nil {
		return "", fmt.Errorf("listen %q: %w", listen, err)
	}
	if port == "0" {
		return "", fmt.Errorf("listen %q has no fixed port: give --url", listen)
	}
	switch ip := net.ParseIP(host); {
	case host == "" || (ip != nil && ip.IsUnspecified() && ip.To4() != nil):
		host = "127.0.0.1"
	case ip != nil && ip.IsUnspecified():
		host = "::1"
	}
	return "http://" + net.JoinHostPort(host, port) + "/api/v1/instance", nil
}

// checkHealth GETs u and accepts only a 200 instance document.
func checkHealth(ctx context.Context, u string, timeout time.Duration, stdout io.Writer) error {
	if timeout <= 0 {
		return errors.New("--timeout must be greater than 0")
	}
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u, nil)
	if err != nil {
		return fmt.Errorf("health: %w", err)
	}
	req.Header.Set("Accept", "application/json")
	start := time.Now()
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return fmt.Errorf("health: %w", err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("health: GET %s: %s", u, resp.Status)
	}
	var doc struct {
		URI     string `json:"uri"`
		Version string `json:"version"`
	}
	if err := json.NewDecoder(io.LimitReader(resp.Body, 1<<20)).Decode(&doc); err != nil || doc.URI == "" {
		return fmt.Errorf("health: GET %s: not a Chapterhouse instance document", u)
	}
	fmt.Fprintf(stdout, "ok: %s answered in %s (%s, version %s)\n", u, millis(time.Since(start)), doc.URI, doc.Version)
	return nil
}
