package httpapi

import (
	"archive/tar"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"fmt"
	"io"
	"io/fs"
	"maps"
	"net/http"
	"os"
	"path"
	"path/filepath"
	"sort"
	"strings"

	"github.com/holdfast/holdfast/internal/bag"
	"github.com/holdfast/holdfast/internal/store"
	"github.com/holdfast/holdfast/internal/vault"
)

// decodeExportRequest decodes an export request; legal_hold true in it
// decides that it needs recording:export:legalhold.
func decodeExportRequest(r *http.Request, body []byte) (vault.ExportRequest, error) {
	var lhq *string
	if q := r.URL.Query(); q.Has("legal_hold") {
		v := q.Get("legal_hold")
		lhq = &v
	}
	return vault.DecodeExportRequest(body, lhq)
}

// createExport handles POST /api/v2/bulk/recordingexports with the
// request decoded, permitted and validated by decided. With legal_hold
// true the hold is placed in the transaction that creates the job, so
// every matched recording is held before the answer is sent.
func (s *Server) createExport(w http.ResponseWriter, r *http.Request, tok vault.Token, body []byte, req vault.ExportRequest) error {
	if err := s.checkDestination(req.Destination); err != nil {
		return err
	}
	idem, err := s.reserveIdempotency(r, tok, "POST /api/v2/bulk/recordingexports")
	if err != nil {
		return err
	}
	defer s.settleIdempotency(r.Context(), idem)
	sum := sha256.Sum256(body)
	fp := hex.EncodeToString(sum[:])
	if replayed, err := idem.answerReplay(w, fp, "/api/v2/bulk/recordingexports/", func(id string) (any, error) {
		return s.cfg.Store.GetExportJob(r.Context(), id)
	}); replayed || err != nil {
		return err
	}
	now := s.now()
	jobID := vault.NewID("exp", now)
	p := store.CreateExportJobParams{JobID: jobID, Request: req, Actor: tok.ID, Now: now, Idempotency: idem.completion(fp, http.StatusAccepted)}
	if req.Metadata.LegalHold {
		p.HoldID = vault.NewID("hold", now)
		p.HoldSpec = store.HoldSpec{CaseID: req.Metadata.CaseID, HoldReason: req.Metadata.HoldReason, HoldDate: now}
		if req.Metadata.HoldDate != nil {
			p.HoldSpec.HoldDate = *req.Metadata.HoldDate
		}
		if p.HoldSpec.HoldReason == "" {
			matter := "no case"
			if req.Metadata.CaseID != "" {
				matter = "case " + req.Metadata.CaseID
			}
			p.HoldSpec.HoldReason = fmt.Sprintf("Legal hold for %s, placed by discovery export %s", matter, jobID)
		}
	}
	job, err := s.cfg.Store.CreateExportJob(r.Context(), p)
	if err != nil {
		return err
	}
	idem.markDone()
	if s.cfg.ExportNotify != nil {
		s.cfg.ExportNotify()
	}
	w.Header().Set("Location", "/api/v2/bulk/recordingexports/"+job.ID)
	writeJSON(w, http.StatusAccepted, job)
	return nil
}

func (s *Server) getExport(w http.ResponseWriter, r *http.Request, tok vault.Token) error {
	job, err := s.cfg.Store.GetExportJob(r.Context(), r.PathValue("id"))
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, job)
	return nil
}

func (s *Server) listExports(w http.ResponseWriter, r *http.Request, tok vault.Token) error {
	var probs vault.Problems
	limit, cursor := pageParams(r, &probs)
	if err := probs.Err(); err != nil {
		return err
	}
	jobs, next, err := s.cfg.Store.ListExportJobs(r.Context(), limit, cursor)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, listPage[vault.ExportJob]{Items: jobs, NextCursor: encodeCursor(next)})
	return nil
}

// cancelExport handles DELETE: it asks the job to stop. Its hold stays.
func (s *Server) cancelExport(w http.ResponseWriter, r *http.Request, tok vault.Token) error {
	job, err := s.cfg.Store.CancelExportJob(r.Context(), r.PathValue("id"), tok.ID, s.now())
	if err != nil {
		return err
	}
	if s.cfg.ExportNotify != nil {
		s.cfg.ExportNotify()
	}
	writeJSON(w, http.StatusAccepted, job)
	return nil
}

// packageDir returns the finished bag of a job, or a problem.
func (s *Server) packageDir(r *http.Request) (vault.ExportJob, string, error) {
	job, err := s.cfg.Store.GetExportJob(r.Context(), r.PathValue("id"))
	if err != nil {
		return job, "", err
	}
	if job.Package == nil || s.cfg.PackageDir == nil {
		return job, "", newProblem(http.StatusNotFound, "not_found", "the job has no package yet (state "+job.State+"); poll the job until it is completed")
	}
	dir, err := s.cfg.PackageDir(job.Package.Name)
	if err != nil {
		return job, "", err
	}
	if st, err := os.Stat(dir); err != nil || !st.IsDir() {
		if err == nil {
			err = fmt.Errorf("%s is not a directory", dir)
		}
		return job, "", s.packageBroken(r, err)
	}
	return job, dir, nil
}

// packageBroken is the answer when a finished package cannot be read
// from disk (its directory gone, a file unreadable or not a regular
// file): a permanent condition until an operator repairs or re-creates
// it, so 500 without Retry-After, never a 503 that invites retrying. The
// cause is logged with the request id.
func (s *Server) packageBroken(r *http.Request, err error) *Problem {
	s.log.Error("export package cannot be read", "method", r.Method, "path", r.URL.Path, "request_id", requestID(r.Context()), "err", err)
	return newProblem(http.StatusInternalServerError, "internal_error",
		"the export package cannot be read on the server; this is permanent until an operator repairs it or a new export is made (the cause is logged under the request_id)")
}

// bagFiles lists a bag's files (slash paths), sorted.
func bagFiles(dir string) ([]string, error) {
	var out []string
	err := filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() {
			return nil
		}
		if !d.Type().IsRegular() {
			return fmt.Errorf("bag holds a non-regular file %s", p)
		}
		rel, _ := filepath.Rel(dir, p)
		rel = filepath.ToSlash(rel)
		if strings.HasPrefix(path.Base(rel), ".holdfast-tmp-") {
			return nil
		}
		out = append(out, rel)
		return nil
	})
	sort.Strings(out)
	return out, err
}

// downloadPackage streams the bag as a tar whose top directory is the bag
// name. Each download is an audit entry naming the token.
func (s *Server) downloadPackage(w http.ResponseWriter, r *http.Request, tok vault.Token) error {
	job, dir, err := s.packageDir(r)
	if err != nil {
		return err
	}
	files, err := bagFiles(dir)
	if err != nil {
		return s.packageBroken(r, err)
	}
	if err := s.recordAccess(r, tok, auditPackageDownloaded, job.ID, map[string]any{"package": job.Package.Name}); err != nil {
		return err
	}
	w.Header().Set("Content-Type", "application/x-tar")
	w.Header().Set("Content-Disposition", fmt.Sprintf("attachment; filename=%q", job.Package.Name+".tar"))
	tw := tar.NewWriter(w)
	name := job.Package.Name
	for _, dirName := range []string{name + "/"} {
		if err := tw.WriteHeader(&tar.Header{Typeflag: tar.TypeDir, Name: dirName, Mode: 0o755, ModTime: job.CreatedAt}); err != nil {
			return nil
		}
	}
	for _, rel := range files {
		f, err := os.Open(filepath.Join(dir, filepath.FromSlash(rel)))
		if err != nil {
			s.log.Error("package file vanished during download", "file", rel, "err", err)
			return nil
		}
		st, err := f.Stat()
		if err == nil {
			err = tw.WriteHeader(&tar.Header{Typeflag: tar.TypeReg, Name: name + "/" + rel, Mode: 0o644, Size: st.Size(), ModTime: st.ModTime()})
		}
		if err == nil {
			_, err = io.Copy(tw, f)
		}
		f.Close()
		if err != nil {
			return nil // the client went away; the status is already sent
		}
	}
	_ = tw.Close()
	return nil
}

// packageFile is one entry of the package file list.
type packageFile struct {
	Path      string `json:"path"`
	SizeBytes int64  `json:"size_bytes"`
	SHA256    string `json:"sha256"`
}

// packageSums returns the SHA-256 of every file the bag's manifests
// list. Sealed bags never change, so the result is cached per bag; the
// cache keeps the few most recent bags.
func (s *Server) packageSums(dir string) map[string]string {
	s.sumsMu.Lock()
	defer s.sumsMu.Unlock()
	if m, ok := s.sums[dir]; ok {
		return m
	}
	m := map[string]string{}
	for _, name := range []string{"manifest-sha256.txt", "tagmanifest-sha256.txt"} {
		if sums, err := bag.ReadManifestFile(filepath.Join(dir, name)); err == nil {
			maps.Copy(m, sums)
		}
	}
	if len(s.sums) >= 8 {
		clear(s.sums)
	}
	s.sums[dir] = m
	return m
}

// listPackageFiles answers with every file of the bag, its size and
// SHA-256 (from the manifests where they list it).
func (s *Server) listPackageFiles(w http.ResponseWriter, r *http.Request, tok vault.Token) error {
	_, dir, err := s.packageDir(r)
	if err != nil {
		return err
	}
	files, err := bagFiles(dir)
	if err != nil {
		return s.packageBroken(r, err)
	}
	var probs vault.Problems
	limit, cursor := pageParams(r, &probs)
	if err := probs.Err(); err != nil {
		return err
	}
	start := sort.SearchStrings(files, cursor)
	if start < len(files) && files[start] == cursor {
		start++
	}
	files = files[start:]
	next := ""
	if len(files) > limit {
		files = files[:limit]
		next = files[limit-1]
	}
	sums := s.packageSums(dir)
	out := make([]packageFile, 0, len(files))
	for _, rel := range files {
		full := filepath.Join(dir, filepath.FromSlash(rel))
		st, err := os.Stat(full)
		if err != nil {
			return s.packageBroken(r, err)
		}
		sum, ok := sums[rel]
		if !ok {
			b, err := os.ReadFile(full)
			if err != nil {
				return s.packageBroken(r, err)
			}
			h := sha256.Sum256(b)
			sum = hex.EncodeToString(h[:])
		}
		out = append(out, packageFile{Path: rel, SizeBytes: st.Size(), SHA256: sum})
	}
	writeJSON(w, http.StatusOK, listPage[packageFile]{Items: out, NextCursor: encodeCursor(next)})
	return nil
}

// getPackageFile serves one file of the bag with Range support. Only
// paths that are files of the bag are served, and each read is an audit
// entry naming the token, the file and the range.
func (s *Server) getPackageFile(w http.ResponseWriter, r *http.Request, tok vault.Token) error {
	job, dir, err := s.packageDir(r)
	if err != nil {
		return err
	}
	rel := r.PathValue("path")
	notFound := newProblem(http.StatusNotFound, "not_found", fmt.Sprintf("the package has no file %q; list them with GET …/package/files", rel))
	if !fs.ValidPath(rel) || !printableASCII(rel) || strings.HasPrefix(path.Base(rel), ".holdfast-tmp-") {
		return notFound
	}
	root, err := os.OpenRoot(dir)
	if err != nil {
		return s.packageBroken(r, err)
	}
	defer root.Close()
	// Only regular files are served; looking first means a FIFO placed
	// in the bag is never opened (opening one would block).
	if st, err := root.Lstat(filepath.FromSlash(rel)); err != nil || !st.Mode().IsRegular() {
		return notFound // missing, outside the bag, or not a file
	}
	f, err := root.Open(filepath.FromSlash(rel))
	if err != nil {
		return s.packageBroken(r, err)
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil {
		return s.packageBroken(r, err)
	}
	if !st.Mode().IsRegular() {
		return notFound
	}
	if err := s.recordAccess(r, tok, auditPackageFileDownloaded, job.ID, map[string]any{"package": job.Package.Name, "path": rel}); err != nil {
		return err
	}
	if sum, ok := s.packageSums(dir)[rel]; ok {
		if raw, err := hex.DecodeString(sum); err == nil && len(raw) == sha256.Size {
			w.Header().Set("ETag", `"`+sum+`"`)
			w.Header().Set("Repr-Digest", "sha-256=:"+base64.StdEncoding.EncodeToString(raw)+":")
		}
	}
	w.Header().Set("Content-Type", "application/octet-stream")
	if err := serveContent(w, r, st.ModTime(), f); err != nil {
		return s.packageBroken(r, err)
	}
	return nil
}

// checkDestination refuses a destination this server cannot write to.
func (s *Server) checkDestination(d vault.Destination) error {
	if d.Type != "s3" {
		return nil
	}
	if s.cfg.CheckDestination == nil {
		return &vault.ValidationError{Errors: []vault.FieldError{{Field: "destination.type", Code: "unsupported",
			Message: `this server has no S3 connection (start it with --blobs s3://…) so it cannot write an s3 destination; use {"type": "filesystem"}`}}}
	}
	return s.cfg.CheckDestination(d)
}
