package chapter

import (
	"context"
	"fmt"
)

// DirectoryEntry is a member found by place, on this node or on a node
// below it: what "find members near you" shows.
type DirectoryEntry struct {
	Handle    string `json:"handle"` // user@host
	Name      string `json:"name"`
	Region    string `json:"region"`
	URL       string `json:"url"`
	AvatarURL string `json:"avatar,omitempty"`
	Node      string `json:"node"` // the node's name
}

// Directory asks another node for its members near a place. Package
// federation implements it over HTTP.
type Directory interface {
	SearchMembers(ctx context.Context, node *Account, region string) ([]DirectoryEntry, error)
}

// maxDirectoryEntries bounds what one search returns.
const maxDirectoryEntries = 200

// FindMembersNear searches by place across this node and its subtree:
// its own members who gave a region (giving one is opting in), then each
// linked child's answer, which includes that child's own subtree. A child
// that does not answer is left out rather than failing the search.
func (s *Service) FindMembersNear(ctx context.Context, region string) ([]DirectoryEntry, error) {
	local, err := s.FindMembers(ctx, region)
	if err != nil {
		return nil, err
	}
	entries := make([]DirectoryEntry, 0, len(local))
	for _, a := range local {
		host := a.Host
		if host == "" {
			host = s.node.Host
		}
		entries = append(entries, DirectoryEntry{Handle: a.Username + "@" + host, Name: a.DisplayName,
			Region: a.Region, URL: s.profileURL(a), AvatarURL: a.AvatarURL, Node: s.node.Name})
	}
	if s.directory == nil {
		return entries, nil
	}
	children, err := s.store.Links(ctx, RoleChild)
	if err != nil {
		return nil, fmt.Errorf("children: %w", err)
	}
	for _, l := range children {
		if l.State != LinkLinked || len(entries) >= maxDirectoryEntries {
			continue
		}
		found, err := s.directory.SearchMembers(ctx, l.Account, region)
		if err != nil {
			continue // a child that is down does not hide the others
		}
		entries = append(entries, found...)
	}
	if len(entries) > maxDirectoryEntries {
		entries = entries[:maxDirectoryEntries]
	}
	return entries, nil
}
