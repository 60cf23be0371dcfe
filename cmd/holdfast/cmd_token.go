package main

import (
	"encoding/json"
	"fmt"
	"strings"

	"github.com/spf13/cobra"
)

func newTokenCommand(e *env) *cobra.Command {
	cmd := &cobra.Command{Use: "token", Short: "Manage API tokens"}
	var cf clientFlags
	var name string
	var perms []string
	var asJSON bool
	create := &cobra.Command{
		Use:   "create --name N --perm P[,P…]",
		Short: "Create a token (needs an admin token); prints its secret once",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			if name == "" {
				return usagef("--name is required")
			}
			if len(perms) == 0 {
				return usagef("--perm is required, e.g. --perm recording:view,recording:export")
			}
			c, err := cf.client(e)
			if err != nil {
				return err
			}
			t, err := c.CreateToken(cmd.Context(), name, perms)
			if err != nil {
				return err
			}
			if asJSON {
				return json.NewEncoder(e.stdout).Encode(t)
			}
			fmt.Fprintf(e.stdout, "token %s (%s) with %s\n%s\n", t.ID, t.Name, strings.Join(t.Permissions, ", "), t.Secret)
			return nil
		},
	}
	cf.add(create)
	create.Flags().StringVar(&name, "name", "", "token name")
	create.Flags().StringSliceVar(&perms, "perm", nil, "permissions, comma-separated")
	create.Flags().BoolVar(&asJSON, "json", false, "print JSON")
	cmd.AddCommand(create)
	return cmd
}
