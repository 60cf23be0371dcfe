package main

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sort"
	"strings"

	"github.com/spf13/cobra"

	"github.com/holdfast/holdfast/client"
)

func newIngestCommand(e *env) *cobra.Command {
	var cf clientFlags
	var metaPath, siprecPath, dir string
	var asJSON bool
	cmd := &cobra.Command{
		Use:     "ingest FILE --metadata META.json | ingest --dir DIR",
		Example: "  holdfast ingest call.wav --metadata call.json --siprec call.xml\n  holdfast ingest --dir calls",
		Short:   "Upload recordings (DIR: each X.wav with X.json and optional X.xml SIPREC beside it)",
		RunE: func(cmd *cobra.Command, args []string) error {
			var jobs []ingestJob
			switch {
			case dir != "" && len(args) > 0:
				return usagef("give either FILE or --dir, not both")
			case dir != "":
				var err error
				if jobs, err = scanIngestDir(dir); err != nil {
					return err
				}
			case len(args) == 1:
				if metaPath == "" {
					return usagef("--metadata META.json is required with FILE")
				}
				jobs = []ingestJob{{media: args[0], meta: metaPath, siprec: siprecPath}}
			default:
				return usagef("give one FILE with --metadata, or --dir DIR")
			}
			c, err := cf.client(e)
			if err != nil {
				return err
			}
			failed := 0
			for _, j := range jobs {
				rec, err := ingestOne(cmd, c, j)
				if err != nil {
					failed++
					fmt.Fprintf(e.stderr, "%s: %s\n", j.media, sentence(err))
					continue
				}
				if asJSON {
					_ = json.NewEncoder(e.stdout).Encode(rec)
				} else {
					fmt.Fprintf(e.stdout, "%s  %s  %s  sha256 %s\n", rec.ID, rec.Status, filepath.Base(j.media), rec.Content.SHA256)
				}
			}
			if failed > 0 {
				return fmt.Errorf("%d of %d uploads failed", failed, len(jobs))
			}
			return nil
		},
	}
	cf.add(cmd)
	cmd.Flags().StringVar(&metaPath, "metadata", "", "JSON metadata file for FILE")
	cmd.Flags().StringVar(&siprecPath, "siprec", "", "optional RFC 7865 SIPREC XML file for FILE")
	cmd.Flags().StringVar(&dir, "dir", "", "directory of X.wav + X.json (+ X.xml) files")
	cmd.Flags().BoolVar(&asJSON, "json", false, "print each recording as JSON")
	return cmd
}

type ingestJob struct{ media, meta, siprec string }

// scanIngestDir pairs each audio file with its metadata and SIPREC files.
func scanIngestDir(dir string) ([]ingestJob, error) {
	entries, err := os.ReadDir(dir)
	if err != nil {
		return nil, usagef("--dir %s: %v", dir, err)
	}
	var jobs []ingestJob
	for _, ent := range entries {
		name := ent.Name()
		ext := strings.ToLower(filepath.Ext(name))
		if ent.IsDir() || (ext != ".wav" && ext != ".ogg" && ext != ".opus" && ext != ".mp3") {
			continue
		}
		base := strings.TrimSuffix(name, filepath.Ext(name))
		j := ingestJob{media: filepath.Join(dir, name), meta: filepath.Join(dir, base+".json")}
		if _, err := os.Stat(j.meta); err != nil {
			return nil, usagef("%s has no metadata file %s", j.media, j.meta)
		}
		if _, err := os.Stat(filepath.Join(dir, base+".xml")); err == nil {
			j.siprec = filepath.Join(dir, base+".xml")
		}
		jobs = append(jobs, j)
	}
	if len(jobs) == 0 {
		return nil, usagef("--dir %s holds no .wav, .ogg, .opus or .mp3 files", dir)
	}
	sort.Slice(jobs, func(a, b int) bool { return jobs[a].media < jobs[b].media })
	return jobs, nil
}

// ingestOne uploads one file. Its idempotency key is derived from the
// file's content, so running the same ingest again never duplicates it.
func ingestOne(cmd *cobra.Command, c *client.Client, j ingestJob) (client.Recording, error) {
	meta, err := os.ReadFile(j.meta)
	if err != nil {
		return client.Recording{}, &usageError{msg: err.Error()}
	}
	var sip []byte
	if j.siprec != "" {
		if sip, err = os.ReadFile(j.siprec); err != nil {
			return client.Recording{}, &usageError{msg: err.Error()}
		}
	}
	key, err := fileKey(j.media, meta, sip)
	if err != nil {
		return client.Recording{}, err
	}
	return c.Ingest(cmd.Context(), client.IngestRequest{
		Metadata: meta, SIPREC: sip, MediaName: filepath.Base(j.media), IdempotencyKey: key,
		Media: func() (io.ReadCloser, error) { return os.Open(j.media) },
	})
}

func fileKey(path string, meta, sip []byte) (string, error) {
	f, err := os.Open(path)
	if err != nil {
		if errors.Is(err, os.ErrNotExist) {
			return "", usagef("%s does not exist", path)
		}
		return "", err
	}
	defer f.Close()
	h := sha256.New()
	if _, err := io.Copy(h, f); err != nil {
		return "", err
	}
	h.Write(meta)
	h.Write(sip)
	return "ingest-" + hex.EncodeToString(h.Sum(nil))[:48], nil
}
