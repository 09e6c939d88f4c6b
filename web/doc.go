// Package web is what people see and use over HTTP: the node's website
// (site*.go: server-rendered pages in many languages, templates/, locales/,
// static/) and the member API, shaped like Mastodon's client API (the same
// paths, JSON shapes, status codes and paging Link headers) so that
// existing Mastodon clients, bots and tools work with a chapter as they do
// with any instance.
//
// The handlers are thin: each parses the request, calls chapter.Service,
// and replies through the shared helpers in api.go, which also turn domain
// errors into statuses in one place (writeError) and log at this boundary.
// Conversions from domain values to Mastodon's entities live in json.go.
// Outside /api/, feed.go serves the public timeline as an Atom feed,
// /feed.atom, for feed readers.
// The package imports no SQL and no ActivityPub code: everything goes
// through package chapter.
package web
