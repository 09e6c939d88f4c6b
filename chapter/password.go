package chapter

// PasswordHasher turns passwords into slow, salted hashes and checks them.
// Package web implements it with argon2id; the domain only decides when.
type PasswordHasher interface {
	Hash(password string) (string, error)
	Verify(hash, password string) (bool, error)
}
