package main

import (
	"github.com/spf13/cobra"
)

func newKeyCommand(e *env) *cobra.Command {
	cmd := &cobra.Command{Use: "key", Short: "The server's signing key"}
	var cf clientFlags
	export := &cobra.Command{
		Use:   "export",
		Short: "Print the server's Ed25519 public key as PEM (for openssl and holdfast verify --key)",
		Args:  cobra.NoArgs,
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
	cmd.AddCommand(export)
	return cmd
}
