//go:build !unix

package edge

// FileLimit returns 0: the limit is unknown on this platform, and the
// caps are derived for 1024 descriptors.
func FileLimit() uint64 { return 0 }
