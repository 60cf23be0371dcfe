package audit

import (
	"crypto/ed25519"
	"crypto/rand"
	"crypto/sha256"
	"crypto/x509"
	"encoding/hex"
	"encoding/pem"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
)

// PEM block types used for the server's signing key.
const (
	pemPrivateKey = "PRIVATE KEY" // PKCS#8
	pemPublicKey  = "PUBLIC KEY"  // PKIX SubjectPublicKeyInfo
)

// GenerateKey returns a new random Ed25519 private key for signing
// checkpoints.
func GenerateKey() (ed25519.PrivateKey, error) {
	_, k, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		return nil, fmt.Errorf("audit: generate key: %w", err)
	}
	return k, nil
}

// MarshalPrivateKeyPEM encodes k as a PKCS#8 "PRIVATE KEY" PEM block, the
// format OpenSSL and most tooling read.
func MarshalPrivateKeyPEM(k ed25519.PrivateKey) ([]byte, error) {
	if len(k) != ed25519.PrivateKeySize {
		return nil, fmt.Errorf("audit: marshal private key: invalid Ed25519 private key length %d", len(k))
	}
	der, err := x509.MarshalPKCS8PrivateKey(k)
	if err != nil {
		return nil, fmt.Errorf("audit: marshal private key: %w", err)
	}
	return pem.EncodeToMemory(&pem.Block{Type: pemPrivateKey, Bytes: der}), nil
}

// ParsePrivateKeyPEM decodes a PKCS#8 "PRIVATE KEY" PEM block holding an
// Ed25519 key, as written by [MarshalPrivateKeyPEM] or
// `openssl genpkey -algorithm ed25519`.
func ParsePrivateKeyPEM(b []byte) (ed25519.PrivateKey, error) {
	block, _ := pem.Decode(b)
	if block == nil || block.Type != pemPrivateKey {
		return nil, errors.New(`audit: parse private key: no "PRIVATE KEY" PEM block`)
	}
	k, err := x509.ParsePKCS8PrivateKey(block.Bytes)
	if err != nil {
		return nil, fmt.Errorf("audit: parse private key: %w", err)
	}
	ek, ok := k.(ed25519.PrivateKey)
	if !ok {
		return nil, fmt.Errorf("audit: parse private key: %T is not an Ed25519 key", k)
	}
	return ek, nil
}

// MarshalPublicKeyPEM encodes k as a PKIX "PUBLIC KEY" PEM block, usable
// directly with `openssl pkeyutl -verify -pubin -inkey key.pem -rawin`.
func MarshalPublicKeyPEM(k ed25519.PublicKey) ([]byte, error) {
	der, err := marshalPublicKeyDER(k)
	if err != nil {
		return nil, err
	}
	return pem.EncodeToMemory(&pem.Block{Type: pemPublicKey, Bytes: der}), nil
}

// ParsePublicKeyPEM decodes a PKIX "PUBLIC KEY" PEM block holding an Ed25519
// key, as served by the API for `holdfast audit verify`.
func ParsePublicKeyPEM(b []byte) (ed25519.PublicKey, error) {
	block, _ := pem.Decode(b)
	if block == nil || block.Type != pemPublicKey {
		return nil, errors.New(`audit: parse public key: no "PUBLIC KEY" PEM block`)
	}
	k, err := x509.ParsePKIXPublicKey(block.Bytes)
	if err != nil {
		return nil, fmt.Errorf("audit: parse public key: %w", err)
	}
	ek, ok := k.(ed25519.PublicKey)
	if !ok {
		return nil, fmt.Errorf("audit: parse public key: %T is not an Ed25519 key", k)
	}
	return ek, nil
}

func marshalPublicKeyDER(k ed25519.PublicKey) ([]byte, error) {
	if len(k) != ed25519.PublicKeySize {
		return nil, fmt.Errorf("audit: marshal public key: invalid Ed25519 public key length %d", len(k))
	}
	der, err := x509.MarshalPKIXPublicKey(k)
	if err != nil {
		return nil, fmt.Errorf("audit: marshal public key: %w", err)
	}
	return der, nil
}

// Fingerprint identifies a public key for humans and for pinning:
// "SHA256:" followed by the lowercase hex SHA-256 of the key's PKIX DER
// encoding (the bytes inside the "PUBLIC KEY" PEM block), so it can be
// reproduced with `openssl pkey -pubin -in key.pem -outform DER | sha256sum`.
// An invalid key yields "SHA256:invalid".
func Fingerprint(k ed25519.PublicKey) string {
	der, err := marshalPublicKeyDER(k)
	if err != nil {
		return "SHA256:invalid"
	}
	sum := sha256.Sum256(der)
	return "SHA256:" + hex.EncodeToString(sum[:])
}

// DefaultOrigin returns the checkpoint origin (and note key name) holdfast
// uses for a key: "holdfast/" followed by the first 16 hex digits of the key's
// [Fingerprint]. Tying the origin to the key makes a key rotation start a new,
// distinguishable log identity.
func DefaultOrigin(k ed25519.PublicKey) string {
	fp := Fingerprint(k)
	const prefix = len("SHA256:")
	return "holdfast/" + fp[prefix:min(len(fp), prefix+16)]
}

// LoadOrCreateKey returns the PEM private key stored at path. If no file
// exists there, it generates a key and writes it atomically with mode 0600:
// a temporary file in the same directory is written and fsynced, then
// hard-linked into place (which, unlike rename, never replaces a key another
// process created meanwhile; rename is used only where hard links are not
// supported), and the directory is fsynced. The directory must exist.
// Existing files are not checked for permissions.
func LoadOrCreateKey(path string) (ed25519.PrivateKey, error) {
	k, err := loadKey(path)
	if !errors.Is(err, fs.ErrNotExist) {
		return k, err
	}

	k, err = GenerateKey()
	if err != nil {
		return nil, err
	}
	pemBytes, err := MarshalPrivateKeyPEM(k)
	if err != nil {
		return nil, err
	}
	dir := filepath.Dir(path)
	tmp, err := os.CreateTemp(dir, ".audit-key-*.tmp") // created with mode 0600
	if err != nil {
		return nil, fmt.Errorf("audit: create key: %w", err)
	}
	tmpName := tmp.Name()
	defer os.Remove(tmpName) // best effort; harmless after link or rename
	if err := writeAndSync(tmp, pemBytes); err != nil {
		return nil, fmt.Errorf("audit: create key: %w", err)
	}

	if err := os.Link(tmpName, path); err != nil {
		if errors.Is(err, fs.ErrExist) {
			// Another process created the key first: use that one.
			return loadKey(path)
		}
		if err := os.Rename(tmpName, path); err != nil {
			return nil, fmt.Errorf("audit: create key: %w", err)
		}
	}
	if err := syncDir(dir); err != nil {
		return nil, fmt.Errorf("audit: create key: %w", err)
	}
	return k, nil
}

// loadKey reads and parses the PEM private key at path. A missing file yields
// an error wrapping fs.ErrNotExist.
func loadKey(path string) (ed25519.PrivateKey, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("audit: load key: %w", err)
	}
	k, err := ParsePrivateKeyPEM(b)
	if err != nil {
		return nil, fmt.Errorf("audit: load key %s: %w", path, err)
	}
	return k, nil
}

// writeAndSync writes b to f with mode 0600, fsyncs and closes it.
func writeAndSync(f *os.File, b []byte) error {
	_, werr := f.Write(b)
	cherr := f.Chmod(0o600)
	serr := f.Sync()
	cerr := f.Close()
	return errors.Join(werr, cherr, serr, cerr)
}

// syncDir fsyncs a directory so that a new entry in it is durable.
func syncDir(dir string) error {
	d, err := os.Open(dir)
	if err != nil {
		return err
	}
	serr := d.Sync()
	cerr := d.Close()
	return errors.Join(serr, cerr)
}
