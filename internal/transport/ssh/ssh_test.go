package ssh_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	xssh "golang.org/x/crypto/ssh"
	"golang.org/x/crypto/ssh/agent"

	"github.com/accessctl/accessctl/internal/lab"
	sshtr "github.com/accessctl/accessctl/internal/transport/ssh"
)

// One lab for the package; tests that break a host (stop, pause, rekey) each get their own.
var testLab *lab.Lab

func TestMain(m *testing.M) {
	if err := lab.Check(); err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	l, err := lab.Start(ctx, []lab.HostSpec{
		{Name: "a"}, {Name: "b"}, {Name: "rekey"}, {Name: "pause"}, {Name: "down"},
		{Name: "human", Variant: lab.HumanUser},
	})
	cancel()
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	code := m.Run()
	if err := l.Close(); err != nil {
		fmt.Fprintln(os.Stderr, err)
		code = 1
	}
	os.Exit(code)
}

func init() { testLab = nil }

func config(h *lab.Host) sshtr.Config {
	return sshtr.Config{
		Name:            h.Name,
		Addr:            h.Addr,
		Port:            h.Port,
		User:            lab.AdminUser,
		KnownHostsFiles: []string{h.Lab().KnownHostsFile},
		IdentityFiles:   []string{h.Lab().IdentityFile},
		ConnectTimeout:  5 * time.Second,
	}
}

func dial(t *testing.T, cfg sshtr.Config) *sshtr.Conn {
	t.Helper()
	c, err := sshtr.Dial(context.Background(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	return c
}

func run(t *testing.T, c *sshtr.Conn, cmd, stdin string) (string, string, int) {
	t.Helper()
	var out, errb bytes.Buffer
	var in *strings.Reader
	if stdin != "" {
		in = strings.NewReader(stdin)
	}
	var code int
	var err error
	if in == nil {
		code, err = c.Run(context.Background(), cmd, nil, &out, &errb)
	} else {
		code, err = c.Run(context.Background(), cmd, in, &out, &errb)
	}
	if err != nil {
		t.Fatal(err)
	}
	return out.String(), errb.String(), code
}
