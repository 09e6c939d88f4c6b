package main

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"image/png"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	cdpbrowser "github.com/chromedp/cdproto/browser"
	"github.com/chromedp/cdproto/cdp"
	"github.com/chromedp/cdproto/css"
	"github.com/chromedp/cdproto/network"
	"github.com/chromedp/chromedp"
)

// This file is the harness of the browser tests (browser_test.go): a real
// Chromium, driven through the DevTools protocol by chromedp, against a node
// that newTestNode runs. Chromium comes from Debian's package at
// /usr/bin/chromium (.ci/run installs it with the fonts the eleven languages
// need); the tests never download a browser.

// chromiumPath is Debian's Chromium. The tests fail without it: CI installs
// it, so a missing browser is a broken machine, not a reason to skip.
const chromiumPath = "/usr/bin/chromium"

// chromiumInstall is what to run when it is missing.
const chromiumInstall = "apt-get install -y --no-install-recommends chromium fonts-noto-core fonts-noto-cjk"

const (
	// browserStartTimeout bounds the start of the browser and its first tab.
	browserStartTimeout = 60 * time.Second
	// browserStepTimeout bounds every step: a navigation, a click and the
	// page it loads, a query that waits for an element.
	browserStepTimeout = 20 * time.Second
	// browserLifetime bounds a whole browser: past it Chromium is killed,
	// whatever it is doing.
	browserLifetime = 5 * time.Minute
)

// browserViewport is the size of the browser's window, in CSS pixels.
type browserViewport struct {
	name          string
	width, height int
	phone         bool // emulate a phone: mobile meta viewport, touch, scale 2
}

var (
	desktopViewport = browserViewport{name: "desktop", width: 1280, height: 900}
	phoneViewport   = browserViewport{name: "phone", width: 390, height: 844, phone: true}
)

// browser is one headless Chromium with one tab, for one test.
type browser struct {
	t      testing.TB
	ctx    context.Context // the tab's chromedp context
	who    string          // whose browser, in failure messages
	vp     browserViewport
	output *syncBuffer // what Chromium printed
	shots  string      // where screenshots go
	// server, when set, tells what the server did (a node's log), for
	// failure messages.
	server func() string
}

// newBrowser starts Chromium with a fresh profile and opens a tab of the
// viewport's size. The browser closes when the test ends.
func newBrowser(t testing.TB, vp browserViewport) *browser {
	t.Helper()
	if _, err := os.Stat(chromiumPath); err != nil {
		t.Fatalf("the browser tests need Debian's Chromium at %s (%v): install it with\n  %s\n(.ci/run does this on CI)",
			chromiumPath, err, chromiumInstall)
	}
	// Made before the cleanups below, so it is removed after Chromium has
	// exited and written its last file.
	profile := t.TempDir()
	b := &browser{t: t, who: vp.name, vp: vp, output: &syncBuffer{}, shots: browserArtifactsDir(t)}

	opts := []chromedp.ExecAllocatorOption{
		chromedp.ExecPath(chromiumPath),
		chromedp.Headless,
		chromedp.NoSandbox, // the tests run as root on CI
		chromedp.NoFirstRun,
		chromedp.NoDefaultBrowserCheck,
		chromedp.DisableGPU,
		// This machine's network is closed: no update checks, no sync, no
		// component downloads, no QUIC probes, so Chromium does not spend
		// its start on refused connections.
		chromedp.Flag("disable-background-networking", true),
		chromedp.Flag("disable-component-update", true),
		chromedp.Flag("disable-sync", true),
		chromedp.Flag("disable-quic", true),
		chromedp.Flag("disable-extensions", true),
		chromedp.Flag("disable-default-apps", true),
		chromedp.Flag("disable-dev-shm-usage", true),
		chromedp.Flag("disable-features", "Translate,MediaRouter,OptimizationHints"),
		chromedp.Flag("hide-scrollbars", true),
		chromedp.Flag("mute-audio", true),
		// English first, whatever the machine's locale: the tests switch
		// languages through the page, not through Accept-Language.
		chromedp.Flag("lang", "en-US"),
		chromedp.Flag("accept-lang", "en-US,en"),
		chromedp.Env("LANGUAGE=en_US", "TZ=UTC"),
		chromedp.UserDataDir(profile),
		chromedp.WindowSize(vp.width, vp.height),
		chromedp.CombinedOutput(b.output),
	}
	life, stopLife := context.WithTimeout(context.Background(), browserLifetime)
	allocCtx, stopAlloc := chromedp.NewExecAllocator(life, opts...)
	// chromedp's own messages go to the test's log while the test runs,
	// never after it: a late t.Logf panics.
	var ended atomic.Bool
	logf := func(f string, args ...any) {
		if !ended.Load() {
			t.Logf("chromedp: "+f, args...)
		}
	}
	ctx, stopTab := chromedp.NewContext(allocCtx, chromedp.WithLogf(logf), chromedp.WithErrorf(logf))
	t.Cleanup(func() {
		defer ended.Store(true)
		// Close the browser gracefully, within a limit, then make sure the
		// process is gone before the profile is removed.
		cctx, cancel := context.WithTimeout(ctx, 10*time.Second)
		if err := chromedp.Cancel(cctx); err != nil && !errors.Is(err, context.Canceled) && !errors.Is(err, context.DeadlineExceeded) {
			t.Logf("closing the browser: %v", err)
		}
		cancel()
		stopTab()
		stopAlloc()
		stopLife()
	})
	b.ctx = ctx

	// The first Run starts the browser and binds it to ctx, so it gets no
	// deadline of its own (that would end the browser); the wait is bounded
	// here instead.
	start := time.Now()
	started := make(chan error, 1)
	go func() { started <- chromedp.Do(ctx) }()
	select {
	case err := <-started:
		if err != nil {
			t.Fatalf("start %s: %v\nChromium's output:\n%s", chromiumPath, err, lastBytes(b.output.String(), 4000))
		}
	case <-time.After(browserStartTimeout):
		stopAlloc()
		t.Fatalf("%s did not start within %s\nChromium's output:\n%s", chromiumPath, browserStartTimeout, lastBytes(b.output.String(), 4000))
	}
	if vp.phone {
		b.do("emulate a phone", chromedp.EmulateViewport(int64(vp.width), int64(vp.height),
			chromedp.EmulateMobile, chromedp.EmulateTouch, chromedp.EmulatePortrait, chromedp.EmulateScale(2)))
	}
	version, err := chromedp.CallBrowser(ctx, cdpbrowser.GetVersion, cdp.Empty{})
	if err == nil {
		t.Logf("%s started in %s (%s, %dx%d)", version.Product, time.Since(start).Round(time.Millisecond), vp.name, vp.width, vp.height)
	}
	return b
}

// person opens a tab for someone else in the same Chromium, in a browser
// context of its own: its own cookies, so its own session and language,
// as a second browser would have, without a second process.
func (b *browser) person(who string) *browser {
	b.t.Helper()
	ctx, cancel := chromedp.NewContext(b.ctx, chromedp.WithNewBrowserContext())
	b.t.Cleanup(cancel)
	p := &browser{t: b.t, ctx: ctx, who: who, vp: b.vp, output: b.output, shots: b.shots, server: b.server}
	// As for the browser, the first Run binds the tab to ctx: no deadline
	// on it, the wait bounded here.
	opened := make(chan error, 1)
	go func() { opened <- chromedp.Do(ctx) }()
	select {
	case err := <-opened:
		if err != nil {
			b.t.Fatalf("open a tab for %s: %v", who, err)
		}
	case <-time.After(browserStepTimeout):
		cancel()
		b.t.Fatalf("the tab for %s did not open within %s", who, browserStepTimeout)
	}
	return p
}

// browserArtifactsDir is where screenshots go: $CHAPTERHOUSE_ARTIFACTS when set
// (relative to the package directory, where go test runs), else a
// temporary directory of the test.
func browserArtifactsDir(t testing.TB) string {
	t.Helper()
	dir := os.Getenv("CHAPTERHOUSE_ARTIFACTS")
	if dir == "" {
		return t.TempDir()
	}
	dir, err := filepath.Abs(dir)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatalf("CHAPTERHOUSE_ARTIFACTS: %v", err)
	}
	return dir
}

// fail ends the test with what failed, a screenshot of the page as it was
// and the end of Chromium's output.
func (b *browser) fail(what string, err error) {
	b.t.Helper()
	msg := fmt.Sprintf("browser (%s): %s: %v", b.who, what, err)
	if loc, lerr := browserRunWithin(b.ctx, 5*time.Second, chromedp.Location()); lerr == nil {
		msg += "\npage: " + loc
	}
	if body, berr := browserRunWithin(b.ctx, 5*time.Second, chromedp.Evaluate[string](`document.body ? document.body.innerText : ""`)); berr == nil {
		msg += "\npage text:\n" + lastBytes(body, 3000)
	}
	if shot, serr := browserRunWithin(b.ctx, 10*time.Second, chromedp.FullScreenshot(100)); serr == nil {
		path := filepath.Join(b.shots, "FAILED-"+screenshotFileName(b.t.Name()+"-"+what)+".png")
		if os.WriteFile(path, shot, 0o644) == nil {
			msg += "\nscreenshot: " + path
		}
	}
	if out := b.output.String(); out != "" {
		msg += "\nChromium's output (end):\n" + lastBytes(out, 2000)
	}
	if b.server != nil {
		msg += "\nthe server's log (end):\n" + lastBytes(b.server(), 4000)
	}
	b.t.Fatal(msg)
}

// fatalf fails the test as fail does, with a screenshot of the page.
func (b *browser) fatalf(format string, args ...any) {
	b.t.Helper()
	b.fail("check", fmt.Errorf(format, args...))
}

// browserRunWithin runs an action with a deadline of its own, derived from the
// tab's context so the browser outlives it.
func browserRunWithin[T any](ctx context.Context, d time.Duration, a chromedp.Action[T]) (T, error) {
	ctx, cancel := context.WithTimeout(ctx, d)
	defer cancel()
	return chromedp.Run(ctx, a)
}

// do runs steps, each step list within browserStepTimeout.
func (b *browser) do(what string, steps ...chromedp.Action[chromedp.Void]) {
	b.t.Helper()
	if _, err := browserRunWithin(b.ctx, browserStepTimeout, chromedp.Steps(steps...)); err != nil {
		b.fail(what, err)
	}
}

// browserValue runs an action that reads a value, within browserStepTimeout.
func browserValue[T any](b *browser, what string, a chromedp.Action[T]) T {
	b.t.Helper()
	v, err := browserRunWithin(b.ctx, browserStepTimeout, a)
	if err != nil {
		b.fail(what, err)
	}
	return v
}

// open navigates to url and fails on an HTTP error status.
func (b *browser) open(url string) {
	b.t.Helper()
	resp := browserValue(b, "open "+url, chromedp.NavigateResponse(url))
	if resp.Status >= 400 {
		b.fail("open "+url, fmt.Errorf("HTTP %d", resp.Status))
	}
}

// follow clicks what sel finds, a link or a submit button, and waits for
// the page the click loads; it fails on an HTTP error status.
func (b *browser) follow(sel string) {
	b.t.Helper()
	if status := b.click(sel); status >= 400 {
		b.fail("click "+sel, fmt.Errorf("HTTP %d", status))
	}
}

// click clicks what sel finds and waits for the page the click loads,
// after any redirects; it returns the page's HTTP status.
func (b *browser) click(sel string) int64 {
	b.t.Helper()
	ctx, cancel := context.WithTimeout(b.ctx, browserStepTimeout)
	defer cancel()
	resp, err := chromedp.RunResponse(ctx, chromedp.Click(chromedp.CSS(sel), chromedp.NodeVisible))
	if err != nil {
		b.fail("click "+sel+" and wait for the page", err)
	}
	return resp.Status
}

// fill types into the fields of the form that formSel finds, by name, as
// a person would: key by key. pairs are name, text, name, text...
func (b *browser) fill(formSel string, pairs ...string) {
	b.t.Helper()
	for i := 0; i+1 < len(pairs); i += 2 {
		sel := fmt.Sprintf(`%s [name=%q]`, formSel, pairs[i])
		// Emptied first: a form shown again keeps what was typed.
		b.do("type into "+sel, chromedp.WaitVisible(chromedp.CSS(sel)),
			chromedp.Evaluate[chromedp.Void](fmt.Sprintf(`document.querySelector(%q).value = ""`, sel)),
			chromedp.SendKeys(chromedp.CSS(sel), pairs[i+1], chromedp.NodeVisible))
	}
}

// has tells whether sel finds an element now, without waiting.
func (b *browser) has(sel string) bool {
	b.t.Helper()
	return pageEval[bool](b, fmt.Sprintf(`document.querySelector(%q) !== null`, sel))
}

// text is the visible text of the first element sel finds, trimmed; it
// waits for the element.
func (b *browser) text(sel string) string {
	b.t.Helper()
	return strings.TrimSpace(browserValue(b, "read "+sel, chromedp.Text(chromedp.CSS(sel), chromedp.NodeVisible)))
}

// pageEval evaluates a JavaScript expression in the page.
func pageEval[T any](b *browser, expr string) T {
	b.t.Helper()
	return browserValue(b, "evaluate "+expr, chromedp.Evaluate[T](expr))
}

// path is the path and query of the page, without the node's address.
func (b *browser) path() string {
	b.t.Helper()
	return pageEval[string](b, `location.pathname + location.search`)
}

// langDir is the document's lang and dir attributes.
func (b *browser) langDir() (string, string) {
	b.t.Helper()
	v := pageEval[[]string](b, `[document.documentElement.getAttribute("lang"), document.documentElement.getAttribute("dir")]`)
	return v[0], v[1]
}

// cookie is the value of the named cookie the browser holds for the page.
func (b *browser) cookie(name string) (string, bool) {
	b.t.Helper()
	cookies, err := chromedpCall(b, network.GetCookies, network.GetCookiesParams{})
	if err != nil {
		b.fail("read cookies", err)
	}
	for _, c := range cookies.Cookies {
		if c.Name == name {
			return c.Value, true
		}
	}
	return "", false
}

// chromedpCall sends one protocol command to the tab within the step
// timeout.
func chromedpCall[P, R any](b *browser, cmd cdp.Command[P, R], params P) (R, error) {
	ctx, cancel := context.WithTimeout(b.ctx, browserStepTimeout)
	defer cancel()
	return chromedp.Call(ctx, cmd, params)
}

// fontsFor lists the fonts that drew the text of the first element sel
// finds, as the platform reports them: the family names, with the number
// of glyphs each drew.
func (b *browser) fontsFor(sel string) []*css.PlatformFontUsage {
	b.t.Helper()
	fonts, err := browserRunWithin(b.ctx, browserStepTimeout, chromedp.QueryAfter(chromedp.CSS(sel),
		func(ctx context.Context, t *chromedp.Target, nodes []*chromedp.Node) ([]*css.PlatformFontUsage, error) {
			if _, err := cdp.Call(ctx, t, css.Enable, cdp.Empty{}); err != nil {
				return nil, err
			}
			// The text is in the element's text node children.
			var all []*css.PlatformFontUsage
			for _, n := range nodes[0].Children {
				if n.NodeType != chromedp.NodeTypeText {
					continue
				}
				res, err := cdp.Call(ctx, t, css.GetPlatformFontsForNode, css.GetPlatformFontsForNodeParams{NodeID: n.NodeID})
				if err != nil {
					return nil, err
				}
				all = append(all, res.Fonts...)
			}
			if len(all) == 0 {
				res, err := cdp.Call(ctx, t, css.GetPlatformFontsForNode, css.GetPlatformFontsForNodeParams{NodeID: nodes[0].NodeID})
				if err != nil {
					return nil, err
				}
				all = res.Fonts
			}
			return all, nil
		}, chromedp.NodeVisible, chromedp.Populate(1, false)))
	if err != nil {
		b.fail("fonts of "+sel, err)
	}
	return fonts
}

// screenshot saves the whole page as NAME.png among the artifacts and
// checks that it is a PNG that shows more than one colour.
func (b *browser) screenshot(name, about string) string {
	b.t.Helper()
	// From the top: a capture beyond the viewport of a scrolled page
	// leaves Chromium to restore the scroll position at the next input,
	// between the press and the release of the next click, which then
	// lands on something else.
	b.do("scroll to the top", chromedp.Evaluate[chromedp.Void](`window.scrollTo(0, 0)`))
	shot := browserValue(b, "screenshot "+name, chromedp.FullScreenshot(100))
	img, err := png.Decode(bytes.NewReader(shot))
	if err != nil {
		b.fail("screenshot "+name, fmt.Errorf("not a PNG: %w", err))
	}
	bounds := img.Bounds()
	first := img.At(bounds.Min.X, bounds.Min.Y)
	plain := true
	for y := bounds.Min.Y; y < bounds.Max.Y && plain; y += 7 {
		for x := bounds.Min.X; x < bounds.Max.X; x += 7 {
			if img.At(x, y) != first {
				plain = false
				break
			}
		}
	}
	if plain {
		b.fail("screenshot "+name, errors.New("the page is blank: one colour everywhere"))
	}
	path := filepath.Join(b.shots, name+".png")
	if err := os.WriteFile(path, shot, 0o644); err != nil {
		b.t.Fatal(err)
	}
	b.t.Logf("screenshot %s (%dx%d): %s", path, bounds.Dx(), bounds.Dy(), about)
	return path
}

var screenshotUnsafeName = regexp.MustCompile(`[^A-Za-z0-9._-]+`)

func screenshotFileName(s string) string {
	return strings.Trim(screenshotUnsafeName.ReplaceAllString(s, "-"), "-")
}

// lastBytes is the end of s, at most n bytes.
func lastBytes(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return "…" + s[len(s)-n:]
}

// platformFontNames lists fonts as "Family (N glyphs), ...".
func platformFontNames(fonts []*css.PlatformFontUsage) string {
	names := make([]string, len(fonts))
	for i, f := range fonts {
		names[i] = fmt.Sprintf("%s (%v glyphs)", f.FamilyName, f.GlyphCount)
	}
	return strings.Join(names, ", ")
}
