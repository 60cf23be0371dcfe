package main

import (
	"encoding/json"
	"fmt"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"

	"github.com/holdfast/holdfast/client"
)

func newTokenCommand(e *env) *cobra.Command {
	cmd := &cobra.Command{Use: "token", Short: "Manage API tokens (needs an admin token)",
		Example: "  holdfast token create --name legal-ops --perm recording:view,recording:export\n  holdfast token list"}
	cmd.AddCommand(newTokenCreateCommand(e), newTokenListCommand(e), newTokenRevokeCommand(e))
	return cmd
}

func newTokenCreateCommand(e *env) *cobra.Command {
	var cf clientFlags
	var name string
	var perms []string
	var asJSON bool
	create := &cobra.Command{
		Use:     "create --name N --perm P[,P…]",
		Short:   "Create a token (needs an admin token); prints its secret once",
		Example: "  holdfast token create --name export-bot --perm recording:view,recording:export",
		Args:    cobra.NoArgs,
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
	return create
}

func newTokenListCommand(e *env) *cobra.Command {
	var cf clientFlags
	var asJSON bool
	cmd := &cobra.Command{
		Use:     "list",
		Short:   "List every token, revoked ones included (never their secrets)",
		Example: "  holdfast token list\n  holdfast token list --json",
		Args:    cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			c, err := cf.client(e)
			if err != nil {
				return err
			}
			all, err := allPages(func(cursor string) (client.Page[client.Token], error) {
				return c.ListTokens(cmd.Context(), cursor, 1000)
			})
			if err != nil {
				return err
			}
			if asJSON {
				return json.NewEncoder(e.stdout).Encode(all)
			}
			tw := tabwriter.NewWriter(e.stdout, 2, 4, 2, ' ', 0)
			fmt.Fprintln(tw, "ID\tNAME\tPERMISSIONS\tCREATED\tLAST USED\tREVOKED")
			for _, t := range all {
				fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\n", t.ID, t.Name, strings.Join(t.Permissions, ","),
					t.CreatedAt.UTC().Format(time.RFC3339), orDash(t.LastUsedAt), orDash(t.RevokedAt))
			}
			return tw.Flush()
		},
	}
	cf.add(cmd)
	cmd.Flags().BoolVar(&asJSON, "json", false, "print one JSON array of every token")
	return cmd
}

func newTokenRevokeCommand(e *env) *cobra.Command {
	var cf clientFlags
	var asJSON bool
	cmd := &cobra.Command{
		Use:     "revoke ID",
		Short:   "Revoke a token at once: its next request is refused (401)",
		Example: "  holdfast token revoke tok_01JD0000000000000000000000",
		Args:    cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			c, err := cf.client(e)
			if err != nil {
				return err
			}
			t, err := c.RevokeToken(cmd.Context(), args[0])
			if err != nil {
				return err
			}
			if asJSON {
				return json.NewEncoder(e.stdout).Encode(t)
			}
			fmt.Fprintf(e.stdout, "revoked token %s (%s) at %s\n", t.ID, t.Name, orDash(t.RevokedAt))
			return nil
		},
	}
	cf.add(cmd)
	cmd.Flags().BoolVar(&asJSON, "json", false, "print JSON")
	return cmd
}

// orDash renders an optional time for a table.
func orDash(t *time.Time) string {
	if t == nil {
		return "-"
	}
	return t.UTC().Format(time.RFC3339)
}

// allPages follows next_cursor from the first page to the last and
// returns every item (an empty, non-nil slice when there is none), so a
// listing's --json is one array of the whole list.
func allPages[T any](page func(cursor string) (client.Page[T], error)) ([]T, error) {
	all := []T{}
	cursor := ""
	for {
		p, err := page(cursor)
		if err != nil {
			return nil, err
		}
		all = append(all, p.Items...)
		if p.NextCursor == "" || p.NextCursor == cursor {
			return all, nil
		}
		cursor = p.NextCursor
	}
}
