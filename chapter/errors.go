package chapter

import "errors"

// Sentinel errors that every layer maps to a response: the HTTP layers turn
// them into status codes in one place, the CLI into messages. Wrap them with
// context (fmt.Errorf("…: %w", ErrInvalid)) so logs keep the detail.
var (
	// ErrNotFound means the thing asked for does not exist (or is hidden).
	ErrNotFound = errors.New("not found")
	// ErrForbidden means the caller may not do this.
	ErrForbidden = errors.New("forbidden")
	// ErrConflict means the thing already exists or the state forbids it.
	ErrConflict = errors.New("conflict")
	// ErrInvalid means the input breaks a rule; the wrapped text says which.
	ErrInvalid = errors.New("invalid")
	// ErrGone means the thing existed and was deleted (a tombstone).
	ErrGone = errors.New("gone")
)
