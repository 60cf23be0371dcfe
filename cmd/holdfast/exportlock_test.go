package main

import (
	"bytes"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/holdfast/holdfast/internal/testserver"
)

// TestExportLockOneRunPerDirectory runs `holdfast export` as a real
// process and, while it waits for its job, a second run on the same --out:
// the second refuses at once, naming the first's pid, host and start. The
// first is then SIGKILLed; its lock stays behind, and does not block the
// next run, which resumes the job.
func TestExportLockOneRunPerDirectory(t *testing.T) {
	t.Parallel()
	srv := testserver.Start(t, testserver.WithFaults("processing_delay=4s"))
	ingestSynthetic(t, srv.Client(t), 31, 2)
	out := filepath.Join(t.TempDir(), "out")
	args := []string{"export", "--case", "LC-LOCK-1", "--media", "sip", "--since", "2d", "--legal-hold", "--out", out,
		"--server", srv.URL, "--token", testserver.AdminToken, "--poll", "100ms"}

	var firstOut bytes.Buffer
	first := exec.Command(testserver.Binary(t), args...)
	first.Stdout, first.Stderr = &firstOut, &firstOut
	first.Env = append(os.Environ(), "HOLDFAST_TOKEN=", "HOLDFAST_SERVER=")
	if err := first.Start(); err != nil {
		t.Fatal(err)
	}
	exited := make(chan error, 1)
	go func() { exited <- first.Wait() }()
	t.Cleanup(func() { first.Process.Kill() })
	lock := filepath.Join(out, exportLockFile)
	for deadline := time.Now().Add(30 * time.Second); ; time.Sleep(10 * time.Millisecond) {
		if st, err := loadExportState(out); err == nil && st != nil && st.JobID != "" {
			break
		}
		select {
		case err := <-exited:
			t.Fatalf("the first run ended (%v) before the test could race it:\n%s", err, firstOut.String())
		default:
		}
		if time.Now().After(deadline) {
			t.Fatalf("the first run never created its job:\n%s", firstOut.String())
		}
	}
	if _, err := os.Stat(lock); err != nil {
		t.Fatalf("the running export holds no lock file: %v", err)
	}

	code, stdout, stderr := runCLI(t, args...)
	select {
	case err := <-exited:
		t.Fatalf("the first run ended (%v) before the second was refused; the second must not wait for it", err)
	default:
	}
	host, _ := os.Hostname()
	if code != 1 || !strings.Contains(stderr, fmt.Sprintf("pid %d on %s", first.Process.Pid, host)) || !strings.Contains(stderr, "started 20") || stdout != "" {
		t.Fatalf("second run on the same --out: exit %d\nstdout: %s\nstderr: %s", code, stdout, stderr)
	}
	if _, err := os.Stat(lock); err != nil {
		t.Fatalf("the refused run removed the first run's lock: %v", err)
	}

	// A killed run leaves its lock; the next run takes it over.
	if err := first.Process.Kill(); err != nil {
		t.Fatal(err)
	}
	<-exited
	if _, err := os.Stat(lock); err != nil {
		t.Fatalf("SIGKILL should leave the lock behind: %v", err)
	}
	code, stdout, stderr = runCLI(t, args...)
	if code != 0 || !strings.Contains(stderr, "resuming the export") || !strings.Contains(stdout, "recordings exported: 2 of 2") {
		t.Fatalf("run after the kill: exit %d\nstdout: %s\nstderr: %s", code, stdout, stderr)
	}
	if _, err := os.Stat(lock); !os.IsNotExist(err) {
		t.Errorf("a finished run left its lock: %v", err)
	}
}

// TestExportLockDamaged: a lock file that is not a lock (cut short by a
// crash while it was written) never blocks.
func TestExportLockDamaged(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, exportLockFile), []byte(`{"pid":`), 0o640); err != nil {
		t.Fatal(err)
	}
	unlock, err := acquireExportLock(dir, time.Now())
	if err != nil {
		t.Fatalf("damaged lock blocked: %v", err)
	}
	if _, err := acquireExportLock(dir, time.Now()); err == nil || !strings.Contains(err.Error(), fmt.Sprintf("pid %d", os.Getpid())) {
		t.Errorf("a held lock was taken twice: %v", err)
	}
	unlock()
	if _, err := os.Stat(filepath.Join(dir, exportLockFile)); !os.IsNotExist(err) {
		t.Errorf("unlock left the file: %v", err)
	}
}
