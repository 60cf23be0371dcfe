package audit_test

import (
	"crypto/ed25519"
	"slices"
	"testing"

	"golang.org/x/mod/sumdb/tlog"

	"github.com/holdfast/holdfast/internal/audit"
)

func newSigner(t *testing.T) *audit.Signer {
	t.Helper()
	k, err := audit.GenerateKey()
	if err != nil {
		t.Fatal(err)
	}
	s, err := audit.NewSigner(audit.DefaultOrigin(k.Public().(ed25519.PublicKey)), k)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func TestSignRotationCarriesBothSignatures(t *testing.T) {
	old, next, stranger := newSigner(t), newSigner(t), newSigner(t)
	cp := audit.Checkpoint{Origin: next.Origin(), Size: 42, Root: tlog.Hash{1, 2, 3}}
	signed, err := audit.SignRotation(cp, old, next)
	if err != nil {
		t.Fatal(err)
	}
	got, err := audit.OpenCheckpoint(signed, next.Origin(), next.PublicKey())
	if err != nil || got != cp {
		t.Fatalf("new key: %+v, %v", got, err)
	}
	got, err = audit.OpenCheckpointSignedBy(signed, old.Origin(), old.PublicKey())
	if err != nil || got != cp {
		t.Fatalf("retiring key: %+v, %v", got, err)
	}
	if _, err := audit.OpenCheckpoint(signed, old.Origin(), old.PublicKey()); err == nil {
		t.Error("OpenCheckpoint accepted a body whose origin is not the retiring key's")
	}
	if _, err := audit.OpenCheckpointSignedBy(signed, stranger.Origin(), stranger.PublicKey()); err == nil {
		t.Error("a key that did not sign verified the rotation")
	}
	if names := audit.SignerNames(signed); !slices.Equal(names, []string{old.Origin(), next.Origin()}) {
		t.Errorf("SignerNames = %v, want [%s %s]", names, old.Origin(), next.Origin())
	}
	if _, err := audit.SignRotation(audit.Checkpoint{Origin: old.Origin(), Size: 1}, old, next); err == nil {
		t.Error("a rotation checkpoint under the retiring key's origin was signed")
	}
}
