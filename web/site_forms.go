package web

import (
	"net"
	"net/http"
	"net/netip"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"time"
)

// This file holds what every form of the website shares: the fields the
// "field" template draws (a label for each, help and error text tied to
// the control with aria-describedby), the errors that become status pages,
// and the limits on repeated attempts.

// field is one labelled form control.
type field struct {
	ID, Name string
	// Kind is "input" (the default), "textarea" or "select"; Type is the
	// input's type, "text" by default.
	Kind, Type   string
	Label, Help  string
	Value, Error string
	// Optional is the "(optional)" note; empty for required fields.
	Optional     string
	Autocomplete string
	Dir          string // "ltr" for names and addresses; "auto" by default
	Required     bool
	MaxLength    int
	Rows         int
	Options      []option
}

// option is one choice of a select.
type option struct {
	Value, Label string
	Selected     bool
}

// DescribedBy lists the ids of the field's help and error text.
func (f *field) DescribedBy() string {
	var ids []string
	if f.Help != "" {
		ids = append(ids, f.ID+"-help")
	}
	if f.Error != "" {
		ids = append(ids, f.ID+"-error")
	}
	return strings.Join(ids, " ")
}

// form is the fields of one form, with what is wrong with them.
type form struct {
	id     string // prefixes the fields' ids: two forms on a page never clash
	Error  string // about the form as a whole
	fields []*field
}

func newForm(id string) *form { return &form{id: id} }

// add appends a field with its defaults filled.
func (f *form) add(fl *field) *field {
	fl.ID = f.id + "-" + fl.Name
	if fl.Kind == "" {
		fl.Kind = "input"
	}
	if fl.Kind == "input" && fl.Type == "" {
		fl.Type = "text"
	}
	if fl.Dir == "" {
		fl.Dir = "auto"
	}
	f.fields = append(f.fields, fl)
	return fl
}

// F is the field called name; templates draw it with {{template "field"
// (.Form.F "name")}}.
func (f *form) F(name string) *field {
	for _, fl := range f.fields {
		if fl.Name == name {
			return fl
		}
	}
	return nil
}

// Invalid lists the fields with an error, for the summary above the form.
func (f *form) Invalid() []*field {
	var out []*field
	for _, fl := range f.fields {
		if fl.Error != "" {
			out = append(out, fl)
		}
	}
	return out
}

func (f *form) invalid() bool { return f.Error != "" || len(f.Invalid()) > 0 }

// set records an error on a field (the first one stays).
func (f *form) set(name, msg string) {
	if fl := f.F(name); fl != nil && fl.Error == "" {
		fl.Error = msg
	}
}

// fill takes the submitted values, passwords excepted: they are never
// sent back to the browser. A choice not sent keeps its default.
func (f *form) fill(v url.Values) {
	for _, fl := range f.fields {
		if fl.Type == "password" || fl.Kind == "select" && !v.Has(fl.Name) {
			continue
		}
		fl.Value = v.Get(fl.Name)
		for i := range fl.Options {
			fl.Options[i].Selected = fl.Options[i].Value == fl.Value
		}
	}
}

// optional marks the fields that are not required with the page's
// "(optional)"; run it once the fields are in.
func (f *form) optional(l *siteLang) *form {
	for _, fl := range f.fields {
		if !fl.Required && fl.Kind != "select" {
			fl.Optional = l.T("Optional")
		}
	}
	return f
}

// siteError is a refusal with its own status and message ids: a form
// token that does not match, too many attempts, a file too large.
type siteError struct {
	status      int
	title, text string // message ids
	err         error  // for the log
}

func (e *siteError) Error() string {
	if e.err != nil {
		return http.StatusText(e.status) + ": " + e.err.Error()
	}
	return http.StatusText(e.status)
}

func (e *siteError) Unwrap() error { return e.err }

// tooManyAttempts is the 429 answer, with when to try again.
func tooManyAttempts(w http.ResponseWriter, wait time.Duration) error {
	w.Header().Set("Retry-After", strconv.Itoa(int(wait.Seconds())+1))
	return &siteError{status: http.StatusTooManyRequests, title: "TooManyTitle", text: "TooManyText"}
}

// Limits on attempts: five failed sign-ins per address or per username in
// fifteen minutes, five applications per address in an hour.
const (
	loginFailures   = 5
	loginWindow     = 15 * time.Minute
	joinsPerAddress = 5
	joinWindow      = time.Hour
	// searchesPerAddress place searches a minute per address.
	searchesPerAddress = 20
	searchWindow       = time.Minute
	// limiterSweep is how many keys the limiter holds before it forgets
	// the expired ones.
	limiterSweep = 10000
)

// failureLimiter counts events (failed sign-ins, applications) per key in
// a fixed window from the first one, and blocks a key that reached the
// maximum until its window ends.
type failureLimiter struct {
	mu     sync.Mutex
	max    int
	window time.Duration
	now    func() time.Time
	counts map[string]*failureCount
}

type failureCount struct {
	n     int
	first time.Time
}

func newFailureLimiter(max int, window time.Duration, now func() time.Time) *failureLimiter {
	return &failureLimiter{max: max, window: window, now: now, counts: map[string]*failureCount{}}
}

// blocked returns how long until every key may try again; 0 when none is
// blocked.
func (l *failureLimiter) blocked(keys ...string) time.Duration {
	l.mu.Lock()
	defer l.mu.Unlock()
	now := l.now()
	var wait time.Duration
	for _, k := range keys {
		c := l.counts[k]
		if c == nil || now.Sub(c.first) >= l.window {
			continue
		}
		if c.n >= l.max {
			wait = max(wait, c.first.Add(l.window).Sub(now))
		}
	}
	return wait
}

// fail counts one event for each key.
func (l *failureLimiter) fail(keys ...string) {
	l.mu.Lock()
	defer l.mu.Unlock()
	now := l.now()
	if len(l.counts) >= limiterSweep {
		for k, c := range l.counts {
			if now.Sub(c.first) >= l.window {
				delete(l.counts, k)
			}
		}
	}
	for _, k := range keys {
		c := l.counts[k]
		if c == nil || now.Sub(c.first) >= l.window {
			c = &failureCount{first: now}
			l.counts[k] = c
		}
		c.n++
	}
}

// reset forgets a key's events.
func (l *failureLimiter) reset(key string) {
	l.mu.Lock()
	defer l.mu.Unlock()
	delete(l.counts, key)
}

// clientAddress is the address limits count a request under. Behind a
// proxy on the same machine (what the README sets up) every request comes
// from loopback, so there the last address the proxy appended to
// X-Forwarded-For is the client's. IPv6 clients count by their /64, which
// one person usually holds whole.
func clientAddress(r *http.Request) string {
	host, _, err := net.SplitHostPort(r.RemoteAddr)
	if err != nil {
		host = r.RemoteAddr
	}
	addr, err := netip.ParseAddr(host)
	if err != nil {
		return host
	}
	if addr.IsLoopback() {
		if xff := r.Header.Values("X-Forwarded-For"); len(xff) > 0 {
			parts := strings.Split(xff[len(xff)-1], ",")
			if a, err := netip.ParseAddr(strings.TrimSpace(parts[len(parts)-1])); err == nil {
				addr = a
			}
		}
	}
	addr = addr.Unmap()
	if addr.Is6() {
		if p, err := addr.Prefix(64); err == nil {
			return p.String()
		}
	}
	return addr.String()
}
