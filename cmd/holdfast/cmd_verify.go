package main

import (
	"context"
	"crypto/ed25519"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"runtime"

	"github.com/spf13/cobra"

	"github.com/holdfast/holdfast/internal/audit"
	"github.com/holdfast/holdfast/internal/bag"
	"github.com/holdfast/holdfast/internal/custody"
)

// verifyReport is what `holdfast verify --json` prints.
type verifyReport struct {
	OK           bool              `json:"ok"`
	Bag          string            `json:"bag"`
	BagItVersion string            `json:"bagit_version"`
	PayloadFiles int               `json:"payload_files"`
	PayloadBytes int64             `json:"payload_bytes"`
	Problems     []custody.Problem `json:"problems"`
	Warnings     []custody.Problem `json:"warnings"`
	Custody      custody.Result    `json:"custody"`
}

func newVerifyCommand(e *env) *cobra.Command {
	var keyPath string
	var asJSON bool
	var workers int
	cmd := &cobra.Command{
		Use:     "verify DIR [--key key.pem]",
		Example: "  holdfast verify --key key.pem discovery/LC-2024-001_exp_01JD0000000000000000000000",
		Short:   "Check a bag offline: BagIt validity, signature, custody hashes and audit proofs",
		Args:    cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			var pinned ed25519.PublicKey
			if keyPath != "" {
				b, err := os.ReadFile(keyPath)
				if err != nil {
					return usagef("--key: %v", err)
				}
				if pinned, err = audit.ParsePublicKeyPEM(b); err != nil {
					return usagef("--key %s: %v", keyPath, err)
				}
			}
			if st, err := os.Stat(args[0]); errors.Is(err, os.ErrNotExist) {
				return usagef("%s does not exist", args[0])
			} else if err != nil {
				return usagef("%s: %v", args[0], err)
			} else if !st.IsDir() {
				return usagef("%s is not a directory (a bag is a directory)", args[0])
			}
			rep, err := verifyBagWorkers(cmd.Context(), args[0], pinned, workers)
			if err != nil {
				return err
			}
			printVerify(e, rep, asJSON, "pinned with --key")
			if !rep.OK {
				return fmt.Errorf("the bag at %s does not verify: %d problem(s), first: %s: %s", args[0], len(rep.Problems), rep.Problems[0].Path, rep.Problems[0].Message)
			}
			return nil
		},
	}
	cmd.Flags().StringVar(&keyPath, "key", "", "PEM Ed25519 public key that must have signed the bag (holdfast key export)")
	cmd.Flags().BoolVar(&asJSON, "json", false, "print the result as JSON")
	cmd.Flags().IntVar(&workers, "workers", runtime.NumCPU(), "files hashed in parallel")
	return cmd
}

// verifyBagDir runs every offline check on dir with all cores.
func verifyBagDir(ctx context.Context, dir string, pinned ed25519.PublicKey) (verifyReport, error) {
	return verifyBagWorkers(ctx, dir, pinned, runtime.NumCPU())
}

// verifyBagWorkers runs every offline check on dir.
func verifyBagWorkers(ctx context.Context, dir string, pinned ed25519.PublicKey, workers int) (verifyReport, error) {
	rep := verifyReport{Bag: dir, Problems: []custody.Problem{}, Warnings: []custody.Problem{}}
	br, err := bag.Validate(ctx, dir, bag.Options{Workers: workers})
	if err != nil {
		return rep, err
	}
	rep.BagItVersion, rep.PayloadFiles, rep.PayloadBytes = br.Version, br.PayloadFiles, br.PayloadBytes
	for _, p := range br.Problems {
		rep.Problems = append(rep.Problems, custody.Problem{Path: p.Path, Message: p.Message})
	}
	for _, p := range br.Warnings {
		rep.Warnings = append(rep.Warnings, custody.Problem{Path: p.Path, Message: p.Message})
	}
	rep.Custody = custody.Verify(dir, pinned)
	rep.Problems = append(rep.Problems, rep.Custody.Problems...)
	rep.OK = len(rep.Problems) == 0
	return rep, nil
}

// printVerify prints the report; pinned says how the signer was pinned
// when it was.
func printVerify(e *env, rep verifyReport, asJSON bool, pinned string) {
	if asJSON {
		_ = json.NewEncoder(e.stdout).Encode(rep)
		return
	}
	for _, p := range rep.Problems {
		path := p.Path
		if path == "" {
			path = "(bag)"
		}
		fmt.Fprintf(e.stdout, "FAIL %s: %s\n", path, p.Message)
	}
	for _, w := range rep.Warnings {
		fmt.Fprintf(e.stdout, "warning %s: %s\n", w.Path, w.Message)
	}
	for _, n := range rep.Custody.Notes {
		fmt.Fprintf(e.stdout, "note: %s\n", n)
	}
	if !rep.OK {
		return
	}
	fmt.Fprintf(e.stdout, "OK: BagIt %s bag, %d payload files (%d bytes), all manifests match\n", rep.BagItVersion, rep.PayloadFiles, rep.PayloadBytes)
	if rep.Custody.HasCustody {
		pin := pinned
		if !rep.Custody.Pinned {
			pin = "NOT pinned (key taken from custody.json)"
		}
		fmt.Fprintf(e.stdout, "OK: signature by %s, %s\n", rep.Custody.Fingerprint, pin)
		fmt.Fprintf(e.stdout, "OK: custody hashes of %d recording(s) match ingest; hold and export audit entries proved against the signed checkpoint\n", rep.Custody.Recordings)
	}
}
