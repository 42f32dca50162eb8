package winrm

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"strings"
	"sync"
	"time"

	"github.com/masterzen/winrm"

	"github.com/accessctl/accessctl/internal/transport"
)

// Defaults.
const (
	DefaultHTTPSPort      = 5986
	DefaultHTTPPort       = 5985
	DefaultConnectTimeout = 10 * time.Second
	// DefaultOperationTimeout is the WS-Management OperationTimeout of each request: how long the
	// host may hold a Receive before answering with no output.
	DefaultOperationTimeout = 60 * time.Second
	// stdinChunk bounds the stdin bytes per Send request. The library's own writer sends up to
	// EnvelopeSize-1000 bytes, which base64 inflates past the envelope size; 64 KiB (88 KB
	// encoded) stays well below the 150 KB of older hosts' MaxEnvelopeSizekb.
	stdinChunk = 64 << 10
)

// Auth methods.
const (
	AuthNTLM  = "ntlm"
	AuthBasic = "basic"
)

// Config says how to reach one Windows host over WinRM.
type Config struct {
	// Name is the host's name in messages (the manifest name); default Addr.
	Name string
	// Addr is the host name or IP address.
	Addr string
	// Port defaults to 5986 (HTTPS) or 5985 (HTTP).
	Port int
	// HTTP selects plain HTTP. Without message encryption — which the WinRM client library in
	// use does not offer — everything, the change set with passwords included, crosses the
	// network in the clear; the CLI sets it only from a flag whose name says it is insecure.
	HTTP bool
	// CACertFile is a PEM file of the CAs that sign the hosts' WinRM certificates; default the
	// system roots.
	CACertFile string
	// CACert is PEM data used instead of CACertFile (tests).
	CACert []byte
	// TLSServerName overrides the name checked in the host's certificate.
	TLSServerName string
	// InsecureSkipVerify accepts any certificate. Only a flag whose name says it is insecure sets it.
	InsecureSkipVerify bool
	// Auth is AuthNTLM (default) or AuthBasic. Basic sends the password with every request; the
	// host's WinRM service must allow it (Auth/Basic=true) and, over HTTP, AllowUnencrypted.
	Auth string
	// User and Password are the login; see Credentials.
	User     string
	Password string
	// ConnectTimeout bounds the TCP connect (default DefaultConnectTimeout).
	ConnectTimeout time.Duration
	// OperationTimeout is the WS-Management OperationTimeout (default DefaultOperationTimeout).
	OperationTimeout time.Duration
}

func (c Config) name() string {
	if c.Name != "" {
		return c.Name
	}
	return c.Addr
}

func (c Config) port() int {
	switch {
	case c.Port != 0:
		return c.Port
	case c.HTTP:
		return DefaultHTTPPort
	default:
		return DefaultHTTPSPort
	}
}

// Conn is a WinRM client for one host. It implements transport.Conn; every Run opens its own
// remote shell, so concurrent Runs are allowed.
type Conn struct {
	name   string
	client *winrm.Client
}

var _ transport.Conn = (*Conn)(nil)

// Dial checks cfg and proves the host answers and accepts the login by opening and closing a
// remote shell. Errors name the host and never a credential.
func Dial(ctx context.Context, cfg Config) (*Conn, error) {
	c, err := New(cfg)
	if err != nil {
		return nil, err
	}
	if err := c.ping(ctx); err != nil {
		return nil, err
	}
	return c, nil
}

// New builds the client without contacting the host.
func New(cfg Config) (*Conn, error) {
	if cfg.Addr == "" {
		return nil, fmt.Errorf("winrm %s: no address", cfg.name())
	}
	if cfg.User == "" {
		return nil, fmt.Errorf("winrm %s: no login user", cfg.name())
	}
	caCert := cfg.CACert
	if caCert == nil && cfg.CACertFile != "" {
		b, err := os.ReadFile(cfg.CACertFile)
		if err != nil {
			return nil, fmt.Errorf("winrm %s: CA file: %w", cfg.name(), err)
		}
		caCert = b
	}
	if cfg.HTTP && (caCert != nil || cfg.InsecureSkipVerify) {
		return nil, fmt.Errorf("winrm %s: CA file or certificate options given for plain HTTP", cfg.name())
	}
	connect := cfg.ConnectTimeout
	if connect <= 0 {
		connect = DefaultConnectTimeout
	}
	op := cfg.OperationTimeout
	if op <= 0 {
		op = DefaultOperationTimeout
	}
	ep := winrm.NewEndpoint(cfg.Addr, cfg.port(), !cfg.HTTP, cfg.InsecureSkipVerify, caCert, nil, nil, op+30*time.Second)
	ep.TLSServerName = cfg.TLSServerName
	params := winrm.NewParameters(fmt.Sprintf("PT%dS", int(op/time.Second)), "en-US", 153600)
	dialer := &net.Dialer{Timeout: connect, KeepAlive: 30 * time.Second}
	params.Dial = dialer.Dial
	switch strings.ToLower(cfg.Auth) {
	case "", AuthNTLM:
		params.TransportDecorator = func() winrm.Transporter { return winrm.NewClientNTLMWithDial(dialer.Dial) }
	case AuthBasic:
		// the library's default transport: Basic
	default:
		return nil, fmt.Errorf("winrm %s: unknown auth %q (want ntlm or basic)", cfg.name(), cfg.Auth)
	}
	client, err := winrm.NewClientWithParameters(ep, cfg.User, cfg.Password, params)
	if err != nil {
		return nil, fmt.Errorf("winrm %s: %w", cfg.name(), err)
	}
	return &Conn{name: cfg.name(), client: client}, nil
}

func (c *Conn) ping(ctx context.Context) error {
	done := make(chan error, 1)
	go func() {
		sh, err := c.client.CreateShell()
		if err == nil {
			err = sh.Close()
		}
		done <- err
	}()
	select {
	case err := <-done:
		if err != nil {
			return fmt.Errorf("winrm %s: open shell: %w", c.name, cleanErr(err))
		}
		return nil
	case <-ctx.Done():
		return fmt.Errorf("winrm %s: open shell: %w", c.name, ctx.Err())
	}
}

// Run runs script with Windows PowerShell 5.1 on the host; stdin (may be nil) is the script's
// input, $AccessctlInput. It returns the script's exit code. A cancelled ctx terminates the remote
// command (WS-Management Signal) and returns ctx.Err(); a request already in flight ends at the
// latest with the operation timeout.
func (c *Conn) Run(ctx context.Context, script string, stdin io.Reader, stdout, stderr io.Writer) (int, error) {
	if err := ctx.Err(); err != nil {
		return -1, err
	}
	res := make(chan result, 1)
	var cmdMu sync.Mutex
	var cmd *winrm.Command
	go func() {
		sh, err := c.client.CreateShell()
		if err != nil {
			res <- result{-1, fmt.Errorf("open shell: %w", cleanErr(err))}
			return
		}
		r := c.runIn(sh, script, stdin, stdout, stderr, func(cm *winrm.Command) {
			cmdMu.Lock()
			cmd = cm
			cmdMu.Unlock()
		})
		// Delete the shell before answering, so a Run that returned left nothing open.
		_ = sh.Close()
		res <- r
	}()
	select {
	case r := <-res:
		if r.err != nil {
			return r.code, fmt.Errorf("winrm %s: %w", c.name, r.err)
		}
		return r.code, nil
	case <-ctx.Done():
		cmdMu.Lock()
		if cmd != nil {
			_ = cmd.Close() // Signal terminate; the goroutine then ends
		}
		cmdMu.Unlock()
		return -1, fmt.Errorf("winrm %s: %w", c.name, ctx.Err())
	}
}

type result struct {
	code int
	err  error
}

// runIn runs the bootstrap in sh and streams script and stdin to it.
func (c *Conn) runIn(sh *winrm.Shell, script string, stdin io.Reader, stdout, stderr io.Writer, started func(*winrm.Command)) result {
	cm, err := sh.Execute(CommandLine())
	if err != nil {
		return result{-1, fmt.Errorf("start command: %w", cleanErr(err))}
	}
	started(cm)
	var wg sync.WaitGroup
	var inErr, outErr, errErr error
	wg.Add(3)
	go func() {
		defer wg.Done()
		inErr = sendStdin(cm, StdinFor(script, stdin))
	}()
	// The library closes the output pipes with its error when a Receive fails.
	go func() { defer wg.Done(); _, outErr = io.Copy(stdout, cm.Stdout) }()
	go func() { defer wg.Done(); _, errErr = io.Copy(stderr, cm.Stderr) }()
	cm.Wait()
	wg.Wait()
	code := cm.ExitCode()
	_ = cm.Close()
	switch {
	case outErr != nil || errErr != nil:
		return result{-1, fmt.Errorf("read output: %w", cleanErr(errors.Join(outErr, errErr)))}
	case inErr != nil:
		return result{-1, fmt.Errorf("send input: %w", cleanErr(inErr))}
	default:
		return result{code, nil}
	}
}

// sendStdin sends r in chunks; the last Send carries End="true".
func sendStdin(cm *winrm.Command, r io.Reader) error {
	buf := make([]byte, stdinChunk)
	for {
		n, err := io.ReadFull(r, buf)
		if n > 0 {
			if _, werr := cm.Stdin.Write(buf[:n]); werr != nil {
				return werr
			}
		}
		if errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) {
			clear(buf)
			return cm.Stdin.Close()
		}
		if err != nil {
			_ = cm.Stdin.Close()
			return err
		}
	}
}

// cleanErr drops what a library error may quote from the request; none of it holds credentials
// (they travel in headers only), but an HTTP error body can be long: keep its first line.
func cleanErr(err error) error {
	msg := err.Error()
	if i := strings.IndexByte(msg, '\n'); i >= 0 {
		msg = msg[:i]
	}
	if len(msg) > 300 {
		msg = msg[:300] + "..."
	}
	return errors.New(msg)
}

// Close releases nothing: every Run opens and deletes its own shell.
func (c *Conn) Close() error { return nil }
