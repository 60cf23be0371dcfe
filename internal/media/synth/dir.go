package synth

import (
	"bufio"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
)

// maxBaseName bounds file base names derived from Call-IDs.
const maxBaseName = 100

// FileBase returns the filesystem-safe base name WriteDir uses for the
// call: the Call-ID with every byte outside [A-Za-z0-9._-] replaced by '_',
// truncated to 100 bytes, and never empty or starting with a dot.
func (c Call) FileBase() string {
	var b strings.Builder
	for i := 0; i < len(c.CallID) && b.Len() < maxBaseName; i++ {
		ch := c.CallID[i]
		switch {
		case ch >= 'a' && ch <= 'z', ch >= 'A' && ch <= 'Z', ch >= '0' && ch <= '9', ch == '.', ch == '-', ch == '_':
			b.WriteByte(ch)
		default:
			b.WriteByte('_')
		}
	}
	name := b.String()
	if name == "" || name[0] == '.' {
		name = "call" + name
	}
	return name
}

// WriteDir writes X.wav, X.json (Metadata) and X.xml (SIPREC) for each call
// into dir, creating dir if needed. X is the call's FileBase; calls whose
// bases collide get "-2", "-3", ... suffixes in order. Audio is streamed to
// disk, so memory use does not grow with call length.
func WriteDir(dir string, calls []Call) error {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return fmt.Errorf("synth: create %s: %w", dir, err)
	}
	used := make(map[string]bool, len(calls))
	for _, c := range calls {
		base := c.FileBase()
		for n := 2; used[base]; n++ {
			base = c.FileBase() + "-" + strconv.Itoa(n)
		}
		used[base] = true
		stem := filepath.Join(dir, base)
		if err := writeWAVFile(stem+".wav", c); err != nil {
			return err
		}
		if err := os.WriteFile(stem+".json", c.Metadata(), 0o644); err != nil {
			return fmt.Errorf("synth: write metadata: %w", err)
		}
		if err := os.WriteFile(stem+".xml", c.SIPREC(), 0o644); err != nil {
			return fmt.Errorf("synth: write siprec: %w", err)
		}
	}
	return nil
}

// writeWAVFile renders the call's audio into a new file at path.
func writeWAVFile(path string, c Call) (err error) {
	f, err := os.Create(path)
	if err != nil {
		return fmt.Errorf("synth: create wav: %w", err)
	}
	defer func() {
		if cerr := f.Close(); cerr != nil && err == nil {
			err = fmt.Errorf("synth: close %s: %w", path, cerr)
		}
	}()
	bw := bufio.NewWriterSize(f, 64<<10)
	if err := c.WriteWAV(bw); err != nil {
		return err
	}
	if err := bw.Flush(); err != nil {
		return fmt.Errorf("synth: write %s: %w", path, err)
	}
	return nil
}
