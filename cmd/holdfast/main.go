// Command holdfast is the vault for call recordings: `holdfast serve` runs
// the server, and the other subcommands talk to it over HTTP through the
// client package. This file only wires the subcommands together.
package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/signal"
	"syscall"

	"github.com/spf13/cobra"

	"github.com/holdfast/holdfast/client"
)

// Exit codes of contract §10.
const (
	exitOK     = 0
	exitFailed = 1
	exitUsage  = 2
)

// usageError marks a usage or configuration problem (exit 2).
type usageError struct{ msg string }

func (e *usageError) Error() string { return e.msg }

func usagef(format string, args ...any) error { return &usageError{msg: fmt.Sprintf(format, args...)} }

// env carries the process's streams, so commands never touch globals.
type env struct {
	stdout, stderr io.Writer
	stdin          io.Reader
	getenv         func(string) string
}

func newRootCommand(e *env) *cobra.Command {
	root := &cobra.Command{
		Use:           "holdfast",
		Short:         "A vault for call recordings: legal holds that hold, verifiable discovery exports",
		SilenceUsage:  true,
		SilenceErrors: true,
	}
	root.SetOut(e.stdout)
	root.SetErr(e.stderr)
	root.SetFlagErrorFunc(func(c *cobra.Command, err error) error { return &usageError{msg: err.Error()} })
	root.AddCommand(
		newServeCommand(e),
		newTokenCommand(e),
		newIngestCommand(e),
		newHoldCommand(e),
		newAuditCommand(e),
		newKeyCommand(e),
		newSynthCommand(e),
		newVerifyCommand(e),
		newExportCommand(e),
		newDemoCommand(e),
		newImportCommand(e),
		newRecordingsCommand(e),
		newExportsCommand(e),
		newVersionCommand(e),
	)
	root.Version = readBuildInfo().String()
	root.SetVersionTemplate("{{.Version}}\n")
	return root
}

func main() {
	e := &env{stdout: os.Stdout, stderr: os.Stderr, stdin: os.Stdin, getenv: os.Getenv}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	os.Exit(run(ctx, e, os.Args[1:]))
}

// run executes one command line and returns the exit code.
func run(ctx context.Context, e *env, args []string) int {
	root := newRootCommand(e)
	root.SetArgs(args)
	err := root.ExecuteContext(ctx)
	if err == nil {
		return exitOK
	}
	fmt.Fprintln(e.stderr, "holdfast: "+sentence(err))
	var ue *usageError
	if errors.As(err, &ue) || isCobraUsage(err) {
		return exitUsage
	}
	return exitFailed
}

// sentence renders an error as one readable sentence, with the server's
// code and message where there is one.
func sentence(err error) string {
	var ce *client.Error
	if errors.As(err, &ce) {
		return fmt.Sprintf("the server refused the request (%d %s): %s", ce.Status, ce.Code, ce.Error()[len(fmt.Sprintf("server answered %d %s: ", ce.Status, ce.Code)):])
	}
	return err.Error()
}

func isCobraUsage(err error) bool {
	msg := err.Error()
	for _, p := range []string{"unknown command", "unknown flag", "unknown shorthand", "accepts ", "requires at least", "required flag", "invalid argument"} {
		if len(msg) >= len(p) && contains(msg, p) {
			return true
		}
	}
	return false
}

func contains(s, sub string) bool {
	for i := 0; i+len(sub) <= len(s); i++ {
		if s[i:i+len(sub)] == sub {
			return true
		}
	}
	return false
}
