package federation

import (
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"encoding/pem"
	"fmt"
)

// KeyBits is the size of the RSA keys we generate for local actors: what
// Mastodon generates, and what every fediverse server can verify.
const KeyBits = 2048

// MinKeyBits is the smallest RSA key we accept from anyone. Smaller keys are
// forgeable; Go's crypto/rsa refuses them too, so failing early gives a
// clearer error than a failed verification would.
const MinKeyBits = 1024

// PEM block types, as published in actors' publicKeyPem.
const (
	pemPrivatePKCS8 = "PRIVATE KEY"
	pemPrivatePKCS1 = "RSA PRIVATE KEY"
	pemPublicPKIX   = "PUBLIC KEY"
	pemPublicPKCS1  = "RSA PUBLIC KEY"
)

// GenerateKeyPEM makes a new RSA-2048 key pair for a local actor. The private
// half is PKCS#8 ("PRIVATE KEY") for storage, the public half PKIX
// ("PUBLIC KEY"), which is what Mastodon publishes in publicKeyPem and what
// every implementation can parse.
func GenerateKeyPEM() (privatePEM, publicPEM string, err error) {
	key, err := rsa.GenerateKey(rand.Reader, KeyBits)
	if err != nil {
		return "", "", fmt.Errorf("generate RSA key: %w", err)
	}
	priv, err := x509.MarshalPKCS8PrivateKey(key)
	if err != nil {
		return "", "", fmt.Errorf("marshal private key: %w", err)
	}
	pub, err := x509.MarshalPKIXPublicKey(&key.PublicKey)
	if err != nil {
		return "", "", fmt.Errorf("marshal public key: %w", err)
	}
	privatePEM = string(pem.EncodeToMemory(&pem.Block{Type: pemPrivatePKCS8, Bytes: priv}))
	publicPEM = string(pem.EncodeToMemory(&pem.Block{Type: pemPublicPKIX, Bytes: pub}))
	return privatePEM, publicPEM, nil
}

// ParsePrivateKeyPEM reads a stored RSA private key, PKCS#8 or PKCS#1, so
// keys imported from other software keep working.
func ParsePrivateKeyPEM(s string) (*rsa.PrivateKey, error) {
	block, err := decodePEM(s)
	if err != nil {
		return nil, fmt.Errorf("parse private key: %w", err)
	}
	var key *rsa.PrivateKey
	switch block.Type {
	case pemPrivatePKCS8:
		k, err := x509.ParsePKCS8PrivateKey(block.Bytes)
		if err != nil {
			return nil, fmt.Errorf("parse private key: PKCS#8: %w", err)
		}
		rk, ok := k.(*rsa.PrivateKey)
		if !ok {
			return nil, fmt.Errorf("parse private key: %T is not an RSA key; only RSA is supported", k)
		}
		key = rk
	case pemPrivatePKCS1:
		k, err := x509.ParsePKCS1PrivateKey(block.Bytes)
		if err != nil {
			return nil, fmt.Errorf("parse private key: PKCS#1: %w", err)
		}
		key = k
	default:
		return nil, fmt.Errorf("parse private key: PEM block is %q, want %q or %q", block.Type, pemPrivatePKCS8, pemPrivatePKCS1)
	}
	if err := checkKeySize(key.N.BitLen()); err != nil {
		return nil, fmt.Errorf("parse private key: %w", err)
	}
	return key, nil
}

// ParsePublicKeyPEM reads a remote actor's publicKeyPem. It accepts PKIX
// ("PUBLIC KEY", what Mastodon and most servers publish) and PKCS#1
// ("RSA PUBLIC KEY", what Mobilizon publishes), whatever surrounds the block,
// and it tries the other encoding if a server mislabels the block. It refuses
// keys that are not RSA or are smaller than MinKeyBits: we could not verify
// their signatures anyway.
func ParsePublicKeyPEM(s string) (*rsa.PublicKey, error) {
	block, err := decodePEM(s)
	if err != nil {
		return nil, fmt.Errorf("parse public key: %w", err)
	}
	var key *rsa.PublicKey
	switch block.Type {
	case pemPublicPKIX:
		key, err = parsePKIXOrPKCS1(block.Bytes)
	case pemPublicPKCS1:
		key, err = parsePKCS1OrPKIX(block.Bytes)
	default:
		return nil, fmt.Errorf("parse public key: PEM block is %q, want %q or %q", block.Type, pemPublicPKIX, pemPublicPKCS1)
	}
	if err != nil {
		return nil, fmt.Errorf("parse public key: %w", err)
	}
	if err := checkKeySize(key.N.BitLen()); err != nil {
		return nil, fmt.Errorf("parse public key: %w", err)
	}
	return key, nil
}

// decodePEM finds the first PEM block in s. pem.Decode tolerates text before
// and after it, blank lines and a missing final newline, which covers every
// variant of publicKeyPem seen in the wild.
func decodePEM(s string) (*pem.Block, error) {
	block, _ := pem.Decode([]byte(s))
	if block == nil {
		return nil, fmt.Errorf("no PEM block found")
	}
	return block, nil
}

// parsePKIXOrPKCS1 parses a block labelled PKIX, falling back to PKCS#1 for
// servers that label their PKCS#1 keys "PUBLIC KEY".
func parsePKIXOrPKCS1(der []byte) (*rsa.PublicKey, error) {
	k, err := x509.ParsePKIXPublicKey(der)
	if err != nil {
		if rk, err1 := x509.ParsePKCS1PublicKey(der); err1 == nil {
			return rk, nil
		}
		return nil, fmt.Errorf("PKIX: %w", err)
	}
	return asRSAPublicKey(k)
}

// parsePKCS1OrPKIX parses a block labelled PKCS#1, falling back to PKIX for
// servers that label their PKIX keys "RSA PUBLIC KEY".
func parsePKCS1OrPKIX(der []byte) (*rsa.PublicKey, error) {
	rk, err := x509.ParsePKCS1PublicKey(der)
	if err != nil {
		if k, err1 := x509.ParsePKIXPublicKey(der); err1 == nil {
			return asRSAPublicKey(k)
		}
		return nil, fmt.Errorf("PKCS#1: %w", err)
	}
	return rk, nil
}

// asRSAPublicKey refuses non-RSA keys with a message naming what we got, so
// an operator can tell an Ed25519-only peer from a corrupt key.
func asRSAPublicKey(k any) (*rsa.PublicKey, error) {
	rk, ok := k.(*rsa.PublicKey)
	if !ok {
		return nil, fmt.Errorf("%T is not an RSA key; only RSA is supported", k)
	}
	return rk, nil
}

// checkKeySize refuses keys too small to be trusted.
func checkKeySize(bits int) error {
	if bits < MinKeyBits {
		return fmt.Errorf("RSA key of %d bits is too small; at least %d bits are required", bits, MinKeyBits)
	}
	return nil
}
