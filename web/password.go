package web

import (
	"crypto/rand"
	"crypto/subtle"
	"encoding/base64"
	"errors"
	"fmt"
	"strings"

	"golang.org/x/crypto/argon2"

	"github.com/chapterhouse/chapterhouse/chapter"
)

// Argon2id parameters: OWASP's second recommended set (19 MiB, 2 passes,
// 1 lane), about 30 ms on the development machine: slow for guessing,
// cheap enough for a sign-in.
const (
	argonTime    = 2
	argonMemory  = 19 * 1024
	argonThreads = 1
	argonKeyLen  = 32
	argonSaltLen = 16
)

// Argon2id hashes members' passwords in the PHC string format
// ($argon2id$v=19$m=…,t=…,p=…$salt$hash), so the parameters can be raised
// later without breaking stored hashes.
type Argon2id struct{}

var _ chapter.PasswordHasher = Argon2id{}

// Hash returns a new salted hash of password.
func (Argon2id) Hash(password string) (string, error) {
	salt := make([]byte, argonSaltLen)
	if _, err := rand.Read(salt); err != nil {
		return "", fmt.Errorf("salt: %w", err)
	}
	key := argon2.IDKey([]byte(password), salt, argonTime, argonMemory, argonThreads, argonKeyLen)
	b64 := base64.RawStdEncoding
	return fmt.Sprintf("$argon2id$v=%d$m=%d,t=%d,p=%d$%s$%s", argon2.Version, argonMemory, argonTime,
		argonThreads, b64.EncodeToString(salt), b64.EncodeToString(key)), nil
}

// Verify checks password against a hash made by Hash, in constant time. An
// empty or malformed hash is checked against a dummy one (same cost), then
// refused, so that timing does not tell whether an account exists.
func (a Argon2id) Verify(hash, password string) (bool, error) {
	salt, key, m, t, p, err := parseArgon2id(hash)
	if err != nil {
		argon2.IDKey([]byte(password), make([]byte, argonSaltLen), argonTime, argonMemory, argonThreads, argonKeyLen)
		return false, err
	}
	got := argon2.IDKey([]byte(password), salt, t, m, p, uint32(len(key)))
	return subtle.ConstantTimeCompare(got, key) == 1, nil
}

var errBadHash = errors.New("not an argon2id hash")

func parseArgon2id(hash string) (salt, key []byte, m, t uint32, p uint8, err error) {
	parts := strings.Split(hash, "$")
	if len(parts) != 6 || parts[1] != "argon2id" {
		return nil, nil, 0, 0, 0, errBadHash
	}
	var version int
	if _, err := fmt.Sscanf(parts[2], "v=%d", &version); err != nil || version != argon2.Version {
		return nil, nil, 0, 0, 0, errBadHash
	}
	if _, err := fmt.Sscanf(parts[3], "m=%d,t=%d,p=%d", &m, &t, &p); err != nil || m == 0 || t == 0 || p == 0 ||
		m > 1<<20 || t > 16 {
		return nil, nil, 0, 0, 0, errBadHash
	}
	b64 := base64.RawStdEncoding
	if salt, err = b64.DecodeString(parts[4]); err != nil || len(salt) < 8 {
		return nil, nil, 0, 0, 0, errBadHash
	}
	if key, err = b64.DecodeString(parts[5]); err != nil || len(key) < 16 || len(key) > 64 {
		return nil, nil, 0, 0, 0, errBadHash
	}
	return salt, key, m, t, p, nil
}
