package main

import (
	"bytes"
	"io"
	"strings"
	"sync"
	"testing"
	"time"
)

type lockedBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *lockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *lockedBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

// On a terminal the line says hosts done, failed, remaining and elapsed, and is erased at the end.
func TestProgressOnTerminal(t *testing.T) {
	var errOut lockedBuffer
	c := &cli{stderr: &errOut, isTerminal: func(io.Writer) bool { return true }}
	prog := c.progress("read")
	if prog == nil {
		t.Fatal("no progress on a terminal")
	}
	prog(1, 50, 0)
	prog(12, 50, 2)
	c.progressDone(prog)
	out := errOut.String()
	for _, want := range []string{
		"accessctl: read 1/50 hosts, 0 failed, 49 remaining, 0s elapsed",
		"accessctl: read 12/50 hosts, 2 failed, 38 remaining, 0s elapsed",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("missing %q in %q", want, out)
		}
	}
	if !strings.HasSuffix(out, "\r\x1b[K") {
		t.Errorf("the line is not erased at the end: %q", out)
	}
}

// The elapsed time moves while no host finishes.
func TestProgressTicks(t *testing.T) {
	if testing.Short() {
		t.Skip("waits for a tick")
	}
	var errOut lockedBuffer
	c := &cli{stderr: &errOut, isTerminal: func(io.Writer) bool { return true }}
	prog := c.progress("applied")
	time.Sleep(progressInterval + 300*time.Millisecond)
	c.progressDone(prog)
	if out := errOut.String(); !strings.Contains(out, "accessctl: applied 0 hosts so far, 1s elapsed") {
		t.Errorf("no tick: %q", out)
	}
}

// Without a terminal (a pipe, a CI log) there is no progress at all.
func TestProgressQuietWithoutTerminal(t *testing.T) {
	var errOut bytes.Buffer
	c := &cli{stderr: &errOut}
	prog := c.progress("read")
	if prog != nil {
		t.Error("progress on a buffer")
	}
	c.progressDone(prog)
	if errOut.Len() != 0 {
		t.Errorf("wrote %q", errOut.String())
	}
}
