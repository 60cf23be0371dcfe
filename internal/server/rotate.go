package server

import (
	"context"
	"crypto/ed25519"
	"fmt"
	"os"
	"path/filepath"

	"github.com/holdfast/holdfast/internal/audit"
	"github.com/holdfast/holdfast/internal/auditlog"
	"github.com/holdfast/holdfast/internal/vault"
)

// Rotation is what `holdfast key rotate` did.
type Rotation struct {
	OldFingerprint string
	NewFingerprint string
	Checkpoint     audit.Checkpoint
	Signed         []byte // the checkpoint, signed by both keys
}

// RotateKey hands the audit log from the configured signing key to the key
// in newKeyFile (generated there, mode 0600, if the file does not exist):
// it appends a checkpoint signed by both keys, after which replicas start
// only with the new key. It works on the database directly, like serve, so
// it needs the same --database and the current key.
func RotateKey(ctx context.Context, cfg Config, newKeyFile string) (Rotation, error) {
	if cfg.Clock == nil {
		cfg.Clock = vault.SystemClock{}
	}
	if cfg.DataDir == "" {
		cfg.DataDir = "./holdfast-data"
	}
	keyPath := cfg.SigningKeyFile
	if keyPath == "" {
		keyPath = filepath.Join(cfg.DataDir, "signing-key")
	}
	b, err := os.ReadFile(keyPath)
	if err != nil {
		return Rotation{}, &ConfigError{Msg: fmt.Sprintf("current signing key %s: %v", keyPath, err)}
	}
	cur, err := audit.ParsePrivateKeyPEM(b)
	if err != nil {
		return Rotation{}, &ConfigError{Msg: fmt.Sprintf("current signing key %s: %v", keyPath, err)}
	}
	next, err := audit.LoadOrCreateKey(newKeyFile)
	if err != nil {
		return Rotation{}, &ConfigError{Msg: fmt.Sprintf("new signing key %s: %v", newKeyFile, err)}
	}
	db, err := openStore(ctx, cfg)
	if err != nil {
		return Rotation{}, err
	}
	defer db.Close()
	signer, err := audit.NewSigner(audit.DefaultOrigin(cur.Public().(ed25519.PublicKey)), cur)
	if err != nil {
		return Rotation{}, fmt.Errorf("server: rotate: %w", err)
	}
	log := &auditlog.Log{Store: db, Signer: signer, Keys: db}
	cp, signed, err := log.Rotate(ctx, db, next, "system:key-rotate", cfg.Clock.Now())
	if err != nil {
		return Rotation{}, err
	}
	return Rotation{OldFingerprint: audit.Fingerprint(signer.PublicKey()), NewFingerprint: audit.Fingerprint(next.Public().(ed25519.PublicKey)),
		Checkpoint: cp, Signed: signed}, nil
}
