package bag

import (
	"context"
	"fmt"
	"hash"
	"path"
	"sort"
	"strings"
	"sync"
)

// expectation is one manifest's claim about one file's checksum.
type expectation struct {
	manifest string
	alg      string
	sum      string
}

// hashJob is one file to read once, with every algorithm it needs.
type hashJob struct {
	path   string
	size   int64
	algs   []string
	expect []expectation
	got    map[string]string // alg -> hex, filled by a worker
	err    error
}

// verifyChecksums hashes every listed, present file once with all the
// algorithms it is listed under, in parallel, and compares the results.
func (v *validator) verifyChecksums(ctx context.Context, workers int) error {
	byPath := map[string]*hashJob{}
	for _, m := range append(append([]*manifest(nil), v.payload...), v.tags...) {
		if m.alg == "" {
			continue
		}
		for p, sum := range m.entries {
			size, ok := v.files[p]
			if !ok {
				continue
			}
			j := byPath[p]
			if j == nil {
				j = &hashJob{path: p, size: size}
				byPath[p] = j
			}
			j.expect = append(j.expect, expectation{manifest: m.name, alg: m.alg, sum: sum})
			found := false
			for _, a := range j.algs {
				found = found || a == m.alg
			}
			if !found {
				j.algs = append(j.algs, m.alg)
			}
		}
	}
	jobs := make([]*hashJob, 0, len(byPath))
	for _, j := range byPath {
		jobs = append(jobs, j)
	}
	// Largest first so that big files start early and the pool stays busy.
	sort.Slice(jobs, func(a, b int) bool {
		if jobs[a].size != jobs[b].size {
			return jobs[a].size > jobs[b].size
		}
		return jobs[a].path < jobs[b].path
	})
	if err := v.runJobs(ctx, jobs, defaultWorkers(workers)); err != nil {
		return err
	}
	for _, j := range jobs {
		v.judge(j)
	}
	return nil
}

// runJobs hashes jobs with n workers, each reusing one buffer.
func (v *validator) runJobs(ctx context.Context, jobs []*hashJob, n int) error {
	n = min(n, len(jobs))
	ch := make(chan *hashJob)
	var wg sync.WaitGroup
	for range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			buf := make([]byte, copyBufSize)
			for j := range ch {
				j.got, j.err = v.hashFile(ctx, j, buf)
			}
		}()
	}
	var err error
	for _, j := range jobs {
		if err = ctx.Err(); err != nil {
			break
		}
		ch <- j
	}
	close(ch)
	wg.Wait()
	if err == nil {
		err = ctx.Err()
	}
	if err != nil {
		return fmt.Errorf("bag: validate: %w", err)
	}
	return nil
}

// hashFile reads one file once and returns the hex digest per algorithm.
// Large files with several algorithms hash each algorithm concurrently.
func (v *validator) hashFile(ctx context.Context, j *hashJob, buf []byte) (map[string]string, error) {
	f, err := v.root.Open(j.path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	fi, err := f.Stat()
	if err != nil {
		return nil, err
	}
	if !fi.Mode().IsRegular() {
		return nil, fmt.Errorf("not a regular file")
	}
	hs := make([]hash.Hash, len(j.algs))
	for i, a := range j.algs {
		hs[i] = newHash(a)
	}
	if len(hs) > 1 && fi.Size() >= concurrentHashMin {
		_, err = hashCopy(ctx, nil, f, hs, copyBufSize)
	} else {
		_, err = serialHashCopy(ctx, nil, f, hs, buf)
	}
	if err != nil {
		return nil, err
	}
	got := make(map[string]string, len(hs))
	for i, a := range j.algs {
		got[a] = hexSum(hs[i])
	}
	return got, nil
}

// judge records mismatches for one hashed file. When the file agrees with
// at least one manifest but not another, the disagreeing manifest is blamed
// (its entry was altered); when it agrees with none, the file is blamed.
func (v *validator) judge(j *hashJob) {
	if j.err != nil {
		v.problem(j.path, "cannot read: %v", j.err)
		return
	}
	matches := 0
	for _, e := range j.expect {
		if j.got[e.alg] == e.sum {
			matches++
		}
	}
	for _, e := range j.expect {
		if j.got[e.alg] == e.sum {
			continue
		}
		if matches > 0 {
			v.problem(e.manifest, "%s checksum for %q is %s but the file's is %s (file matches other manifests; manifest altered?)",
				e.alg, j.path, e.sum, j.got[e.alg])
		} else {
			v.problem(j.path, "%s checksum mismatch: %s lists %s, file has %s", e.alg, e.manifest, e.sum, j.got[e.alg])
		}
	}
}

// extraWarnings adds warnings that do not make a bag invalid.
func (v *validator) extraWarnings() {
	weak := len(v.payload) > 0
	for _, m := range v.payload {
		if m.alg != "" && !weakAlgorithm(m.alg) {
			weak = false
		}
	}
	if weak {
		v.warn("", "payload is protected only by weak algorithms (md5/sha1); add manifest-sha512.txt")
	}
	// Case-insensitive collisions and OS system files among listed paths.
	listed := map[string]bool{}
	for _, m := range v.payload {
		for p := range m.entries {
			listed[p] = true
		}
	}
	folded := map[string]string{}
	paths := make([]string, 0, len(listed))
	for p := range listed {
		paths = append(paths, p)
	}
	sort.Strings(paths)
	for _, p := range paths {
		k := strings.ToLower(p)
		if other, ok := folded[k]; ok {
			v.warn(p, "differs from %q only by case; not portable to case-insensitive filesystems", other)
		} else {
			folded[k] = p
		}
		switch base := path.Base(p); {
		case base == ".DS_Store" || base == "Thumbs.db" || base == "desktop.ini" || strings.HasPrefix(base, "._"):
			v.warn(p, "operating-system metadata file in payload")
		}
	}
	// Tag files not covered by any tag manifest.
	if len(v.tags) == 0 {
		v.warn("", "no tag manifest; tag files are not protected by checksums")
		return
	}
	for p := range v.files {
		if strings.HasPrefix(p, "data/") || isTagManifestOrSig(p) {
			continue
		}
		covered := false
		for _, m := range v.tags {
			if _, ok := m.entries[p]; ok {
				covered = true
			}
		}
		if !covered {
			v.warn(p, "tag file not listed in any tag manifest")
		}
	}
}
