package main

import (
	"errors"
	"fmt"

	"github.com/spf13/cobra"

	"github.com/holdfast/holdfast/internal/auditlog"
	"github.com/holdfast/holdfast/internal/server"
)

func newKeyCommand(e *env) *cobra.Command {
	cmd := &cobra.Command{Use: "key", Short: "The server's signing key",
		Example: "  holdfast key export > key.pem"}
	var cf clientFlags
	export := &cobra.Command{
		Use:     "export",
		Example: "  holdfast key export > key.pem",
		Short:   "Print the server's Ed25519 public key as PEM (for openssl and holdfast verify --key)",
		Args:    cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			c, err := cf.client(e)
			if err != nil {
				return err
			}
			pem, err := c.SigningKey(cmd.Context())
			if err != nil {
				return err
			}
			_, err = e.stdout.Write(pem)
			return err
		},
	}
	cf.add(export)
	cmd.AddCommand(export, newKeyRotateCommand(e))
	return cmd
}

type keyRotateOptions struct {
	data, database, signingKey, newKey string
}

func newKeyRotateCommand(e *env) *cobra.Command {
	var o keyRotateOptions
	cmd := &cobra.Command{
		Use:   "rotate --new-key FILE",
		Short: "Hand the audit log to a new signing key with a checkpoint signed by both keys",
		Long: `Appends a signing_key.rotated audit entry and a checkpoint signed by both the
current key and the new one (a C2SP signed note with two signatures), and makes
the new key the log's key. Afterwards replicas start only with the new key:
restart every replica with --signing-key FILE (HOLDFAST_SIGNING_KEY_FILE).
It talks to the database directly, so give it the same --database (and, for
the embedded database, --data) and current --signing-key as serve. FILE is
generated (Ed25519, mode 0600) if it does not exist.`,
		Example: `  holdfast key rotate --database postgres://holdfast@db/holdfast \
    --signing-key /etc/holdfast/signing-key --new-key /etc/holdfast/signing-key.2027`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			if o.newKey == "" {
				return usagef("--new-key FILE is required")
			}
			cfg := server.Config{
				DataDir:        pick(o.data, "HOLDFAST_DATA", e, "./holdfast-data"),
				DatabaseURL:    pick(o.database, "HOLDFAST_DATABASE_URL", e, ""),
				SigningKeyFile: pick(o.signingKey, "HOLDFAST_SIGNING_KEY_FILE", e, ""),
			}
			r, err := server.RotateKey(cmd.Context(), cfg, o.newKey)
			var ce *server.ConfigError
			var fe *auditlog.ForeignKeyError
			switch {
			case errors.As(err, &ce):
				return &usageError{msg: ce.Msg}
			case errors.As(err, &fe):
				return fmt.Errorf("cannot rotate: %w", err)
			case err != nil:
				return err
			}
			fmt.Fprintf(e.stdout, "rotated the signing key %s -> %s\ncheckpoint %s size %d, signed by both keys\nrestart every replica with --signing-key %s\n",
				r.OldFingerprint, r.NewFingerprint, r.Checkpoint.Origin, r.Checkpoint.Size, o.newKey)
			return nil
		},
	}
	f := cmd.Flags()
	f.StringVar(&o.newKey, "new-key", "", "the new Ed25519 signing key (PEM); generated if the file does not exist")
	f.StringVar(&o.data, "data", "", "data directory (env HOLDFAST_DATA; default ./holdfast-data)")
	f.StringVar(&o.database, "database", "", "metadata database URL (env HOLDFAST_DATABASE_URL; default embedded SQLite in the data directory)")
	f.StringVar(&o.signingKey, "signing-key", "", "the current signing key file (env HOLDFAST_SIGNING_KEY_FILE; default <data>/signing-key)")
	return cmd
}
