package audit

import (
	"crypto/ed25519"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"unicode"
	"unicode/utf8"

	"golang.org/x/mod/sumdb/note"
	"golang.org/x/mod/sumdb/tlog"
)

// Checkpoint is a tree head: the log identity (Origin), the number of entries
// (Size) and the RFC 6962 root hash over them (Root). Signed, it commits the
// server to the whole content and order of the first Size entries.
type Checkpoint struct {
	Origin string
	Size   int64
	Root   tlog.Hash
}

// maxCheckpointBytes bounds the signed notes OpenCheckpoint accepts. Real
// checkpoints are a few hundred bytes.
const maxCheckpointBytes = 1 << 16

// String returns the checkpoint body in C2SP tlog-checkpoint form:
// "<origin>\n<size>\n<base64 root>\n".
func (c Checkpoint) String() string {
	return c.Origin + "\n" + strconv.FormatInt(c.Size, 10) + "\n" + FormatHash(c.Root) + "\n"
}

// Signer signs checkpoints as C2SP signed notes with the server's Ed25519
// key. The note key name is the checkpoint origin, and the signature uses the
// standard Ed25519 note key hash, so any C2SP signed-note verifier (including
// golang.org/x/mod/sumdb/note with [Signer.VerifierKey]) accepts it.
// A Signer is immutable and safe for concurrent use.
type Signer struct {
	origin      string
	key         ed25519.PrivateKey
	verifierKey string
	signer      noteSigner
}

// NewSigner returns a Signer for checkpoints of the log named origin (for
// example [DefaultOrigin] of the key). origin must be a valid note key name:
// non-empty UTF-8 without spaces or '+'.
func NewSigner(origin string, k ed25519.PrivateKey) (*Signer, error) {
	if len(k) != ed25519.PrivateKeySize {
		return nil, fmt.Errorf("audit: new signer: invalid Ed25519 private key length %d", len(k))
	}
	v, vkey, err := newVerifier(origin, k.Public().(ed25519.PublicKey))
	if err != nil {
		return nil, fmt.Errorf("audit: new signer: %w", err)
	}
	return &Signer{
		origin:      origin,
		key:         k,
		verifierKey: vkey,
		signer:      noteSigner{name: origin, hash: v.KeyHash(), key: k},
	}, nil
}

// newVerifier returns the note verifier, and its encoded key, for origin and
// pub. The key hash is computed by the note package itself.
func newVerifier(origin string, pub ed25519.PublicKey) (note.Verifier, string, error) {
	if !validOrigin(origin) {
		return nil, "", fmt.Errorf("invalid origin %q: must be non-empty UTF-8 without spaces, control characters or '+'", origin)
	}
	vkey, err := note.NewEd25519VerifierKey(origin, pub)
	if err != nil {
		return nil, "", err
	}
	v, err := note.NewVerifier(vkey)
	if err != nil {
		return nil, "", err
	}
	return v, vkey, nil
}

// validOrigin reports whether origin can be both a checkpoint origin line and
// a note key name.
func validOrigin(origin string) bool {
	return origin != "" && utf8.ValidString(origin) && !strings.Contains(origin, "+") &&
		strings.IndexFunc(origin, func(r rune) bool { return unicode.IsSpace(r) || unicode.IsControl(r) }) < 0
}

// Sign returns cp as a signed note:
//
//	<origin>\n<size>\n<base64 root>\n\n— <origin> <base64(keyhash||signature)>\n
//
// cp.Origin must equal the signer's origin and cp.Size must be non-negative.
func (s *Signer) Sign(cp Checkpoint) ([]byte, error) {
	if cp.Origin != s.origin {
		return nil, fmt.Errorf("audit: sign checkpoint: origin %q does not match signer origin %q", cp.Origin, s.origin)
	}
	if cp.Size < 0 {
		return nil, fmt.Errorf("audit: sign checkpoint: negative size %d", cp.Size)
	}
	msg, err := note.Sign(&note.Note{Text: cp.String()}, s.signer)
	if err != nil {
		return nil, fmt.Errorf("audit: sign checkpoint: %w", err)
	}
	return msg, nil
}

// VerifierKey returns the note verifier key "<origin>+<keyhash hex>+<base64
// of 0x01||public key>", for publishing and for note.NewVerifier.
func (s *Signer) VerifierKey() string { return s.verifierKey }

// Origin returns the log origin the signer signs for.
func (s *Signer) Origin() string { return s.origin }

// PublicKey returns the signer's Ed25519 public key.
func (s *Signer) PublicKey() ed25519.PublicKey { return s.key.Public().(ed25519.PublicKey) }

// noteSigner implements note.Signer for an Ed25519 key (algorithm 0x01).
type noteSigner struct {
	name string
	hash uint32
	key  ed25519.PrivateKey
}

func (n noteSigner) Name() string                    { return n.name }
func (n noteSigner) KeyHash() uint32                 { return n.hash }
func (n noteSigner) Sign(msg []byte) ([]byte, error) { return ed25519.Sign(n.key, msg), nil }

// OpenCheckpoint verifies that signed is a signed note carrying a valid
// signature by pub under the key name origin, and parses its body as a C2SP
// tlog-checkpoint whose origin line equals origin. Signatures by other keys
// (e.g. witnesses) are allowed and ignored. The body must be exactly three
// lines; extension lines, which holdfast never writes, are rejected. The size
// must be a canonical decimal and the root canonical base64 of 32 bytes.
func OpenCheckpoint(signed []byte, origin string, pub ed25519.PublicKey) (Checkpoint, error) {
	if len(signed) > maxCheckpointBytes {
		return Checkpoint{}, fmt.Errorf("audit: open checkpoint: note too large (%d bytes)", len(signed))
	}
	if len(pub) != ed25519.PublicKeySize {
		return Checkpoint{}, fmt.Errorf("audit: open checkpoint: invalid Ed25519 public key length %d", len(pub))
	}
	v, _, err := newVerifier(origin, pub)
	if err != nil {
		return Checkpoint{}, fmt.Errorf("audit: open checkpoint: %w", err)
	}
	n, err := note.Open(signed, note.VerifierList(v))
	if err != nil {
		return Checkpoint{}, fmt.Errorf("audit: open checkpoint: %w", err)
	}
	cp, err := parseCheckpoint(n.Text)
	if err != nil {
		return Checkpoint{}, err
	}
	if cp.Origin != origin {
		return Checkpoint{}, fmt.Errorf("audit: open checkpoint: origin %q, want %q", cp.Origin, origin)
	}
	return cp, nil
}

// parseCheckpoint parses a checkpoint body "<origin>\n<size>\n<root>\n".
func parseCheckpoint(text string) (Checkpoint, error) {
	lines := strings.Split(text, "\n")
	if len(lines) != 4 || lines[3] != "" {
		return Checkpoint{}, errors.New("audit: open checkpoint: body must be exactly origin, size and root lines")
	}
	origin, sizeStr, rootStr := lines[0], lines[1], lines[2]
	if origin == "" {
		return Checkpoint{}, errors.New("audit: open checkpoint: empty origin")
	}
	size, err := strconv.ParseInt(sizeStr, 10, 64)
	if err != nil || size < 0 || strconv.FormatInt(size, 10) != sizeStr {
		return Checkpoint{}, fmt.Errorf("audit: open checkpoint: malformed size %q", sizeStr)
	}
	root, err := ParseHash(rootStr)
	if err != nil {
		return Checkpoint{}, fmt.Errorf("audit: open checkpoint: root: %w", err)
	}
	return Checkpoint{Origin: origin, Size: size, Root: root}, nil
}

// SignMessage signs msg with the server's key (raw Ed25519, 64 bytes). It
// signs packages: `openssl pkeyutl -verify -rawin` checks the result with
// the PEM public key.
func (s *Signer) SignMessage(msg []byte) []byte { return ed25519.Sign(s.key, msg) }
