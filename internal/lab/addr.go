package lab

import (
	"errors"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"syscall"
)

// addrLock is a loopback address reserved for one host for the lab's lifetime.
type addrLock struct {
	addr string
	f    *os.File
}

func (a *addrLock) release() {
	if a.f != nil {
		a.f.Close() // drops the flock
		a.f = nil
	}
}

// reserveAddr finds a free 127.0.X.N (X from 1, N 2-254: 127.0.1.1 is Debian's own hostname
// line) and holds an flock on a file named after it, so labs in parallel test binaries never
// share an address; the kernel drops the lock when the process dies. n is only for the message.
func reserveAddr(n int) (*addrLock, error) {
	dir := filepath.Join(os.TempDir(), "accessctl-lab-addrs")
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, err
	}
	inUse := 0
	for x := 1; x <= 250; x++ {
		for y := 2; y <= 254; y++ {
			addr := fmt.Sprintf("127.0.%d.%d", x, y)
			f, err := os.OpenFile(filepath.Join(dir, addr), os.O_CREATE|os.O_RDWR, 0o644)
			if err != nil {
				return nil, err
			}
			if err := syscall.Flock(int(f.Fd()), syscall.LOCK_EX|syscall.LOCK_NB); err != nil {
				f.Close()
				continue
			}
			// Something outside the lab may hold the port (a system sshd on 0.0.0.0:22 holds
			// them all).
			ln, err := net.Listen("tcp", net.JoinHostPort(addr, "22"))
			if err != nil {
				f.Close()
				if inUse++; inUse >= 8 {
					return nil, fmt.Errorf("lab: cannot reserve %d addresses: port 22 is taken on %s and others (is an sshd listening on 0.0.0.0:22? stop it: lab hosts listen on 127.0.X.N:22): %w", n, addr, err)
				}
				continue
			}
			ln.Close()
			return &addrLock{addr: addr, f: f}, nil
		}
	}
	return nil, errors.New("lab: no free loopback address left")
}
