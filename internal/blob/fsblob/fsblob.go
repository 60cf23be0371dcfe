// Package fsblob is holdfast's default blob store: a directory of files
// named by SHA-256, fanned out as ab/cd/<sha256>.
//
// Writes go to a temporary file in the same directory tree, are fsynced,
// then renamed into place and the directory fsynced, so a crash never
// leaves a partial blob under a final name. Leftover temporary files are
// removed when the store is opened.
package fsblob

import (
	"context"
	"crypto/sha256"
	"crypto/sha512"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"sync"
	"time"

	"github.com/holdfast/holdfast/internal/blob"
)

// Store is a [blob.Store] on a local directory. It is safe for concurrent
// use.
type Store struct {
	root string
}

var _ blob.Store = (*Store)(nil)

const tmpDir = ".tmp"

// Option adjusts Open.
type Option func(*options)

type options struct{ keepTemps time.Duration }

// KeepRecentTemps leaves temporary files younger than d alone at Open:
// use it when other processes may be writing into the same directory.
func KeepRecentTemps(d time.Duration) Option { return func(o *options) { o.keepTemps = d } }

// Open prepares root (creating it if needed) and removes temporary files
// left by an earlier crash (all of them, unless KeepRecentTemps is given).
func Open(root string, opts ...Option) (*Store, error) {
	var o options
	for _, opt := range opts {
		opt(&o)
	}
	if err := os.MkdirAll(filepath.Join(root, tmpDir), 0o750); err != nil {
		return nil, fmt.Errorf("fsblob: %w", err)
	}
	entries, err := os.ReadDir(filepath.Join(root, tmpDir))
	if err != nil {
		return nil, fmt.Errorf("fsblob: %w", err)
	}
	for _, e := range entries {
		if info, err := e.Info(); err == nil && time.Since(info.ModTime()) >= o.keepTemps {
			_ = os.Remove(filepath.Join(root, tmpDir, e.Name()))
		}
	}
	return &Store{root: root}, nil
}

func (s *Store) path(sum string) string {
	return filepath.Join(s.root, sum[0:2], sum[2:4], sum)
}

// Put streams r into the store. SHA-256 and SHA-512 are computed on two
// goroutines from the same buffers while the file is written, so the bytes
// are read once and the slower hash does not serialize behind the faster.
func (s *Store) Put(ctx context.Context, r io.Reader, limit int64) (blob.Digests, error) {
	tmp, err := os.CreateTemp(filepath.Join(s.root, tmpDir), "put-*")
	if err != nil {
		return blob.Digests{}, fmt.Errorf("fsblob: put: %w", err)
	}
	done := false
	defer func() {
		if !done {
			tmp.Close()
			os.Remove(tmp.Name())
		}
	}()
	d, err := copyHashing(ctx, tmp, r, limit)
	if err != nil {
		return blob.Digests{}, err
	}
	if err := tmp.Sync(); err != nil {
		return blob.Digests{}, fmt.Errorf("fsblob: put: sync: %w", err)
	}
	if err := tmp.Close(); err != nil {
		return blob.Digests{}, fmt.Errorf("fsblob: put: close: %w", err)
	}
	final := s.path(d.SHA256)
	if _, err := os.Stat(final); err == nil {
		// Already stored. Touch it, so the garbage collector, which skips
		// young content, cannot take it from the upload that is about to
		// refer to it.
		os.Remove(tmp.Name())
		done = true
		now := time.Now()
		if err := os.Chtimes(final, now, now); err != nil {
			return blob.Digests{}, fmt.Errorf("fsblob: put: touch: %w", err)
		}
		return d, nil
	}
	dir := filepath.Dir(final)
	if err := os.MkdirAll(dir, 0o750); err != nil {
		return blob.Digests{}, fmt.Errorf("fsblob: put: %w", err)
	}
	if err := os.Rename(tmp.Name(), final); err != nil {
		return blob.Digests{}, fmt.Errorf("fsblob: put: rename: %w", err)
	}
	done = true
	if err := syncDir(dir); err != nil {
		return blob.Digests{}, fmt.Errorf("fsblob: put: %w", err)
	}
	return d, nil
}

// copyHashing copies r to w while SHA-256 and SHA-512 run on two
// goroutines. Two buffers alternate: while one chunk is being hashed, the
// next is read and written, so reading, writing and both hashes overlap.
func copyHashing(ctx context.Context, w io.Writer, r io.Reader, limit int64) (blob.Digests, error) {
	const bufSize = 1 << 20
	h256, h512 := sha256.New(), sha512.New()
	bufs := [2][]byte{make([]byte, bufSize), make([]byte, bufSize)}
	var wg sync.WaitGroup
	defer wg.Wait()
	hashBoth := func(b []byte) {
		wg.Add(2)
		go func() { defer wg.Done(); h256.Write(b) }()
		go func() { defer wg.Done(); h512.Write(b) }()
	}
	var size int64
	for i := 0; ; i++ {
		if err := ctx.Err(); err != nil {
			return blob.Digests{}, err
		}
		buf := bufs[i%2]
		n, err := io.ReadFull(r, buf)
		if err != nil && err != io.EOF && err != io.ErrUnexpectedEOF {
			return blob.Digests{}, fmt.Errorf("fsblob: read: %w", err)
		}
		size += int64(n)
		if limit > 0 && size > limit {
			return blob.Digests{}, blob.ErrTooLarge
		}
		if n > 0 {
			if _, werr := w.Write(buf[:n]); werr != nil {
				return blob.Digests{}, fmt.Errorf("fsblob: write: %w", werr)
			}
		}
		wg.Wait() // the previous chunk is hashed; its buffer may be reused next round
		if n > 0 {
			hashBoth(buf[:n])
		}
		if err != nil {
			break
		}
	}
	wg.Wait()
	return blob.Digests{Size: size, SHA256: hex.EncodeToString(h256.Sum(nil)), SHA512: hex.EncodeToString(h512.Sum(nil))}, nil
}

func syncDir(dir string) error {
	d, err := os.Open(dir)
	if err != nil {
		return err
	}
	defer d.Close()
	if err := d.Sync(); err != nil {
		return fmt.Errorf("sync %s: %w", dir, err)
	}
	return nil
}

type object struct {
	*os.File
	size int64
}

func (o object) Size() int64 { return o.size }

// Open opens a blob for reading.
func (s *Store) Open(ctx context.Context, sum string) (blob.Object, error) {
	if !blob.ValidDigest(sum) {
		return nil, blob.ErrNotFound
	}
	f, err := os.Open(s.path(sum))
	if errors.Is(err, fs.ErrNotExist) {
		return nil, blob.ErrNotFound
	}
	if err != nil {
		return nil, fmt.Errorf("fsblob: open: %w", err)
	}
	st, err := f.Stat()
	if err != nil {
		f.Close()
		return nil, fmt.Errorf("fsblob: open: %w", err)
	}
	return object{File: f, size: st.Size()}, nil
}

// Delete removes a blob.
func (s *Store) Delete(ctx context.Context, sum string) error {
	if !blob.ValidDigest(sum) {
		return nil
	}
	err := os.Remove(s.path(sum))
	if err != nil && !errors.Is(err, fs.ErrNotExist) {
		return fmt.Errorf("fsblob: delete: %w", err)
	}
	return nil
}

// Ping checks that the directory is writable.
func (s *Store) Ping(ctx context.Context) error {
	f, err := os.CreateTemp(filepath.Join(s.root, tmpDir), "ping-*")
	if err != nil {
		return fmt.Errorf("fsblob: ping: %w", err)
	}
	f.Close()
	return os.Remove(f.Name())
}

var _ blob.Walker = (*Store)(nil)

// Walk lists every complete blob (temporary files are skipped).
func (s *Store) Walk(ctx context.Context, fn func(sha256 string, stored time.Time) error) error {
	return filepath.WalkDir(s.root, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() {
			if d.Name() == tmpDir {
				return filepath.SkipDir
			}
			return nil
		}
		if err := ctx.Err(); err != nil {
			return err
		}
		name := d.Name()
		if !blob.ValidDigest(name) {
			return nil
		}
		info, err := d.Info()
		if err != nil {
			return err
		}
		return fn(name, info.ModTime())
	})
}
