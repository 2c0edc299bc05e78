//go:build !windows

package sanedtest

import (
	"os/exec"
	"syscall"
	"testing"
	"time"
)

func startGroup(t *testing.T, script string) *exec.Cmd {
	t.Helper()
	cmd := exec.Command("sh", "-c", script)
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL); _ = cmd.Wait() })
	return cmd
}

func TestWatchForStallCallsAnAsleepGroupStalled(t *testing.T) {
	cmd := startGroup(t, "sleep 1000 & wait")
	stalled := make(chan struct{})
	go watchForStall(cmd.Process.Pid, func() int { return 0 }, 20*time.Millisecond, 3, make(chan struct{}), func() { close(stalled) })
	<-stalled // a group that never stalls would hang here, and the test's own timeout reports it
}

func TestWatchForStallLeavesAWorkingGroupAlone(t *testing.T) {
	cmd := startGroup(t, "while :; do :; done")
	done := make(chan struct{})
	called := make(chan struct{}, 1)
	returned := make(chan struct{})
	go func() {
		watchForStall(cmd.Process.Pid, func() int { return 0 }, 20*time.Millisecond, 3, done, func() { called <- struct{}{} })
		close(returned)
	}()
	// A busy loop is runnable or uses CPU at every look: however the
	// looks fall, it is never still for three in a row.
	for range 20 {
		if p := readGroupProgress(cmd.Process.Pid); !p.alive {
			t.Fatal("the busy group is not seen")
		}
		time.Sleep(20 * time.Millisecond)
	}
	close(done)
	<-returned
	select {
	case <-called:
		t.Fatal("a working group was called stalled")
	default:
	}
}

func TestWatchForStallCountsOutputAsProgress(t *testing.T) {
	cmd := startGroup(t, "sleep 1000 & wait")
	n := 0
	done := make(chan struct{})
	called := make(chan struct{}, 1)
	returned := make(chan struct{})
	go func() {
		// Output grows at every look: not stalled although asleep.
		watchForStall(cmd.Process.Pid, func() int { n++; return n }, 20*time.Millisecond, 3, done, func() { called <- struct{}{} })
		close(returned)
	}()
	time.Sleep(300 * time.Millisecond)
	close(done)
	<-returned
	select {
	case <-called:
		t.Fatal("a group whose output grows was called stalled")
	default:
	}
}
