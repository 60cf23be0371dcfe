package main

import (
	"context"
	"os"

	"github.com/holdfast/holdfast/client"
)

// readKeyOrFetch reads a pinned PEM key, or fetches the server's.
func readKeyOrFetch(ctx context.Context, c *client.Client, path string) ([]byte, error) {
	if path != "" {
		b, err := os.ReadFile(path)
		if err != nil {
			return nil, usagef("--key: %v", err)
		}
		return b, nil
	}
	return c.SigningKey(ctx)
}
