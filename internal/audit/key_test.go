package audit

import (
	"bytes"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/sha256"
	"crypto/x509"
	"encoding/hex"
	"encoding/pem"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// testKey returns a fixed key so that tests and corpus seeds are reproducible.
func testKey(seed byte) ed25519.PrivateKey {
	return ed25519.NewKeyFromSeed(bytes.Repeat([]byte{seed}, ed25519.SeedSize))
}

func TestKeyPEMRoundTrip(t *testing.T) {
	gen, err := GenerateKey()
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name string
		key  ed25519.PrivateKey
	}{{"generated", gen}, {"fixed", testKey(1)}} {
		t.Run(tc.name, func(t *testing.T) {
			privPEM, err := MarshalPrivateKeyPEM(tc.key)
			if err != nil {
				t.Fatal(err)
			}
			if !bytes.HasPrefix(privPEM, []byte("-----BEGIN PRIVATE KEY-----\n")) {
				t.Errorf("private PEM header: %q", privPEM)
			}
			k, err := ParsePrivateKeyPEM(privPEM)
			if err != nil || !k.Equal(tc.key) {
				t.Fatalf("private round trip: %v", err)
			}
			pub := tc.key.Public().(ed25519.PublicKey)
			pubPEM, err := MarshalPublicKeyPEM(pub)
			if err != nil {
				t.Fatal(err)
			}
			if !bytes.HasPrefix(pubPEM, []byte("-----BEGIN PUBLIC KEY-----\n")) {
				t.Errorf("public PEM header: %q", pubPEM)
			}
			p, err := ParsePublicKeyPEM(pubPEM)
			if err != nil || !p.Equal(pub) {
				t.Fatalf("public round trip: %v", err)
			}
			block, _ := pem.Decode(pubPEM)
			sum := sha256.Sum256(block.Bytes)
			if fp := Fingerprint(pub); fp != "SHA256:"+hex.EncodeToString(sum[:]) {
				t.Errorf("Fingerprint = %q", fp)
			}
			if o := DefaultOrigin(pub); o != "holdfast/"+hex.EncodeToString(sum[:8]) {
				t.Errorf("DefaultOrigin = %q", o)
			}
		})
	}
}

func TestKeyPEMErrors(t *testing.T) {
	ecKey, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	ecPriv, _ := x509.MarshalPKCS8PrivateKey(ecKey)
	ecPub, _ := x509.MarshalPKIXPublicKey(&ecKey.PublicKey)
	edPriv, _ := MarshalPrivateKeyPEM(testKey(1))
	edPub, _ := MarshalPublicKeyPEM(testKey(1).Public().(ed25519.PublicKey))
	pemOf := func(typ string, der []byte) []byte { return pem.EncodeToMemory(&pem.Block{Type: typ, Bytes: der}) }
	tests := []struct {
		name  string
		parse func([]byte) error
		in    []byte
	}{
		{"private garbage", parsePriv, []byte("not pem")},
		{"private given public", parsePriv, edPub},
		{"private bad der", parsePriv, pemOf("PRIVATE KEY", []byte{1, 2, 3})},
		{"private ecdsa", parsePriv, pemOf("PRIVATE KEY", ecPriv)},
		{"public garbage", parsePub, nil},
		{"public given private", parsePub, edPriv},
		{"public bad der", parsePub, pemOf("PUBLIC KEY", []byte{1, 2, 3})},
		{"public ecdsa", parsePub, pemOf("PUBLIC KEY", ecPub)},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			err := tc.parse(tc.in)
			if err == nil || !strings.HasPrefix(err.Error(), "audit: ") {
				t.Fatalf("err = %v, want audit: error", err)
			}
		})
	}
	if _, err := MarshalPublicKeyPEM(ed25519.PublicKey{1, 2}); err == nil {
		t.Error("MarshalPublicKeyPEM accepted a short key")
	}
	if _, err := MarshalPrivateKeyPEM(ed25519.PrivateKey{1, 2}); err == nil {
		t.Error("MarshalPrivateKeyPEM accepted a short key")
	}
	if fp := Fingerprint(nil); fp != "SHA256:invalid" {
		t.Errorf("Fingerprint(nil) = %q", fp)
	}
}

func parsePriv(b []byte) error { _, err := ParsePrivateKeyPEM(b); return err }
func parsePub(b []byte) error  { _, err := ParsePublicKeyPEM(b); return err }

func TestLoadOrCreateKey(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "audit.key")
	k1, err := LoadOrCreateKey(path)
	if err != nil {
		t.Fatal(err)
	}
	st, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	if st.Mode().Perm() != 0o600 {
		t.Errorf("key file mode %v, want 0600", st.Mode().Perm())
	}
	k2, err := LoadOrCreateKey(path)
	if err != nil || !k1.Equal(k2) {
		t.Fatalf("second load returned a different key (err %v)", err)
	}
	if ents, _ := os.ReadDir(dir); len(ents) != 1 {
		t.Errorf("directory holds %d files, want only the key (temp file left?)", len(ents))
	}

	bad := filepath.Join(dir, "bad.key")
	if err := os.WriteFile(bad, []byte("garbage"), 0o600); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name string
		path string
	}{
		{"unparsable file", bad},
		{"missing directory", filepath.Join(dir, "nope", "audit.key")},
		{"path is a directory", dir},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if _, err := LoadOrCreateKey(tc.path); err == nil || !strings.HasPrefix(err.Error(), "audit: ") {
				t.Fatalf("err = %v, want audit: error", err)
			}
		})
	}
	if b, _ := os.ReadFile(bad); string(b) != "garbage" {
		t.Error("LoadOrCreateKey overwrote an unparsable key file")
	}
}

// TestPublicKeyPEMWithOpenSSL checks that the public PEM interoperates with
// OpenSSL: it verifies our Ed25519 signatures and matches OpenSSL's own
// derivation from our private PEM.
func TestPublicKeyPEMWithOpenSSL(t *testing.T) {
	openssl, err := exec.LookPath("openssl")
	if err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatal("openssl not on PATH; required when CI=true")
		}
		t.Skip("openssl not on PATH: cannot check PEM interoperability")
	}
	dir := t.TempDir()
	k := testKey(7)
	pubPEM, _ := MarshalPublicKeyPEM(k.Public().(ed25519.PublicKey))
	privPEM, _ := MarshalPrivateKeyPEM(k)
	msg := []byte("holdfast/abc\n42\nAAAA\n")
	write := func(name string, b []byte) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, b, 0o600); err != nil {
			t.Fatal(err)
		}
		return p
	}
	keyPath, privPath, msgPath := write("key.pem", pubPEM), write("priv.pem", privPEM), write("msg", msg)
	good := ed25519.Sign(k, msg)
	bad := append([]byte(nil), good...)
	bad[10] ^= 1
	tests := []struct {
		name string
		sig  []byte
		ok   bool
	}{{"valid signature", good, true}, {"corrupted signature", bad, false}}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			sigPath := write("sig-"+strings.ReplaceAll(tc.name, " ", "-"), tc.sig)
			out, err := exec.Command(openssl, "pkeyutl", "-verify", "-pubin", "-inkey", keyPath, "-rawin", "-in", msgPath, "-sigfile", sigPath).CombinedOutput()
			if tc.ok && err != nil {
				t.Fatalf("openssl rejected a valid signature: %v\n%s", err, out)
			}
			if !tc.ok && err == nil {
				t.Fatalf("openssl accepted a corrupted signature:\n%s", out)
			}
		})
	}
	out, err := exec.Command(openssl, "pkey", "-in", privPath, "-pubout").Output()
	if err != nil {
		t.Fatalf("openssl pkey: %v", err)
	}
	if !bytes.Equal(out, pubPEM) {
		t.Errorf("openssl derives public PEM\n%s\nwe produce\n%s", out, pubPEM)
	}
}
