package federation

import (
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"encoding/pem"
	"math/big"
	"strings"
	"testing"
)

// testRSAKey makes a real RSA key for a test. 2048 bits, like production.
func testRSAKey(t testing.TB) *rsa.PrivateKey {
	t.Helper()
	key, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatalf("generate key: %v", err)
	}
	return key
}

func pemString(typ string, der []byte) string {
	return string(pem.EncodeToMemory(&pem.Block{Type: typ, Bytes: der}))
}

func mustPKIX(t testing.TB, pub any) []byte {
	t.Helper()
	der, err := x509.MarshalPKIXPublicKey(pub)
	if err != nil {
		t.Fatalf("marshal PKIX: %v", err)
	}
	return der
}

func TestKeyGenerateRoundTrip(t *testing.T) {
	privPEM, pubPEM, err := GenerateKeyPEM()
	if err != nil {
		t.Fatalf("GenerateKeyPEM: %v", err)
	}
	if !strings.HasPrefix(privPEM, "-----BEGIN PRIVATE KEY-----\n") {
		t.Errorf("private PEM does not start with a PKCS#8 header: %.40q", privPEM)
	}
	if !strings.HasPrefix(pubPEM, "-----BEGIN PUBLIC KEY-----\n") {
		t.Errorf("public PEM does not start with a PKIX header: %.40q", pubPEM)
	}
	priv, err := ParsePrivateKeyPEM(privPEM)
	if err != nil {
		t.Fatalf("ParsePrivateKeyPEM: %v", err)
	}
	pub, err := ParsePublicKeyPEM(pubPEM)
	if err != nil {
		t.Fatalf("ParsePublicKeyPEM: %v", err)
	}
	if got, want := priv.N.BitLen(), KeyBits; got != want {
		t.Errorf("key size = %d bits, want %d", got, want)
	}
	if !priv.PublicKey.Equal(pub) {
		t.Errorf("public key does not match private key")
	}
}

func TestKeyParsePrivateForms(t *testing.T) {
	key := testRSAKey(t)
	pkcs8, err := x509.MarshalPKCS8PrivateKey(key)
	if err != nil {
		t.Fatal(err)
	}
	_, edPriv, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	edPKCS8, err := x509.MarshalPKCS8PrivateKey(edPriv)
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name    string
		pem     string
		wantErr string
	}{
		{name: "PKCS#8", pem: pemString("PRIVATE KEY", pkcs8)},
		{name: "PKCS#1", pem: pemString("RSA PRIVATE KEY", x509.MarshalPKCS1PrivateKey(key))},
		{name: "surrounded by text", pem: "my key:\n" + pemString("PRIVATE KEY", pkcs8) + "\nthanks"},
		{name: "ed25519 refused", pem: pemString("PRIVATE KEY", edPKCS8), wantErr: "not an RSA key"},
		{name: "public key is not private", pem: pemString("PUBLIC KEY", mustPKIX(t, &key.PublicKey)), wantErr: "PEM block is"},
		{name: "garbage", pem: "hello", wantErr: "no PEM block"},
		{name: "corrupt DER", pem: pemString("PRIVATE KEY", []byte{1, 2, 3}), wantErr: "PKCS#8"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := ParsePrivateKeyPEM(tt.pem)
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("ParsePrivateKeyPEM error = %v, want one containing %q", err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatalf("ParsePrivateKeyPEM: %v", err)
			}
			if !got.Equal(key) {
				t.Errorf("parsed key differs from the original")
			}
		})
	}
}

func TestKeyParsePublicForms(t *testing.T) {
	key := testRSAKey(t)
	pkix := pemString("PUBLIC KEY", mustPKIX(t, &key.PublicKey))
	pkcs1 := pemString("RSA PUBLIC KEY", x509.MarshalPKCS1PublicKey(&key.PublicKey))
	tests := []struct {
		name string
		pem  string
	}{
		{name: "PKIX", pem: pkix},
		{name: "PKCS#1 (Mobilizon)", pem: pkcs1},
		{name: "PKCS#1 with trailing blank line", pem: pkcs1 + "\n"},
		{name: "PKCS#1 without trailing newline", pem: strings.TrimSuffix(pkcs1, "\n")},
		{name: "PKIX with CRLF line ends", pem: strings.ReplaceAll(pkix, "\n", "\r\n")},
		{name: "PKIX with leading whitespace", pem: "\n  \n" + pkix},
		{name: "PKCS#1 mislabelled as PKIX", pem: pemString("PUBLIC KEY", x509.MarshalPKCS1PublicKey(&key.PublicKey))},
		{name: "PKIX mislabelled as PKCS#1", pem: pemString("RSA PUBLIC KEY", mustPKIX(t, &key.PublicKey))},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := ParsePublicKeyPEM(tt.pem)
			if err != nil {
				t.Fatalf("ParsePublicKeyPEM: %v", err)
			}
			if !got.Equal(&key.PublicKey) {
				t.Errorf("parsed key differs from the original")
			}
		})
	}
}

func TestKeyParsePublicRefusals(t *testing.T) {
	edPub, _, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	ecKey, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	// A 512-bit modulus: crypto/rsa will not generate one any more, but a
	// hostile peer can publish one. It need not be a real key to be refused.
	small := &rsa.PublicKey{N: new(big.Int).SetBit(big.NewInt(1), 511, 1), E: 65537}
	tests := []struct {
		name    string
		pem     string
		wantErr string
	}{
		{name: "ed25519", pem: pemString("PUBLIC KEY", mustPKIX(t, edPub)), wantErr: "not an RSA key"},
		{name: "ecdsa", pem: pemString("PUBLIC KEY", mustPKIX(t, &ecKey.PublicKey)), wantErr: "not an RSA key"},
		{name: "512-bit PKCS#1", pem: pemString("RSA PUBLIC KEY", x509.MarshalPKCS1PublicKey(small)), wantErr: "too small"},
		{name: "512-bit PKIX", pem: pemString("PUBLIC KEY", mustPKIX(t, small)), wantErr: "too small"},
		{name: "certificate", pem: pemString("CERTIFICATE", []byte{1}), wantErr: "PEM block is"},
		{name: "empty", pem: "", wantErr: "no PEM block"},
		{name: "corrupt", pem: pemString("PUBLIC KEY", []byte("nonsense")), wantErr: "PKIX"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := ParsePublicKeyPEM(tt.pem)
			if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
				t.Fatalf("ParsePublicKeyPEM error = %v, want one containing %q", err, tt.wantErr)
			}
		})
	}
}
