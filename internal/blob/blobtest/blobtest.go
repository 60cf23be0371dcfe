// Package blobtest is the conformance suite every [blob.Store] must pass.
// Each backend's test calls [Run] with a constructor for a fresh store.
package blobtest

import (
	"bytes"
	"context"
	"crypto/sha256"
	"crypto/sha512"
	"encoding/hex"
	"errors"
	"io"
	"math/rand/v2"
	"sync"
	"testing"

	"github.com/holdfast/holdfast/internal/blob"
)

type failingReader struct {
	r     io.Reader
	after int
	n     int
}

func (f *failingReader) Read(p []byte) (int, error) {
	if f.n >= f.after {
		return 0, errors.New("connection reset")
	}
	if len(p) > f.after-f.n {
		p = p[:f.after-f.n]
	}
	n, err := f.r.Read(p)
	f.n += n
	return n, err
}

func payload(seed uint64, n int) []byte {
	r := rand.New(rand.NewPCG(seed, seed))
	b := make([]byte, n)
	for i := range b {
		b[i] = byte(r.Uint32())
	}
	return b
}

func sums(b []byte) (string, string) {
	a, c := sha256.Sum256(b), sha512.Sum512(b)
	return hex.EncodeToString(a[:]), hex.EncodeToString(c[:])
}

// Run exercises a blob store. newStore must return an empty store.
func Run(t *testing.T, newStore func(t *testing.T) blob.Store) {
	ctx := context.Background()
	t.Run("PutOpenRoundTrip", func(t *testing.T) {
		t.Parallel()
		s := newStore(t)
		for _, size := range []int{0, 1, 4095, 1 << 20, 1<<20 + 1, 3<<20 + 17} {
			data := payload(uint64(size), size)
			want256, want512 := sums(data)
			d, err := s.Put(ctx, bytes.NewReader(data), 0)
			if err != nil {
				t.Fatalf("size %d: Put: %v", size, err)
			}
			if d.SHA256 != want256 || d.SHA512 != want512 || d.Size != int64(size) {
				t.Fatalf("size %d: digests %+v, want sha256 %s size %d", size, d, want256, size)
			}
			o, err := s.Open(ctx, d.SHA256)
			if err != nil {
				t.Fatalf("size %d: Open: %v", size, err)
			}
			got, err := io.ReadAll(o)
			o.Close()
			if err != nil || !bytes.Equal(got, data) {
				t.Fatalf("size %d: read back %d bytes, err %v", size, len(got), err)
			}
			if o.Size() != int64(size) {
				t.Fatalf("size %d: Size() = %d", size, o.Size())
			}
		}
	})
	t.Run("ReadAtAndSeek", func(t *testing.T) {
		t.Parallel()
		s := newStore(t)
		data := payload(7, 100000)
		d, err := s.Put(ctx, bytes.NewReader(data), 0)
		if err != nil {
			t.Fatal(err)
		}
		o, err := s.Open(ctx, d.SHA256)
		if err != nil {
			t.Fatal(err)
		}
		defer o.Close()
		buf := make([]byte, 10)
		if _, err := o.ReadAt(buf, 5000); err != nil || !bytes.Equal(buf, data[5000:5010]) {
			t.Fatalf("ReadAt: %v", err)
		}
		if _, err := o.Seek(99990, io.SeekStart); err != nil {
			t.Fatal(err)
		}
		rest, _ := io.ReadAll(o)
		if !bytes.Equal(rest, data[99990:]) {
			t.Fatalf("after Seek read %d bytes", len(rest))
		}
	})
	t.Run("OpenMissing", func(t *testing.T) {
		t.Parallel()
		s := newStore(t)
		for _, name := range []string{"0000000000000000000000000000000000000000000000000000000000000000", "../../etc/passwd", ""} {
			if _, err := s.Open(ctx, name); !errors.Is(err, blob.ErrNotFound) {
				t.Fatalf("Open(%q) = %v, want ErrNotFound", name, err)
			}
		}
	})
	t.Run("LimitStoresNothing", func(t *testing.T) {
		t.Parallel()
		s := newStore(t)
		data := payload(3, 5000)
		if _, err := s.Put(ctx, bytes.NewReader(data), 4999); !errors.Is(err, blob.ErrTooLarge) {
			t.Fatalf("Put over limit = %v, want ErrTooLarge", err)
		}
		sum, _ := sums(data)
		if _, err := s.Open(ctx, sum); !errors.Is(err, blob.ErrNotFound) {
			t.Fatalf("blob over limit was stored: %v", err)
		}
		if _, err := s.Put(ctx, bytes.NewReader(data), 5000); err != nil {
			t.Fatalf("Put at exactly the limit: %v", err)
		}
	})
	t.Run("FailedReadStoresNothing", func(t *testing.T) {
		t.Parallel()
		s := newStore(t)
		data := payload(4, 3<<20)
		if _, err := s.Put(ctx, &failingReader{r: bytes.NewReader(data), after: 2 << 20}, 0); err == nil {
			t.Fatal("Put of a failing reader succeeded")
		}
		sum, _ := sums(data[:2<<20])
		if _, err := s.Open(ctx, sum); !errors.Is(err, blob.ErrNotFound) {
			t.Fatalf("partial content was stored under its prefix digest: %v", err)
		}
	})
	t.Run("DuplicateAndDelete", func(t *testing.T) {
		t.Parallel()
		s := newStore(t)
		data := payload(5, 1234)
		var wg sync.WaitGroup
		for range 4 {
			wg.Add(1)
			go func() {
				defer wg.Done()
				if _, err := s.Put(ctx, bytes.NewReader(data), 0); err != nil {
					t.Errorf("concurrent Put: %v", err)
				}
			}()
		}
		wg.Wait()
		sum, _ := sums(data)
		if err := s.Delete(ctx, sum); err != nil {
			t.Fatal(err)
		}
		if _, err := s.Open(ctx, sum); !errors.Is(err, blob.ErrNotFound) {
			t.Fatalf("after Delete, Open = %v", err)
		}
		if err := s.Delete(ctx, sum); err != nil {
			t.Fatalf("second Delete: %v", err)
		}
	})
	t.Run("Ping", func(t *testing.T) {
		t.Parallel()
		if err := newStore(t).Ping(ctx); err != nil {
			t.Fatal(err)
		}
	})
}
