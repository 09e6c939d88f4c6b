package store

import (
	"context"
	"errors"
	"slices"
	"testing"

	"github.com/chapterhouse/chapterhouse/chapter"
)

func TestDomainBlocks(t *testing.T) {
	db := newTestDB(t)
	ctx := context.Background()
	for _, h := range []string{"Bad.Example", "bad.example", "spam.test.", "10.0.0.1"} {
		if err := db.BlockDomain(ctx, h); err != nil {
			t.Fatalf("BlockDomain(%s): %v", h, err)
		}
	}
	if err := db.BlockDomain(ctx, " "); !errors.Is(err, chapter.ErrInvalid) {
		t.Errorf("BlockDomain(blank): got %v, want ErrInvalid", err)
	}
	tests := []struct {
		host string
		want bool
	}{
		{"bad.example", true},
		{"BAD.example", true},
		{"social.bad.example", true},
		{"bad.example:8443", true},
		{"notbad.example", false},
		{"example", false},
		{"spam.test", true},
		{"10.0.0.1", true},
		{"10.0.0.1:443", true},
		{"0.0.1", false},
		{"good.example", false},
		{"", false},
	}
	for _, tt := range tests {
		t.Run(tt.host, func(t *testing.T) {
			got, err := db.DomainBlocked(ctx, tt.host)
			if err != nil {
				t.Fatal(err)
			}
			if got != tt.want {
				t.Errorf("DomainBlocked(%q): got %v, want %v", tt.host, got, tt.want)
			}
		})
	}
	got, err := db.BlockedDomains(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if want := []string{"10.0.0.1", "bad.example", "spam.test"}; !slices.Equal(got, want) {
		t.Errorf("BlockedDomains: got %v, want %v", got, want)
	}
	if err := db.UnblockDomain(ctx, "BAD.example"); err != nil {
		t.Fatal(err)
	}
	if blocked, _ := db.DomainBlocked(ctx, "bad.example"); blocked {
		t.Error("bad.example still blocked after UnblockDomain")
	}
	if err := db.UnblockDomain(ctx, "bad.example"); !errors.Is(err, chapter.ErrNotFound) {
		t.Errorf("UnblockDomain twice: got %v, want ErrNotFound", err)
	}
}
