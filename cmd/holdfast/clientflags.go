package main

import (
	"log/slog"

	"github.com/spf13/cobra"

	"github.com/holdfast/holdfast/client"
)

// clientFlags are the flags every client subcommand shares (§2).
type clientFlags struct {
	server string
	token  string
	debug  bool
}

func (f *clientFlags) add(cmd *cobra.Command) {
	cmd.Flags().StringVar(&f.server, "server", "", "server URL (env HOLDFAST_SERVER; default http://127.0.0.1:8640)")
	cmd.Flags().StringVar(&f.token, "token", "", "API token (env HOLDFAST_TOKEN)")
	cmd.Flags().BoolVar(&f.debug, "debug", false, "log each request retry and its reason to stderr")
}

// resolvedServer is the server URL from flag, environment or default.
func (f *clientFlags) resolvedServer(e *env) string {
	if f.server != "" {
		return f.server
	}
	if v := e.getenv("HOLDFAST_SERVER"); v != "" {
		return v
	}
	return "http://127.0.0.1:8640"
}

// client builds the API client from flags and environment.
func (f *clientFlags) client(e *env) (*client.Client, error) {
	server := f.resolvedServer(e)
	token := f.token
	if token == "" {
		token = e.getenv("HOLDFAST_TOKEN")
	}
	if token == "" {
		return nil, usagef("no token: pass --token or set HOLDFAST_TOKEN (the first admin token is in <data>/bootstrap-token)")
	}
	level := slog.LevelInfo
	if f.debug {
		level = slog.LevelDebug
	}
	log := slog.New(slog.NewTextHandler(e.stderr, &slog.HandlerOptions{Level: level}))
	c, err := client.New(server, token, client.WithLogger(log))
	if err != nil {
		return nil, &usageError{msg: err.Error()}
	}
	return c, nil
}
