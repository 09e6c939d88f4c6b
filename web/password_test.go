package web

import (
	"strings"
	"testing"
)

func TestArgon2id(t *testing.T) {
	h := Argon2id{}
	hash, err := h.Hash("correct horse battery")
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(hash, "$argon2id$v=19$m=19456,t=2,p=1$") || strings.Contains(hash, "correct") {
		t.Errorf("hash = %q", hash)
	}
	other, _ := h.Hash("correct horse battery")
	if other == hash {
		t.Errorf("two hashes of one password are equal: the salt is not random")
	}
	cases := []struct {
		name, hash, password string
		want                 bool
		wantErr              bool
	}{
		{"right password", hash, "correct horse battery", true, false},
		{"wrong password", hash, "correct horse batterY", false, false},
		{"empty hash", "", "correct horse battery", false, true},
		{"other scheme", "$2a$10$abcdefghijklmnopqrstuv", "x", false, true},
		{"absurd cost", "$argon2id$v=19$m=99999999,t=2,p=1$c2FsdHNhbHQ$a2V5a2V5a2V5a2V5a2V5a2V5", "x", false, true},
		{"truncated", hash[:len(hash)-20], "correct horse battery", false, false},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			ok, err := h.Verify(tc.hash, tc.password)
			if ok != tc.want || (err != nil) != tc.wantErr {
				t.Errorf("Verify = %v, %v; want %v, error %v", ok, err, tc.want, tc.wantErr)
			}
		})
	}
}
