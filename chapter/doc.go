// Package chapter is the domain of Chapterhouse: the node, its members and
// the people it knows on other servers, their posts, follows and
// notifications, and the rules that govern them (who may post, who is a
// member, which posts the node announces, who gets notified).
//
// It imports nothing of HTTP, SQL or ActivityPub. Persistence is behind the
// Store interfaces declared here and implemented by package store; the
// translation of domain events into federated activities is behind the
// Publisher interface implemented by package federation. Package cmd wires
// them together.
package chapter
