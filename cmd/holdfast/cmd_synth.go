package main

import (
	"fmt"
	"math/rand/v2"
	"time"

	"github.com/spf13/cobra"

	"github.com/holdfast/holdfast/internal/media/synth"
)

func newSynthCommand(e *env) *cobra.Command {
	var out string
	var count int
	var seed uint64
	spread := 24 * time.Hour // inside the README's --since 48h
	cmd := &cobra.Command{
		Use:     "synth --out DIR [--count N]",
		Example: "  holdfast synth --out calls --count 3",
		Short:   "Write synthetic SIP calls (X.wav, X.json, X.xml) for trying holdfast out",
		Args:    cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			if out == "" {
				return usagef("--out DIR is required")
			}
			if count < 1 {
				return usagef("--count must be at least 1")
			}
			calls := synth.Generate(rand.New(rand.NewPCG(seed, seed^0x5eed)), count, synth.Options{Now: time.Now().UTC(), Spread: spread})
			if err := synth.WriteDir(out, calls); err != nil {
				return err
			}
			fmt.Fprintf(e.stdout, "wrote %d synthetic calls to %s\n", count, out)
			return nil
		},
	}
	cmd.Flags().StringVar(&out, "out", "", "directory to write into")
	cmd.Flags().IntVar(&count, "count", 5, "number of calls")
	cmd.Flags().Uint64Var(&seed, "seed", 1, "random seed (same seed, same calls)")
	cmd.Flags().Var((*durationValue)(&spread), "spread", "calls start within this long before now, e.g. 24h or 3d")
	return cmd
}
