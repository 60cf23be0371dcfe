package bag

import (
	"context"
	"crypto/md5"  //nolint:gosec // needed to verify legacy BagIt 0.97 bags
	"crypto/sha1" //nolint:gosec // needed to verify legacy BagIt bags
	"crypto/sha256"
	"crypto/sha512"
	"encoding/hex"
	"errors"
	"hash"
	"io"
	"sync"
	"sync/atomic"
)

// Digests holds the size and the SHA-256 and SHA-512 digests of one file,
// computed in a single pass. The export engine stores these per file so that
// Finalize can build the manifests after a crash without re-reading payload.
type Digests struct {
	// Size is the file length in bytes.
	Size int64
	// SHA256 is the lowercase hex SHA-256 digest.
	SHA256 string
	// SHA512 is the lowercase hex SHA-512 digest.
	SHA512 string
}

// copyBufSize is the chunk size used when copying and hashing files.
const copyBufSize = 1 << 20

// concurrentHashMin is the file size above which Validate hashes one file
// with one goroutine per algorithm instead of serially.
const concurrentHashMin = 4 << 20

// newHash returns a fresh hash for a BagIt algorithm name as it appears in
// manifest file names, or nil when the algorithm is not supported.
func newHash(alg string) hash.Hash {
	switch alg {
	case "md5":
		return md5.New() //nolint:gosec // legacy bags
	case "sha1":
		return sha1.New() //nolint:gosec // legacy bags
	case "sha224":
		return sha256.New224()
	case "sha256":
		return sha256.New()
	case "sha384":
		return sha512.New384()
	case "sha512":
		return sha512.New()
	}
	return nil
}

// weakAlgorithm reports whether alg is no longer collision resistant, so a
// bag protected only by it earns a warning.
func weakAlgorithm(alg string) bool { return alg == "md5" || alg == "sha1" }

// chunk is one buffer of data shared by the writer and hash goroutines. The
// last user to release it returns the buffer to the free list.
type chunk struct {
	buf  []byte
	n    int
	refs atomic.Int32
}

// hashCopy copies src to dst (dst may be nil) while feeding every byte to
// each of hs. With more than one hash, each hash runs in its own goroutine
// fed with the same read-only buffers, so that hashing proceeds in parallel
// with reading and writing. It returns the number of bytes copied.
func hashCopy(ctx context.Context, dst io.Writer, src io.Reader, hs []hash.Hash, bufSize int) (int64, error) {
	if len(hs) <= 1 {
		return serialHashCopy(ctx, dst, src, hs, make([]byte, bufSize))
	}
	// Buffers are allocated only as the pipeline needs them, so a small
	// file (a metadata JSON) costs one buffer, not nbuf.
	const nbuf = 4
	free := make(chan *chunk, nbuf)
	allocated := 0
	next := func() *chunk {
		select {
		case c := <-free:
			return c
		default:
		}
		if allocated < nbuf {
			allocated++
			return &chunk{buf: make([]byte, bufSize)}
		}
		return <-free
	}
	release := func(c *chunk) {
		if c.refs.Add(-1) == 0 {
			free <- c
		}
	}
	feeds := make([]chan *chunk, len(hs))
	var wg sync.WaitGroup
	for i, h := range hs {
		feeds[i] = make(chan *chunk, nbuf)
		wg.Add(1)
		go func(h hash.Hash, in <-chan *chunk) {
			defer wg.Done()
			for c := range in {
				h.Write(c.buf[:c.n]) // hash.Hash.Write never fails
				release(c)
			}
		}(h, feeds[i])
	}
	stop := func() {
		for _, f := range feeds {
			close(f)
		}
		wg.Wait()
	}

	var total int64
	for {
		if err := ctx.Err(); err != nil {
			stop()
			return total, err
		}
		c := next()
		n, rerr := io.ReadFull(src, c.buf)
		if n > 0 {
			c.n = n
			c.refs.Store(int32(len(hs)) + 1)
			for _, f := range feeds {
				f <- c
			}
			if dst != nil {
				if _, werr := dst.Write(c.buf[:n]); werr != nil {
					release(c)
					stop()
					return total, werr
				}
			}
			release(c)
			total += int64(n)
		} else {
			free <- c
		}
		if rerr != nil {
			stop()
			if errors.Is(rerr, io.EOF) || errors.Is(rerr, io.ErrUnexpectedEOF) {
				return total, nil
			}
			return total, rerr
		}
	}
}

// serialHashCopy is hashCopy without goroutines: one buffer, each chunk is
// written to dst and then to each hash in turn (the io.MultiWriter
// strategy), using buf. It is used for a single hash and for small files.
func serialHashCopy(ctx context.Context, dst io.Writer, src io.Reader, hs []hash.Hash, buf []byte) (int64, error) {
	var total int64
	for {
		if err := ctx.Err(); err != nil {
			return total, err
		}
		n, rerr := io.ReadFull(src, buf)
		if n > 0 {
			if dst != nil {
				if _, werr := dst.Write(buf[:n]); werr != nil {
					return total, werr
				}
			}
			for _, h := range hs {
				h.Write(buf[:n])
			}
			total += int64(n)
		}
		if rerr != nil {
			if errors.Is(rerr, io.EOF) || errors.Is(rerr, io.ErrUnexpectedEOF) {
				return total, nil
			}
			return total, rerr
		}
	}
}

// hexSum returns the lowercase hex digest of h.
func hexSum(h hash.Hash) string { return hex.EncodeToString(h.Sum(nil)) }
