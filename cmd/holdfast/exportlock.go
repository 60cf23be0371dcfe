package main

import (
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"syscall"
	"time"
)

// exportLockFile marks a --out directory as in use by one `holdfast
// export` run, as restic locks a repository: a second run on the same
// directory refuses at once and names the run that holds it, instead of
// racing it for the same files.
const exportLockFile = ".holdfast-export.lock"

// exportLock is what the lock file records about the run holding it.
type exportLock struct {
	PID       int       `json:"pid"`
	Host      string    `json:"host"`
	StartedAt time.Time `json:"started_at"`
}

// lockedError reports a directory that another live run holds.
type lockedError struct {
	dir  string
	held exportLock
}

func (e *lockedError) Error() string {
	return fmt.Sprintf("another holdfast export is using %s (pid %d on %s, started %s); wait for it to finish, or if that run is gone remove %s",
		e.dir, e.held.PID, e.held.Host, e.held.StartedAt.UTC().Format(time.RFC3339), filepath.Join(e.dir, exportLockFile))
}

// acquireExportLock takes dir's lock and returns the function that
// releases it. A lock left by a process of this host that no longer runs
// is stale: it is taken over. The lock file is created with O_EXCL, so of
// two runs starting together exactly one gets it.
func acquireExportLock(dir string, now time.Time) (func(), error) {
	host, _ := os.Hostname()
	me := exportLock{PID: os.Getpid(), Host: host, StartedAt: now.UTC()}
	b, _ := json.Marshal(me)
	path := filepath.Join(dir, exportLockFile)
	for attempt := 0; attempt < 3; attempt++ {
		f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o640)
		if err == nil {
			_, werr := f.Write(b)
			if werr == nil {
				werr = f.Sync()
			}
			if cerr := f.Close(); werr == nil {
				werr = cerr
			}
			if werr != nil {
				os.Remove(path)
				return nil, fmt.Errorf("writing the lock %s: %w", path, werr)
			}
			return func() { os.Remove(path) }, nil
		}
		if !errors.Is(err, os.ErrExist) {
			return nil, fmt.Errorf("locking %s: %w", dir, err)
		}
		raw, err := os.ReadFile(path)
		if errors.Is(err, os.ErrNotExist) {
			continue // released just now
		}
		if err != nil {
			return nil, fmt.Errorf("reading the lock %s: %w", path, err)
		}
		var held exportLock
		if json.Unmarshal(raw, &held) != nil || held.PID <= 0 {
			// Written by a run killed mid-write (the file is synced
			// before the lock is used): nobody holds it.
			if err := os.Remove(path); err != nil && !errors.Is(err, os.ErrNotExist) {
				return nil, fmt.Errorf("removing the damaged lock %s: %w", path, err)
			}
			continue
		}
		if held.Host == host && !processAlive(held.PID) {
			if err := os.Remove(path); err != nil && !errors.Is(err, os.ErrNotExist) {
				return nil, fmt.Errorf("removing the stale lock %s: %w", path, err)
			}
			continue
		}
		return nil, &lockedError{dir: dir, held: held}
	}
	return nil, fmt.Errorf("could not lock %s: its lock file keeps changing", dir)
}

// processAlive reports whether a process with this pid runs on this host
// (signal 0 checks without sending anything; EPERM means it runs as
// another user).
func processAlive(pid int) bool {
	err := syscall.Kill(pid, 0)
	return err == nil || errors.Is(err, syscall.EPERM)
}
