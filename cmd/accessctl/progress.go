package main

import (
	"fmt"
	"io"
	"os"
	"sync"
	"time"

	"golang.org/x/term"
)

// progressLine is the one status line a long fleet run keeps up to date on stderr while a person
// watches it on a terminal: hosts done (of how many), failed, remaining, and time elapsed, redrawn
// as hosts finish and once a second. With no terminal (CI logs, pipes) there is none.
type progressLine struct {
	w     io.Writer
	verb  string
	start time.Time
	now   func() time.Time

	mu                  sync.Mutex
	done, total, failed int
	stop                chan struct{}
	wg                  sync.WaitGroup
}

// progressInterval is how often the elapsed time is redrawn while no host finishes.
const progressInterval = time.Second

func (c *cli) terminal(w io.Writer) bool {
	if c.isTerminal != nil {
		return c.isTerminal(w)
	}
	f, ok := w.(*os.File)
	return ok && term.IsTerminal(int(f.Fd()))
}

// progress returns the callback inventory.Run reports to, drawing on stderr while a terminal
// watches it, else nil. verb says what is done to the hosts ("read", "applied").
func (c *cli) progress(verb string) func(done, total, failed int) {
	if !c.terminal(c.stderr) {
		return nil
	}
	p := &progressLine{w: c.stderr, verb: verb, start: time.Now(), now: time.Now, stop: make(chan struct{})}
	c.progressLines = append(c.progressLines, p)
	p.wg.Add(1)
	go func() {
		defer p.wg.Done()
		t := time.NewTicker(progressInterval)
		defer t.Stop()
		for {
			select {
			case <-p.stop:
				return
			case <-t.C:
				p.mu.Lock()
				p.draw()
				p.mu.Unlock()
			}
		}
	}()
	return p.update
}

func (p *progressLine) update(done, total, failed int) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.done, p.total, p.failed = done, total, failed
	p.draw()
}

// draw writes the line; the caller holds mu.
func (p *progressLine) draw() {
	elapsed := p.now().Sub(p.start).Round(time.Second)
	if p.total == 0 {
		fmt.Fprintf(p.w, "\r\033[Kaccessctl: %s 0 hosts so far, %s elapsed", p.verb, elapsed)
		return
	}
	fmt.Fprintf(p.w, "\r\033[Kaccessctl: %s %d/%d hosts, %d failed, %d remaining, %s elapsed",
		p.verb, p.done, p.total, p.failed, p.total-p.done, elapsed)
}

// progressDone stops the line p draws and erases it, so the report that follows starts clean.
func (c *cli) progressDone(p func(int, int, int)) {
	if p == nil || len(c.progressLines) == 0 {
		return
	}
	l := c.progressLines[len(c.progressLines)-1]
	c.progressLines = c.progressLines[:len(c.progressLines)-1]
	close(l.stop)
	l.wg.Wait()
	fmt.Fprint(l.w, "\r\033[K")
}
