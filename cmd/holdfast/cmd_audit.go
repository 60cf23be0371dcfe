package main

import (
	"context"
	"encoding/json"
	"fmt"

	"github.com/spf13/cobra"

	"github.com/holdfast/holdfast/client"
	"github.com/holdfast/holdfast/internal/audit"
	"github.com/holdfast/holdfast/internal/auditlog"
	"github.com/holdfast/holdfast/internal/store"
)

func newAuditCommand(e *env) *cobra.Command {
	cmd := &cobra.Command{Use: "audit", Short: "The tamper-evident audit log",
		Example: "  holdfast audit verify\n  holdfast audit entries --limit 20"}
	var cf clientFlags
	var keyPath string
	var asJSON bool
	verify := &cobra.Command{
		Use:     "verify",
		Example: "  holdfast audit verify\n  holdfast audit verify --key key.pem --json",
		Short:   "Recompute the server's whole audit log and check it against its latest signed checkpoint",
		Args:    cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			c, err := cf.client(e)
			if err != nil {
				return err
			}
			return runAuditVerify(cmd.Context(), e, c, keyPath, asJSON)
		},
	}
	cf.add(verify)
	verify.Flags().StringVar(&keyPath, "key", "", "PEM public key to pin (default: the key the server presents)")
	verify.Flags().BoolVar(&asJSON, "json", false, "print the result as JSON")
	cmd.AddCommand(verify, newAuditEntriesCommand(e))
	return cmd
}

// auditVerifyResult is what audit verify reports.
type auditVerifyResult struct {
	OK          bool            `json:"ok"`
	Size        int64           `json:"size"`
	Root        string          `json:"root"`
	Origin      string          `json:"origin"`
	KeyPinned   bool            `json:"key_pinned"`
	Fingerprint string          `json:"key_fingerprint"`
	Problems    []audit.Problem `json:"problems"`
}

func runAuditVerify(ctx context.Context, e *env, c *client.Client, keyPath string, asJSON bool) error {
	pemBytes, err := readKeyOrFetch(ctx, c, keyPath)
	if err != nil {
		return err
	}
	pub, err := audit.ParsePublicKeyPEM(pemBytes)
	if err != nil {
		return fmt.Errorf("signing key: %w", err)
	}
	signed, err := c.AuditCheckpoint(ctx)
	if err != nil {
		return err
	}
	cp, err := audit.OpenCheckpoint(signed, audit.DefaultOrigin(pub), pub)
	if err != nil {
		return fmt.Errorf("the server's checkpoint does not verify with key %s: %w", audit.Fingerprint(pub), err)
	}
	page := func(ctx context.Context, start int64, limit int) ([]store.AuditRecord, error) {
		p, err := c.AuditEntries(ctx, start, limit)
		if err != nil {
			return nil, err
		}
		out := make([]store.AuditRecord, len(p.Items))
		for i, it := range p.Items {
			h, err := audit.ParseHash(it.LeafHash)
			if err != nil {
				return nil, fmt.Errorf("entry %d: leaf_hash: %w", it.Index, err)
			}
			out[i] = store.AuditRecord{Entry: audit.Entry{Index: it.Index, Time: it.Time, Type: it.Type, Actor: it.Actor, Subject: it.Subject, Data: it.Data}, LeafHash: h}
		}
		return out, nil
	}
	problems, err := auditlog.Verify(ctx, page, cp)
	if err != nil {
		return err
	}
	res := auditVerifyResult{OK: len(problems) == 0, Size: cp.Size, Root: audit.FormatHash(cp.Root), Origin: cp.Origin, KeyPinned: keyPath != "", Fingerprint: audit.Fingerprint(pub), Problems: problems}
	if res.Problems == nil {
		res.Problems = []audit.Problem{}
	}
	if asJSON {
		_ = json.NewEncoder(e.stdout).Encode(res)
	} else {
		for _, p := range problems {
			if p.Index >= 0 {
				fmt.Fprintf(e.stdout, "entry %d: %s\n", p.Index, p.Message)
			} else {
				fmt.Fprintf(e.stdout, "log: %s\n", p.Message)
			}
		}
		pin := "pinned with --key"
		if keyPath == "" {
			pin = "not pinned: the key is the one the server presented; pass --key to pin it"
		}
		fmt.Fprintf(e.stdout, "checkpoint %s size %d root %s\nsigner %s (%s)\n", cp.Origin, cp.Size, res.Root, res.Fingerprint, pin)
	}
	if len(problems) > 0 {
		return fmt.Errorf("audit log verification failed: %d problem(s), first at %s", len(problems), problems[0].String())
	}
	if !asJSON {
		fmt.Fprintf(e.stdout, "audit log OK: all %d entries match the signed checkpoint\n", cp.Size)
	}
	return nil
}
