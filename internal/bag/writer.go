package bag

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"crypto/sha512"
	"encoding/hex"
	"errors"
	"fmt"
	"hash"
	"io"
	"io/fs"
	"os"
	"path"
	"strings"
)

// TempPrefix starts the base name of every temporary file the writer
// creates. Such files are never part of a finished bag: Finalize removes
// leftovers, and RemoveStaleTemp lets the export engine clean up after a
// crash before resuming.
const TempPrefix = ".holdfast-tmp-"

// WriteFile atomically writes the contents of r to bagDir/rel and returns
// its size, SHA-256 and SHA-512, computed in the same single pass as the
// copy (the two hashes run concurrently, fed from shared 1 MiB buffers).
//
// rel is a slash-separated path relative to bagDir, such as
// "data/recordings/x.wav" or "custody/custody.json"; it must be local (no
// "..", not absolute) and clean. Missing parent directories are created.
// The data goes to a temporary file in the destination directory, which is
// fsynced, renamed over the final name, and the directory fsynced; on any
// error (including a failing r or a cancelled ctx) the temporary file is
// removed and nothing appears under the final name.
//
// WriteFile is safe for concurrent use with different rel values.
func WriteFile(ctx context.Context, bagDir, rel string, r io.Reader) (Digests, error) {
	if err := checkWritePath(rel); err != nil {
		return Digests{}, err
	}
	h256, h512 := sha256.New(), sha512.New()
	var size int64
	err := writeAtomic(bagDir, rel, func(w io.Writer) error {
		n, err := hashCopy(ctx, w, r, []hash.Hash{h256, h512}, copyBufSize)
		size = n
		return err
	})
	if err != nil {
		return Digests{}, err
	}
	return Digests{Size: size, SHA256: hexSum(h256), SHA512: hexSum(h512)}, nil
}

// checkWritePath rejects bag-relative paths that are not clean, local,
// slash-separated paths.
func checkWritePath(rel string) error {
	switch {
	case rel == "" || rel == ".":
		return fmt.Errorf("bag: empty path")
	case strings.ContainsRune(rel, 0):
		return fmt.Errorf("bag: path %q contains NUL", rel)
	case rel[0] == ' ' || rel[0] == '\t' || rel[0] == '*':
		return fmt.Errorf("bag: path %q starts with whitespace or \"*\" (ambiguous in manifests)", rel)
	case strings.Contains(rel, `\`):
		return fmt.Errorf("bag: path %q contains a backslash", rel)
	case path.IsAbs(rel) || path.Clean(rel) != rel || rel == ".." || strings.HasPrefix(rel, "../"):
		return fmt.Errorf("bag: path %q is not a clean relative path", rel)
	case strings.HasPrefix(path.Base(rel), TempPrefix):
		return fmt.Errorf("bag: path %q uses the reserved temporary prefix", rel)
	}
	return nil
}

// writeAtomic creates bagDir/rel by calling fill with a temporary file in
// the same directory, then fsyncs, renames and fsyncs the directory. All
// access goes through an os.Root so that symlinks cannot redirect writes
// outside bagDir.
func writeAtomic(bagDir, rel string, fill func(io.Writer) error) (err error) {
	root, err := os.OpenRoot(bagDir)
	if err != nil {
		return fmt.Errorf("bag: open bag dir: %w", err)
	}
	defer root.Close()

	af, err := createAtomic(root, rel)
	if err != nil {
		return err
	}
	defer func() {
		if err != nil {
			af.abort()
		}
	}()
	if err = fill(af.f); err != nil {
		return fmt.Errorf("bag: write %s: %w", rel, err)
	}
	return af.commit()
}

// atomicFile is a file being written under a temporary name inside root;
// commit makes it appear under its final name, abort discards it.
type atomicFile struct {
	root *os.Root
	rel  string // final bag-relative name
	tmp  string // bag-relative temporary name
	f    *os.File
	done bool
}

// createAtomic creates the missing parents of rel and a temporary file
// next to it.
func createAtomic(root *os.Root, rel string) (*atomicFile, error) {
	dir := path.Dir(rel)
	if err := mkdirAllSync(root, dir); err != nil {
		return nil, err
	}
	tmp, f, err := createTemp(root, dir, path.Base(rel))
	if err != nil {
		return nil, err
	}
	return &atomicFile{root: root, rel: rel, tmp: tmp, f: f}, nil
}

// commit fsyncs and closes the temporary file, renames it over the final
// name and fsyncs the directory. After a failed commit the caller must
// still call abort.
func (a *atomicFile) commit() error {
	if err := a.f.Sync(); err != nil {
		return fmt.Errorf("bag: sync %s: %w", a.rel, err)
	}
	if err := a.f.Close(); err != nil {
		return fmt.Errorf("bag: close %s: %w", a.rel, err)
	}
	if err := a.root.Rename(a.tmp, a.rel); err != nil {
		return fmt.Errorf("bag: rename %s: %w", a.rel, err)
	}
	a.done = true
	return syncDir(a.root, path.Dir(a.rel))
}

// abort closes and removes the temporary file unless it was already
// renamed. It is safe to call more than once.
func (a *atomicFile) abort() {
	if a.done {
		return
	}
	a.done = true
	a.f.Close()
	a.root.Remove(a.tmp) // best effort: the temp name is never a bag file
}

// createTemp creates a new, exclusive temporary file next to base in dir.
func createTemp(root *os.Root, dir, base string) (string, *os.File, error) {
	var rnd [8]byte
	for range 16 {
		rand.Read(rnd[:]) // never returns an error
		// Keep the name short: the final base may already be near NAME_MAX.
		if len(base) > 64 {
			base = base[:64]
		}
		name := path.Join(dir, TempPrefix+hex.EncodeToString(rnd[:])+"-"+base)
		f, err := root.OpenFile(name, os.O_RDWR|os.O_CREATE|os.O_EXCL, 0o644)
		if err == nil {
			return name, f, nil
		}
		if !errors.Is(err, fs.ErrExist) {
			return "", nil, fmt.Errorf("bag: create temp file in %s: %w", dir, err)
		}
	}
	return "", nil, fmt.Errorf("bag: create temp file in %s: too many collisions", dir)
}

// mkdirAllSync creates dir and any missing parents inside root, fsyncing
// each parent after creating a child so the new entries survive a crash.
func mkdirAllSync(root *os.Root, dir string) error {
	if dir == "." {
		return nil
	}
	if fi, err := root.Stat(dir); err == nil {
		if !fi.IsDir() {
			return fmt.Errorf("bag: %s is not a directory", dir)
		}
		return nil
	}
	if err := mkdirAllSync(root, path.Dir(dir)); err != nil {
		return err
	}
	if err := root.Mkdir(dir, 0o755); err != nil && !errors.Is(err, fs.ErrExist) {
		return fmt.Errorf("bag: mkdir %s: %w", dir, err)
	}
	return syncDir(root, path.Dir(dir))
}

// syncDir fsyncs a directory inside root so that renames and creations in
// it are durable.
func syncDir(root *os.Root, dir string) error {
	d, err := root.Open(dir)
	if err != nil {
		return fmt.Errorf("bag: open dir %s for sync: %w", dir, err)
	}
	defer d.Close()
	if err := d.Sync(); err != nil {
		return fmt.Errorf("bag: sync dir %s: %w", dir, err)
	}
	return nil
}

// RemoveStaleTemp deletes temporary files left in bagDir by writes that
// were interrupted by a crash, and returns their bag-relative paths. The
// export engine calls it when resuming; it must not run concurrently with
// WriteFile or Finalize on the same bag.
func RemoveStaleTemp(bagDir string) ([]string, error) {
	root, err := os.OpenRoot(bagDir)
	if err != nil {
		return nil, fmt.Errorf("bag: open bag dir: %w", err)
	}
	defer root.Close()
	var removed []string
	err = fs.WalkDir(root.FS(), ".", func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if !d.IsDir() && strings.HasPrefix(d.Name(), TempPrefix) {
			if err := root.Remove(p); err != nil {
				return err
			}
			removed = append(removed, p)
		}
		return nil
	})
	if err != nil {
		return removed, fmt.Errorf("bag: remove stale temp files: %w", err)
	}
	return removed, nil
}
