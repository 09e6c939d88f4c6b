package federation

import (
	"bytes"
	"encoding/json"
	"errors"
	"io"
	"strings"
	"testing"
	"testing/iotest"
)

func TestLimitReadBody(t *testing.T) {
	tests := []struct {
		name    string
		body    string
		limit   int64
		wantErr error
	}{
		{name: "empty", body: "", limit: 10},
		{name: "under limit", body: "hello", limit: 10},
		{name: "exactly at limit", body: "0123456789", limit: 10},
		{name: "one over limit", body: "0123456789a", limit: 10, wantErr: ErrTooLarge},
		{name: "far over limit", body: strings.Repeat("x", 5000), limit: 10, wantErr: ErrTooLarge},
		{name: "zero limit means default", body: strings.Repeat("x", 5000), limit: 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := ReadBody(strings.NewReader(tt.body), tt.limit)
			if !errors.Is(err, tt.wantErr) {
				t.Fatalf("ReadBody error = %v, want %v", err, tt.wantErr)
			}
			if tt.wantErr != nil {
				return
			}
			if got, want := string(got), tt.body; got != want {
				t.Errorf("ReadBody = %q, want %q", got, want)
			}
		})
	}
}

func TestLimitReadBodyDefaultLimit(t *testing.T) {
	big := bytes.Repeat([]byte{'x'}, DefaultMaxBodyBytes+1)
	if _, err := ReadBody(bytes.NewReader(big), 0); !errors.Is(err, ErrTooLarge) {
		t.Errorf("ReadBody of %d bytes with default limit: error = %v, want ErrTooLarge", len(big), err)
	}
	if _, err := ReadBody(bytes.NewReader(big[:DefaultMaxBodyBytes]), 0); err != nil {
		t.Errorf("ReadBody of exactly DefaultMaxBodyBytes: %v", err)
	}
}

func TestLimitReadBodyReadError(t *testing.T) {
	boom := errors.New("boom")
	_, err := ReadBody(iotest.ErrReader(boom), 10)
	if !errors.Is(err, boom) {
		t.Errorf("ReadBody error = %v, want it to wrap %v", err, boom)
	}
	if errors.Is(err, ErrTooLarge) {
		t.Errorf("a read error must not look like ErrTooLarge: %v", err)
	}
}

func TestJSONDepth(t *testing.T) {
	tests := []struct {
		name     string
		doc      string
		maxDepth int
		wantErr  bool
	}{
		{name: "scalar", doc: `1`, maxDepth: 1},
		{name: "empty object is depth 1", doc: `{}`, maxDepth: 1},
		{name: "depth 2 at max 1", doc: `{"a":[]}`, maxDepth: 1, wantErr: true},
		{name: "depth 2 at max 2", doc: `{"a":[]}`, maxDepth: 2},
		{name: "siblings do not add up", doc: `[[],[],{},{"a":{}}]`, maxDepth: 3},
		{name: "brackets in strings ignored", doc: `{"a":"[[[[{{{{"}`, maxDepth: 1},
		{name: "escaped quote keeps string open", doc: `{"a":"\"[[[["}`, maxDepth: 1},
		{name: "escaped backslash closes string", doc: `{"a":"\\","b":[[1]]}`, maxDepth: 2, wantErr: true},
		{name: "unicode escape", doc: `{"a":"\u0022[[["}`, maxDepth: 1},
		{name: "stray closers do not buy depth", doc: `]]]]][[[`, maxDepth: 2, wantErr: true},
		{name: "deep array", doc: strings.Repeat("[", 33) + strings.Repeat("]", 33), maxDepth: 32, wantErr: true},
		{name: "32 levels at default", doc: strings.Repeat("[", 32) + strings.Repeat("]", 32), maxDepth: 0},
		{name: "33 levels at default", doc: strings.Repeat("[", 33) + strings.Repeat("]", 33), maxDepth: 0, wantErr: true},
		{name: "unterminated deep", doc: strings.Repeat(`{"a":`, 40), maxDepth: 32, wantErr: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := CheckJSONDepth([]byte(tt.doc), tt.maxDepth)
			if got := err != nil; got != tt.wantErr {
				t.Fatalf("CheckJSONDepth(%q, %d) = %v, want error: %v", tt.doc, tt.maxDepth, err, tt.wantErr)
			}
			if err != nil && !errors.Is(err, ErrTooDeep) {
				t.Errorf("error %v does not wrap ErrTooDeep", err)
			}
		})
	}
}

func TestJSONDepthDoesNotAllocate(t *testing.T) {
	doc := []byte(`{"@context":"https://www.w3.org/ns/activitystreams","type":"Create","object":{"type":"Note","tag":[{"type":"Mention"}]}}`)
	allocs := testing.AllocsPerRun(100, func() {
		if err := CheckJSONDepth(doc, 32); err != nil {
			t.Fatal(err)
		}
	})
	if allocs != 0 {
		t.Errorf("CheckJSONDepth allocated %v times per run, want 0", allocs)
	}
}

// jsonDepth is the fuzz oracle: the true nesting depth of a well-formed
// document, measured by encoding/json's tokenizer.
func jsonDepth(t *testing.T, b []byte) int {
	t.Helper()
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.UseNumber() // 1E1000 is valid JSON but no float64
	depth, deepest := 0, 0
	for {
		tok, err := dec.Token()
		if errors.Is(err, io.EOF) {
			return deepest
		}
		if err != nil {
			t.Fatalf("tokenizing valid JSON %q: %v", b, err)
		}
		switch tok {
		case json.Delim('{'), json.Delim('['):
			depth++
			deepest = max(deepest, depth)
		case json.Delim('}'), json.Delim(']'):
			depth--
		}
	}
}

func FuzzCheckJSONDepth(f *testing.F) {
	for _, seed := range []string{
		`{}`, `[]`, `"x"`, `{"a":[1,{"b":"]"}]}`, `{"a":"\\\""}`, `[[[[[`, `]]}}`,
		`{"a":"\u005c"}`, `"\\"[[[`, `1E1000`, strings.Repeat("[", 6) + strings.Repeat("]", 6),
	} {
		f.Add([]byte(seed), 4)
	}
	f.Fuzz(func(t *testing.T, b []byte, maxDepth int) {
		maxDepth = maxDepth%40 + 1
		if maxDepth <= 0 {
			maxDepth += 40
		}
		err := CheckJSONDepth(b, maxDepth)
		if err != nil && !errors.Is(err, ErrTooDeep) {
			t.Fatalf("error %v does not wrap ErrTooDeep", err)
		}
		if !json.Valid(b) {
			return
		}
		deep := jsonDepth(t, b) > maxDepth
		if got := err != nil; got != deep {
			t.Fatalf("CheckJSONDepth(%q, %d) = %v, but true depth %d", b, maxDepth, err, jsonDepth(t, b))
		}
	})
}
