package bag

import (
	"bytes"
	"context"
	"crypto/sha256"
	"crypto/sha512"
	"encoding/hex"
	"errors"
	"fmt"
	"hash"
	"io"
	"io/fs"
	"os"
	"sort"
	"strings"
	"time"
)

// Entry names one payload or tag file (bag-relative slash path, e.g.
// "data/recordings/x.wav") and its digests as returned by WriteFile and
// recorded by the export engine.
type Entry struct {
	Path string
	Digests
}

// Field is one "Label: Value" line of bag-info.txt.
type Field struct {
	Label, Value string
}

// Info holds the bag-info.txt fields in the order they are written. Labels
// may repeat. Finalize adds Payload-Oxum and Bagging-Date if absent.
type Info []Field

// Get returns the value of the first field whose label matches label
// case-insensitively, and whether one was found.
func (in Info) Get(label string) (string, bool) {
	for _, f := range in {
		if strings.EqualFold(f.Label, label) {
			return f.Value, true
		}
	}
	return "", false
}

// Names of the files Finalize writes.
const (
	bagitTxt        = "bagit.txt"
	bagInfoTxt      = "bag-info.txt"
	manifest256     = "manifest-sha256.txt"
	manifest512     = "manifest-sha512.txt"
	tagManifest256  = "tagmanifest-sha256.txt"
	tagManifest512  = "tagmanifest-sha512.txt"
	signatureSuffix = ".sig"
)

// SignatureFile is the bag-relative name of the detached raw Ed25519
// signature over the exact bytes of tagmanifest-sha256.txt. It is not listed
// in any tag manifest.
const SignatureFile = tagManifest256 + signatureSuffix

// Finalize completes a bag whose payload files (and any extra tag files,
// such as custody/custody.json) have already been written into bagDir. It
// works only from the recorded digests in payload, so it never re-reads
// payload; it does check that each payload file exists with the recorded
// size.
//
// It writes, each atomically: bagit.txt (BagIt-Version 1.0, UTF-8),
// bag-info.txt (info plus Payload-Oxum and Bagging-Date if absent),
// manifest-sha256.txt and manifest-sha512.txt (payload sorted by path),
// then tagmanifest-sha512.txt and tagmanifest-sha256.txt covering every
// other file outside data/ except tag manifests and the signature, and,
// if sign is not nil, SignatureFile = sign(tagmanifest-sha256.txt bytes).
// When sign is nil any old signature file is removed so that a stale
// signature cannot survive a re-finalize. Leftover temporary files are
// removed first.
//
// It returns the lowercase hex SHA-256 of tagmanifest-sha256.txt, which the
// export engine can record or anchor. Finalize is idempotent and may be
// re-run after a crash; it must not run concurrently with WriteFile on the
// same bag.
func Finalize(ctx context.Context, bagDir string, payload []Entry, info Info, sign func([]byte) ([]byte, error)) (string, error) {
	if _, err := RemoveStaleTemp(bagDir); err != nil {
		return "", err
	}
	if err := checkPayload(bagDir, payload); err != nil {
		return "", err
	}
	if err := ensureDataDir(bagDir); err != nil {
		return "", err
	}
	infoBytes, err := renderInfo(payload, info)
	if err != nil {
		return "", err
	}
	files := []struct {
		name string
		data []byte
	}{
		{bagitTxt, []byte("BagIt-Version: 1.0\nTag-File-Character-Encoding: UTF-8\n")},
		{bagInfoTxt, infoBytes},
		{manifest256, formatManifest(payload, func(d Digests) string { return d.SHA256 })},
		{manifest512, formatManifest(payload, func(d Digests) string { return d.SHA512 })},
	}
	for _, f := range files {
		if err := ctx.Err(); err != nil {
			return "", err
		}
		if err := writeBytes(bagDir, f.name, f.data); err != nil {
			return "", err
		}
	}

	tags, err := hashTagFiles(ctx, bagDir)
	if err != nil {
		return "", err
	}
	tm512 := formatManifest(tags, func(d Digests) string { return d.SHA512 })
	tm256 := formatManifest(tags, func(d Digests) string { return d.SHA256 })
	if err := writeBytes(bagDir, tagManifest512, tm512); err != nil {
		return "", err
	}
	if err := writeBytes(bagDir, tagManifest256, tm256); err != nil {
		return "", err
	}
	if sign != nil {
		sig, err := sign(bytes.Clone(tm256))
		if err != nil {
			return "", fmt.Errorf("bag: sign %s: %w", tagManifest256, err)
		}
		if err := writeBytes(bagDir, SignatureFile, sig); err != nil {
			return "", err
		}
	} else if err := removeIfExists(bagDir, SignatureFile); err != nil {
		return "", err
	}
	sum := sha256.Sum256(tm256)
	return hex.EncodeToString(sum[:]), nil
}

// ensureDataDir creates the payload directory, which RFC 8493 requires
// even for an empty payload.
func ensureDataDir(bagDir string) error {
	root, err := os.OpenRoot(bagDir)
	if err != nil {
		return fmt.Errorf("bag: open bag dir: %w", err)
	}
	defer root.Close()
	return mkdirAllSync(root, "data")
}

// removeIfExists durably removes bagDir/rel if it exists.
func removeIfExists(bagDir, rel string) error {
	root, err := os.OpenRoot(bagDir)
	if err != nil {
		return fmt.Errorf("bag: open bag dir: %w", err)
	}
	defer root.Close()
	if err := root.Remove(rel); err != nil {
		if errors.Is(err, fs.ErrNotExist) {
			return nil
		}
		return fmt.Errorf("bag: remove %s: %w", rel, err)
	}
	return syncDir(root, ".")
}

// writeBytes atomically writes data to bagDir/rel.
func writeBytes(bagDir, rel string, data []byte) error {
	return writeAtomic(bagDir, rel, func(w io.Writer) error {
		_, err := w.Write(data)
		return err
	})
}

// checkPayload verifies that payload entries are unique, well-formed paths
// under data/ with digests of the right shape, and that each file exists as
// a regular file of the recorded size.
func checkPayload(bagDir string, payload []Entry) error {
	root, err := os.OpenRoot(bagDir)
	if err != nil {
		return fmt.Errorf("bag: open bag dir: %w", err)
	}
	defer root.Close()
	seen := make(map[string]bool, len(payload))
	for _, e := range payload {
		if err := checkWritePath(e.Path); err != nil {
			return err
		}
		if !strings.HasPrefix(e.Path, "data/") {
			return fmt.Errorf("bag: payload path %q is not under data/", e.Path)
		}
		if seen[e.Path] {
			return fmt.Errorf("bag: payload path %q listed twice", e.Path)
		}
		seen[e.Path] = true
		if len(e.SHA256) != 64 || !isLowerHex(e.SHA256) || len(e.SHA512) != 128 || !isLowerHex(e.SHA512) {
			return fmt.Errorf("bag: payload %q has malformed digests", e.Path)
		}
		fi, err := root.Lstat(e.Path)
		if err != nil {
			return fmt.Errorf("bag: payload %q: %w", e.Path, err)
		}
		if !fi.Mode().IsRegular() {
			return fmt.Errorf("bag: payload %q is not a regular file", e.Path)
		}
		if fi.Size() != e.Size {
			return fmt.Errorf("bag: payload %q is %d bytes, recorded %d", e.Path, fi.Size(), e.Size)
		}
	}
	// Every file under data/ must be listed, or the bag would be invalid.
	err = fs.WalkDir(root.FS(), "data", func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			if p == "data" && errors.Is(err, fs.ErrNotExist) {
				return nil
			}
			return err
		}
		if !d.IsDir() && !seen[p] {
			return fmt.Errorf("file %q is in data/ but not in the payload list", p)
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("bag: check payload: %w", err)
	}
	return nil
}

func isLowerHex(s string) bool { return isHex(s) && strings.ToLower(s) == s }

// renderInfo produces bag-info.txt from info, adding Payload-Oxum and
// Bagging-Date when absent. A caller-supplied Payload-Oxum must match the
// payload.
func renderInfo(payload []Entry, info Info) ([]byte, error) {
	var octets int64
	for _, e := range payload {
		octets += e.Size
	}
	oxum := fmt.Sprintf("%d.%d", octets, len(payload))
	fields := append(Info(nil), info...)
	if v, ok := fields.Get("Payload-Oxum"); ok {
		if v != oxum {
			return nil, fmt.Errorf("bag: Payload-Oxum %q given but payload is %s", v, oxum)
		}
	} else {
		fields = append(fields, Field{"Payload-Oxum", oxum})
	}
	if _, ok := fields.Get("Bagging-Date"); !ok {
		fields = append(fields, Field{"Bagging-Date", time.Now().UTC().Format("2006-01-02")})
	}
	var b strings.Builder
	for _, f := range fields {
		if f.Label == "" || strings.TrimSpace(f.Label) != f.Label || strings.ContainsAny(f.Label, ":\r\n") {
			return nil, fmt.Errorf("bag: invalid bag-info label %q", f.Label)
		}
		if strings.ContainsAny(f.Value, "\r\n") {
			return nil, fmt.Errorf("bag: bag-info value for %q contains a line break", f.Label)
		}
		b.WriteString(f.Label)
		b.WriteString(": ")
		b.WriteString(f.Value)
		b.WriteByte('\n')
	}
	return []byte(b.String()), nil
}

// isTagManifestOrSig reports whether a top-level name is a tag manifest or
// signature, which are excluded from tag manifests.
func isTagManifestOrSig(rel string) bool {
	return !strings.Contains(rel, "/") && strings.HasPrefix(rel, "tagmanifest-")
}

// hashTagFiles walks bagDir outside data/ and returns the sorted entries
// of every regular tag file except tag manifests and signatures.
func hashTagFiles(ctx context.Context, bagDir string) ([]Entry, error) {
	root, err := os.OpenRoot(bagDir)
	if err != nil {
		return nil, fmt.Errorf("bag: open bag dir: %w", err)
	}
	defer root.Close()
	var out []Entry
	buf := make([]byte, 64<<10)
	err = fs.WalkDir(root.FS(), ".", func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if p == "data" && d.IsDir() {
			return fs.SkipDir
		}
		if d.IsDir() || isTagManifestOrSig(p) {
			return nil
		}
		if !d.Type().IsRegular() {
			return fmt.Errorf("tag file %q is not a regular file", p)
		}
		if err := checkWritePath(p); err != nil {
			return err
		}
		f, err := root.Open(p)
		if err != nil {
			return err
		}
		defer f.Close()
		h256, h512 := sha256.New(), sha512.New()
		n, err := serialHashCopy(ctx, nil, f, []hash.Hash{h256, h512}, buf)
		if err != nil {
			return err
		}
		out = append(out, Entry{Path: p, Digests: Digests{Size: n, SHA256: hexSum(h256), SHA512: hexSum(h512)}})
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("bag: hash tag files: %w", err)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Path < out[j].Path })
	return out, nil
}
