package bag

import (
	"bufio"
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
	"iter"
	"os"
	"slices"
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
//
// Finalize sorts a copy of payload and hands it to [FinalizeStream]; use
// FinalizeStream directly when the payload list is too large to hold.
func Finalize(ctx context.Context, bagDir string, payload []Entry, info Info, sign func([]byte) ([]byte, error)) (string, error) {
	sorted := slices.Clone(payload)
	slices.SortFunc(sorted, func(a, b Entry) int { return strings.Compare(a.Path, b.Path) })
	return FinalizeStream(ctx, bagDir, func(yield func(Entry, error) bool) {
		for _, e := range sorted {
			if !yield(e, nil) {
				return
			}
		}
	}, info, sign)
}

// FinalizeStream is [Finalize] for a payload list that is produced on the
// fly rather than held in memory: its memory use does not grow with the
// number of payload files.
//
// payload must yield every payload file exactly once, in strictly
// increasing byte order of Entry.Path (the order of strings.Compare, which
// is the order of the manifest lines). An entry whose path is not greater
// than the previous one is an error, so a path listed twice is rejected.
// If payload yields a non-nil error, FinalizeStream stops and returns it.
// payload is iterated once.
//
// The manifests are written to temporary files while payload is iterated
// and each entry is checked as it arrives (a clean path under data/,
// well-formed digests, a regular file of the recorded size); Payload-Oxum is
// summed on the way. Afterwards the files under data/ are counted, without
// listing them in memory: data/ must hold only directories and regular
// files, and exactly as many files as were listed, so no file in data/ is
// unlisted. Only then are bagit.txt, bag-info.txt and the manifests put in
// place, so a failed check leaves the bag's tag files as they were.
//
// The output is byte for byte what Finalize writes for the same entries.
func FinalizeStream(ctx context.Context, bagDir string, payload iter.Seq2[Entry, error], info Info, sign func([]byte) ([]byte, error)) (string, error) {
	if _, err := RemoveStaleTemp(bagDir); err != nil {
		return "", err
	}
	if err := ensureDataDir(bagDir); err != nil {
		return "", err
	}
	if err := writePayloadFiles(ctx, bagDir, payload, info); err != nil {
		return "", err
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

// writePayloadFiles streams payload into the two payload manifests,
// checking it as it goes, then writes bagit.txt and bag-info.txt and puts
// the manifests in place. If a check fails, no bag file is changed.
func writePayloadFiles(ctx context.Context, bagDir string, payload iter.Seq2[Entry, error], info Info) (err error) {
	if err := checkInfo(info); err != nil {
		return err
	}
	root, err := os.OpenRoot(bagDir)
	if err != nil {
		return fmt.Errorf("bag: open bag dir: %w", err)
	}
	defer root.Close()

	var manifests [2]*atomicFile
	defer func() {
		for _, m := range manifests {
			if m != nil {
				m.abort()
			}
		}
	}()
	for i, name := range []string{manifest256, manifest512} {
		if manifests[i], err = createAtomic(root, name); err != nil {
			return err
		}
	}
	w256 := bufio.NewWriterSize(manifests[0].f, 64<<10)
	w512 := bufio.NewWriterSize(manifests[1].f, 64<<10)
	octets, count, err := streamPayload(ctx, root, payload, w256, w512)
	if err != nil {
		return err
	}
	for i, w := range []*bufio.Writer{w256, w512} {
		if err := w.Flush(); err != nil {
			return fmt.Errorf("bag: write %s: %w", manifests[i].rel, err)
		}
	}
	files, err := countDataFiles(ctx, root, "data")
	if err != nil {
		return fmt.Errorf("bag: check payload: %w", err)
	}
	if files != count {
		return fmt.Errorf("bag: check payload: data/ holds %d files but the payload lists %d: every file in data/ must be listed", files, count)
	}
	infoBytes, err := renderInfo(octets, count, info)
	if err != nil {
		return err
	}
	for _, f := range []struct {
		name string
		data []byte
	}{
		{bagitTxt, []byte("BagIt-Version: 1.0\nTag-File-Character-Encoding: UTF-8\n")},
		{bagInfoTxt, infoBytes},
	} {
		if err := ctx.Err(); err != nil {
			return err
		}
		if err := writeBytes(bagDir, f.name, f.data); err != nil {
			return err
		}
	}
	for _, m := range manifests {
		if err := ctx.Err(); err != nil {
			return err
		}
		if err := m.commit(); err != nil {
			return err
		}
	}
	return nil
}

// streamPayload checks each payload entry in turn and writes its manifest
// lines to w256 and w512. It returns the Payload-Oxum octet and file
// counts.
func streamPayload(ctx context.Context, root *os.Root, payload iter.Seq2[Entry, error], w256, w512 *bufio.Writer) (octets, count int64, err error) {
	var prev string
	for e, err := range payload {
		if err != nil {
			return 0, 0, fmt.Errorf("bag: payload: %w", err)
		}
		if err := ctx.Err(); err != nil {
			return 0, 0, err
		}
		if err := checkWritePath(e.Path); err != nil {
			return 0, 0, err
		}
		if !strings.HasPrefix(e.Path, "data/") {
			return 0, 0, fmt.Errorf("bag: payload path %q is not under data/", e.Path)
		}
		if count > 0 && e.Path <= prev {
			if e.Path == prev {
				return 0, 0, fmt.Errorf("bag: payload path %q listed twice", e.Path)
			}
			return 0, 0, fmt.Errorf("bag: payload path %q comes after %q: paths must be in strictly increasing byte order", e.Path, prev)
		}
		if len(e.SHA256) != 64 || !isLowerHex(e.SHA256) || len(e.SHA512) != 128 || !isLowerHex(e.SHA512) {
			return 0, 0, fmt.Errorf("bag: payload %q has malformed digests", e.Path)
		}
		fi, err := root.Lstat(e.Path)
		if err != nil {
			return 0, 0, fmt.Errorf("bag: payload %q: %w", e.Path, err)
		}
		if !fi.Mode().IsRegular() {
			return 0, 0, fmt.Errorf("bag: payload %q is not a regular file", e.Path)
		}
		if fi.Size() != e.Size {
			return 0, 0, fmt.Errorf("bag: payload %q is %d bytes, recorded %d", e.Path, fi.Size(), e.Size)
		}
		p := encodePath(e.Path)
		writeManifestLine(w256, e.SHA256, p)
		writeManifestLine(w512, e.SHA512, p)
		octets += e.Size
		count++
		prev = e.Path
	}
	return octets, count, nil
}

// writeManifestLine writes "<sum>  <encoded path>\n"; bufio.Writer keeps
// the first error for Flush to report.
func writeManifestLine(w *bufio.Writer, sum, encoded string) {
	w.WriteString(sum)
	w.WriteString("  ")
	w.WriteString(encoded)
	w.WriteByte('\n')
}

// countDataFiles counts the regular files under dir (recursively), reading
// directories a batch of entries at a time so that memory does not grow
// with their size. Anything under dir that is neither a directory nor a
// regular file (a symlink, say) is an error: a payload path through a
// symlinked directory would otherwise name a file twice. A missing data
// directory holds no files.
func countDataFiles(ctx context.Context, root *os.Root, dir string) (int64, error) {
	f, err := root.Open(dir)
	if err != nil {
		if dir == "data" && errors.Is(err, fs.ErrNotExist) {
			return 0, nil
		}
		return 0, err
	}
	defer f.Close()
	var n int64
	for {
		if err := ctx.Err(); err != nil {
			return n, err
		}
		ents, rerr := f.ReadDir(256)
		for _, d := range ents {
			p := dir + "/" + d.Name()
			switch {
			case d.IsDir():
				sub, err := countDataFiles(ctx, root, p)
				if err != nil {
					return n, err
				}
				n += sub
			case d.Type().IsRegular():
				n++
			default:
				return n, fmt.Errorf("%q in data/ is neither a regular file nor a directory", p)
			}
		}
		if errors.Is(rerr, io.EOF) {
			return n, nil
		}
		if rerr != nil {
			return n, rerr
		}
	}
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

func isLowerHex(s string) bool { return isHex(s) && strings.ToLower(s) == s }

// checkInfo rejects bag-info fields that cannot be written as one
// "Label: Value" line each.
func checkInfo(info Info) error {
	for _, f := range info {
		if f.Label == "" || strings.TrimSpace(f.Label) != f.Label || strings.ContainsAny(f.Label, ":\r\n") {
			return fmt.Errorf("bag: invalid bag-info label %q", f.Label)
		}
		if strings.ContainsAny(f.Value, "\r\n") {
			return fmt.Errorf("bag: bag-info value for %q contains a line break", f.Label)
		}
	}
	return nil
}

// renderInfo produces bag-info.txt from info, adding Payload-Oxum (from the
// payload's total size octets and file count) and Bagging-Date when absent.
// A caller-supplied Payload-Oxum must match the payload.
func renderInfo(octets, count int64, info Info) ([]byte, error) {
	oxum := fmt.Sprintf("%d.%d", octets, count)
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
	if err := checkInfo(fields); err != nil {
		return nil, err
	}
	var b strings.Builder
	for _, f := range fields {
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
