package federation

import (
	"fmt"
	"io"
)

// federationError is the type of this package's sentinel errors. Because it
// is a string type, every sentinel is a constant: nothing can reassign it, so
// the package keeps no mutable package-level state, and callers still match
// them with errors.Is.
type federationError string

// Error returns the sentinel's message.
func (e federationError) Error() string { return string(e) }

// DefaultMaxBodyBytes bounds what we read from a remote peer's request or
// response body. Mastodon refuses bodies over 1 MiB too, so no legitimate
// activity or actor document is larger.
const DefaultMaxBodyBytes = 1 << 20

// DefaultMaxJSONDepth is the nesting depth callers pass to CheckJSONDepth.
// Real activities nest a handful of levels (Create → Note → tag → icon);
// 32 leaves ample room while stopping pathological documents before they
// reach a JSON-LD resolver that walks them recursively.
const DefaultMaxJSONDepth = 32

const (
	// ErrTooLarge reports a body over its size limit, so the HTTP layer can
	// answer 413 rather than 400.
	ErrTooLarge = federationError("federation: body too large")

	// ErrTooDeep reports a JSON document nested deeper than allowed, so the
	// HTTP layer can refuse it before decoding it into a tree.
	ErrTooDeep = federationError("federation: JSON nested too deeply")
)

// ReadBody reads all of r, but at most limit bytes: a peer cannot make us
// buffer an unbounded body. It reads limit+1 bytes so that a body of exactly
// limit bytes is accepted and anything longer is an error wrapping
// ErrTooLarge. A limit of zero or less means DefaultMaxBodyBytes.
func ReadBody(r io.Reader, limit int64) ([]byte, error) {
	if limit <= 0 {
		limit = DefaultMaxBodyBytes
	}
	b, err := io.ReadAll(io.LimitReader(r, limit+1))
	if err != nil {
		return nil, fmt.Errorf("read body: %w", err)
	}
	if int64(len(b)) > limit {
		return nil, fmt.Errorf("read body: more than %d bytes: %w", limit, ErrTooLarge)
	}
	return b, nil
}

// CheckJSONDepth reports whether b nests objects and arrays more than
// maxDepth levels deep, without decoding it: it only counts brackets outside
// string literals, so it costs one pass and no allocation, and it is safe to
// run on hostile input before any real parsing. `{}` is depth 1, `{"a":[]}`
// depth 2. A maxDepth of zero or less means DefaultMaxJSONDepth.
//
// It is not a validator: malformed JSON may pass, and is left for the real
// decoder to refuse. For well-formed JSON it errs exactly when the document
// is deeper than maxDepth; the error wraps ErrTooDeep.
func CheckJSONDepth(b []byte, maxDepth int) error {
	if maxDepth <= 0 {
		maxDepth = DefaultMaxJSONDepth
	}
	depth := 0
	inString, escaped := false, false
	for i, c := range b {
		if inString {
			switch {
			case escaped:
				escaped = false
			case c == '\\':
				escaped = true
			case c == '"':
				inString = false
			}
			continue
		}
		switch c {
		case '"':
			inString = true
		case '{', '[':
			depth++
			if depth > maxDepth {
				return fmt.Errorf("check JSON depth: more than %d levels at byte %d: %w", maxDepth, i, ErrTooDeep)
			}
		case '}', ']':
			// Never go below zero: stray closers in front must not buy an
			// attacker extra levels further on.
			if depth > 0 {
				depth--
			}
		}
	}
	return nil
}
