package bag

import (
	"bytes"
	"context"
	"crypto/sha256"
	"crypto/sha512"
	"fmt"
	"hash"
	"io"
	"math/rand/v2"
	"testing"
)

// benchData returns n pseudo-random bytes.
func benchData(n int) []byte {
	b := make([]byte, n)
	r := rand.NewChaCha8([32]byte{1})
	r.Read(b)
	return b
}

// BenchmarkHash compares raw SHA-256 and SHA-512 throughput on 1 MiB
// blocks, to see which algorithm bounds WriteFile and Validate.
func BenchmarkHash(b *testing.B) {
	buf := benchData(copyBufSize)
	for _, tc := range []struct {
		name string
		new  func() hash.Hash
	}{{"sha256", sha256.New}, {"sha512", sha512.New}} {
		b.Run(tc.name, func(b *testing.B) {
			h := tc.new()
			b.SetBytes(int64(len(buf)))
			for b.Loop() {
				h.Write(buf)
			}
		})
	}
}

// BenchmarkHashBoth compares hashing the same data with SHA-256 and SHA-512
// serially (io.MultiWriter style) against one goroutine per hash.
func BenchmarkHashBoth(b *testing.B) {
	data := benchData(64 << 20)
	for _, tc := range []struct {
		name string
		copy func(context.Context, io.Writer, io.Reader, []hash.Hash) (int64, error)
	}{
		{"serial", func(ctx context.Context, w io.Writer, r io.Reader, hs []hash.Hash) (int64, error) {
			return serialHashCopy(ctx, w, r, hs, make([]byte, copyBufSize))
		}},
		{"concurrent", func(ctx context.Context, w io.Writer, r io.Reader, hs []hash.Hash) (int64, error) {
			return hashCopy(ctx, w, r, hs, copyBufSize)
		}},
	} {
		b.Run(tc.name, func(b *testing.B) {
			b.SetBytes(int64(len(data)))
			for b.Loop() {
				if _, err := tc.copy(context.Background(), io.Discard, bytes.NewReader(data), []hash.Hash{sha256.New(), sha512.New()}); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// BenchmarkWriteFile measures WriteFile end to end (copy, both hashes,
// fsync, rename) for several file sizes.
func BenchmarkWriteFile(b *testing.B) {
	for _, size := range []int{64 << 10, 8 << 20, 64 << 20} {
		data := benchData(size)
		b.Run(fmt.Sprintf("%dKiB", size>>10), func(b *testing.B) {
			dir := b.TempDir()
			b.SetBytes(int64(size))
			i := 0
			for b.Loop() {
				i++
				if _, err := WriteFile(context.Background(), dir, fmt.Sprintf("data/f%d", i%4), bytes.NewReader(data)); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// BenchmarkValidate measures Validate over a bag of 16 × 8 MiB files with
// SHA-256 and SHA-512 manifests, with one worker and with the default.
func BenchmarkValidate(b *testing.B) {
	dir := b.TempDir()
	data := benchData(8 << 20)
	var payload []Entry
	var total int64
	for i := range 16 {
		data[0] = byte(i)
		rel := fmt.Sprintf("data/rec/%02d.wav", i)
		d, err := WriteFile(context.Background(), dir, rel, bytes.NewReader(data))
		if err != nil {
			b.Fatal(err)
		}
		payload = append(payload, Entry{Path: rel, Digests: d})
		total += d.Size
	}
	if _, err := Finalize(context.Background(), dir, payload, nil, nil); err != nil {
		b.Fatal(err)
	}
	for _, w := range []int{1, 0} {
		b.Run(fmt.Sprintf("workers=%d", w), func(b *testing.B) {
			b.SetBytes(total)
			for b.Loop() {
				rep, err := Validate(context.Background(), dir, Options{Workers: w})
				if err != nil || !rep.Valid() {
					b.Fatalf("%v %v", err, rep)
				}
			}
		})
	}
}
