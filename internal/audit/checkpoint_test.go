package audit

import (
	"bytes"
	"crypto/ed25519"
	"encoding/base64"
	"fmt"
	"strings"
	"testing"

	"golang.org/x/mod/sumdb/note"
	"golang.org/x/mod/sumdb/tlog"
)

func testSigner(t testing.TB, seed byte) *Signer {
	t.Helper()
	k := testKey(seed)
	s, err := NewSigner(DefaultOrigin(k.Public().(ed25519.PublicKey)), k)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func TestCheckpointRoundTrip(t *testing.T) {
	s := testSigner(t, 1)
	tests := []struct {
		name string
		cp   Checkpoint
	}{
		{"empty tree", Checkpoint{Origin: s.Origin(), Size: 0, Root: EmptyRoot()}},
		{"one leaf", Checkpoint{Origin: s.Origin(), Size: 1, Root: LeafHash([]byte("x"))}},
		{"large", Checkpoint{Origin: s.Origin(), Size: 1<<62 + 12345, Root: tlog.Hash{0xff, 1, 2}}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			signed, err := s.Sign(tc.cp)
			if err != nil {
				t.Fatal(err)
			}
			// Exact C2SP format: body, blank line, one signature line.
			body := fmt.Sprintf("%s\n%d\n%s\n", tc.cp.Origin, tc.cp.Size, base64.StdEncoding.EncodeToString(tc.cp.Root[:]))
			prefix := body + "\n\u2014 " + s.Origin() + " "
			if !strings.HasPrefix(string(signed), prefix) || strings.Count(string(signed), "\n") != 5 {
				t.Fatalf("signed note format:\n%s", signed)
			}
			sig, err := base64.StdEncoding.DecodeString(strings.TrimSuffix(strings.TrimPrefix(string(signed), prefix), "\n"))
			if err != nil || len(sig) != 4+ed25519.SignatureSize {
				t.Fatalf("signature line: %v, %d bytes", err, len(sig))
			}
			if !ed25519.Verify(s.PublicKey(), []byte(body), sig[4:]) {
				t.Fatal("raw Ed25519 signature over the body does not verify")
			}

			got, err := OpenCheckpoint(signed, s.Origin(), s.PublicKey())
			if err != nil {
				t.Fatal(err)
			}
			if got != tc.cp {
				t.Errorf("OpenCheckpoint = %+v, want %+v", got, tc.cp)
			}

			// Standard verifier from the published verifier key.
			v, err := note.NewVerifier(s.VerifierKey())
			if err != nil {
				t.Fatal(err)
			}
			n, err := note.Open(signed, note.VerifierList(v))
			if err != nil {
				t.Fatalf("note.Open: %v", err)
			}
			if n.Text != body || len(n.Sigs) != 1 || n.Sigs[0].Name != s.Origin() {
				t.Errorf("note.Open: %+v", n)
			}
		})
	}
}

// TestSignerMatchesNoteSigner checks that the hand-built signer is
// byte-identical to the note package's own Ed25519 signer (same key hash),
// which only exists in its "PRIVATE+KEY+name+hash+base64" string form.
func TestSignerMatchesNoteSigner(t *testing.T) {
	s := testSigner(t, 2)
	parts := strings.Split(s.VerifierKey(), "+")
	skey := "PRIVATE+KEY+" + parts[0] + "+" + parts[1] + "+" + base64.StdEncoding.EncodeToString(append([]byte{1}, testKey(2).Seed()...))
	ns, err := note.NewSigner(skey)
	if err != nil {
		t.Fatal(err)
	}
	cp := Checkpoint{Origin: s.Origin(), Size: 5, Root: LeafHash([]byte("r"))}
	ours, err := s.Sign(cp)
	if err != nil {
		t.Fatal(err)
	}
	theirs, err := note.Sign(&note.Note{Text: cp.String()}, ns)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(ours, theirs) {
		t.Errorf("signed notes differ:\n%s\n%s", ours, theirs)
	}
}

func TestOpenCheckpointRejects(t *testing.T) {
	s := testSigner(t, 1)
	other := testSigner(t, 9)
	cp := Checkpoint{Origin: s.Origin(), Size: 10, Root: LeafHash([]byte("root"))}
	signed, err := s.Sign(cp)
	if err != nil {
		t.Fatal(err)
	}
	otherSigned, _ := other.Sign(Checkpoint{Origin: other.Origin(), Size: 10, Root: cp.Root})
	// A note with the right key but a body that is not a valid checkpoint.
	signBody := func(body string) []byte {
		b, err := note.Sign(&note.Note{Text: body}, s.signer)
		if err != nil {
			t.Fatal(err)
		}
		return b
	}
	root := FormatHash(cp.Root)
	// Same key, but signing under a different key name.
	renamed, _ := NewSigner("holdfast/other", testKey(1))
	renamedSigned, _ := renamed.Sign(Checkpoint{Origin: "holdfast/other", Size: 10, Root: cp.Root})

	tests := []struct {
		name   string
		signed []byte
		origin string
		pub    ed25519.PublicKey
	}{
		{"wrong key", signed, s.Origin(), other.PublicKey()},
		{"signed by other key", otherSigned, s.Origin(), s.PublicKey()},
		{"wrong origin", signed, other.Origin(), s.PublicKey()},
		{"other key name", renamedSigned, s.Origin(), s.PublicKey()},
		{"modified size", bytes.Replace(signed, []byte("\n10\n"), []byte("\n11\n"), 1), s.Origin(), s.PublicKey()},
		{"modified root", bytes.Replace(signed, []byte(root), []byte(FormatHash(tlog.Hash{})), 1), s.Origin(), s.PublicKey()},
		{"modified origin line", append([]byte("x"), signed...), s.Origin(), s.PublicKey()},
		{"truncated", signed[:len(signed)-10], s.Origin(), s.PublicKey()},
		{"no signature", []byte(cp.String()), s.Origin(), s.PublicKey()},
		{"empty", nil, s.Origin(), s.PublicKey()},
		{"short public key", signed, s.Origin(), ed25519.PublicKey{1}},
		{"invalid origin name", signed, "has space", s.PublicKey()},
		{"empty origin", signed, "", s.PublicKey()},
		{"body origin mismatch", signBody("elsewhere\n10\n" + root + "\n"), s.Origin(), s.PublicKey()},
		{"extension line", signBody(cp.String() + "ext\n"), s.Origin(), s.PublicKey()},
		{"missing root", signBody(s.Origin() + "\n10\n"), s.Origin(), s.PublicKey()},
		{"negative size", signBody(s.Origin() + "\n-1\n" + root + "\n"), s.Origin(), s.PublicKey()},
		{"leading zero size", signBody(s.Origin() + "\n010\n" + root + "\n"), s.Origin(), s.PublicKey()},
		{"plus size", signBody(s.Origin() + "\n+10\n" + root + "\n"), s.Origin(), s.PublicKey()},
		{"hex root", signBody(s.Origin() + "\n10\n" + fmt.Sprintf("%x", cp.Root[:]) + "\n"), s.Origin(), s.PublicKey()},
		{"too large", append(bytes.Repeat([]byte("a"), maxCheckpointBytes), signed...), s.Origin(), s.PublicKey()},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, err := OpenCheckpoint(tc.signed, tc.origin, tc.pub)
			if err == nil {
				t.Fatal("OpenCheckpoint succeeded, want error")
			}
			if !strings.HasPrefix(err.Error(), "audit: ") {
				t.Errorf("error %q lacks audit: prefix", err)
			}
		})
	}
}

func TestOpenCheckpointCosigned(t *testing.T) {
	s := testSigner(t, 1)
	witness := testSigner(t, 3)
	cp := Checkpoint{Origin: s.Origin(), Size: 3, Root: LeafHash([]byte("r"))}
	signed, _ := s.Sign(cp)
	n, err := note.Open(signed, note.VerifierList(mustVerifier(t, s.VerifierKey())))
	if err != nil {
		t.Fatal(err)
	}
	cosigned, err := note.Sign(n, witness.signer)
	if err != nil {
		t.Fatal(err)
	}
	got, err := OpenCheckpoint(cosigned, s.Origin(), s.PublicKey())
	if err != nil || got != cp {
		t.Fatalf("cosigned checkpoint: %+v, %v", got, err)
	}
	if _, err := OpenCheckpoint(cosigned, s.Origin(), witness.PublicKey()); err == nil {
		t.Fatal("witness key accepted under the log origin")
	}
}

func TestSignerErrors(t *testing.T) {
	k := testKey(1)
	tests := []struct {
		name string
		run  func() error
	}{
		{"origin with plus", func() error { _, err := NewSigner("a+b", k); return err }},
		{"origin with newline", func() error { _, err := NewSigner("a\nb", k); return err }},
		{"empty origin", func() error { _, err := NewSigner("", k); return err }},
		{"short key", func() error { _, err := NewSigner("a", k[:10]); return err }},
		{"sign other origin", func() error {
			_, err := testSigner(t, 1).Sign(Checkpoint{Origin: "x", Size: 1})
			return err
		}},
		{"sign negative size", func() error {
			s := testSigner(t, 1)
			_, err := s.Sign(Checkpoint{Origin: s.Origin(), Size: -1})
			return err
		}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if err := tc.run(); err == nil || !strings.HasPrefix(err.Error(), "audit: ") {
				t.Fatalf("err = %v, want audit: error", err)
			}
		})
	}
}

func mustVerifier(t testing.TB, vkey string) note.Verifier {
	t.Helper()
	v, err := note.NewVerifier(vkey)
	if err != nil {
		t.Fatal(err)
	}
	return v
}

func FuzzOpenCheckpoint(f *testing.F) {
	s := testSigner(f, 1)
	for _, size := range []int64{0, 1, 70, 1 << 40} {
		signed, err := s.Sign(Checkpoint{Origin: s.Origin(), Size: size, Root: LeafHash(fmt.Append(nil, size))})
		if err != nil {
			f.Fatal(err)
		}
		f.Add(signed)
	}
	f.Add([]byte(s.Origin() + "\n1\n" + FormatHash(tlog.Hash{}) + "\n\n\u2014 " + s.Origin() + " AAAAAAAA\n"))
	f.Add([]byte{})
	f.Fuzz(func(t *testing.T, signed []byte) {
		cp, err := OpenCheckpoint(signed, s.Origin(), s.PublicKey())
		if err != nil {
			return
		}
		// Anything accepted must be a well-formed checkpoint exactly as we
		// would have written it.
		if cp.Origin != s.Origin() || cp.Size < 0 || !bytes.HasPrefix(signed, []byte(cp.String()+"\n")) {
			t.Fatalf("accepted malformed checkpoint %+v from %q", cp, signed)
		}
	})
}
