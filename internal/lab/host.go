package lab

import (
	"bufio"
	"bytes"
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"encoding/pem"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"golang.org/x/crypto/ssh"
)

// Host is one running (or stopped) lab host.
type Host struct {
	// Name is the spec's name.
	Name string
	// Addr is the host's loopback address, 127.0.X.N.
	Addr string
	// Port is always 22.
	Port int
	// Variant is the spec's variant.
	Variant Variant
	// AuthLog is the stamp style of the host's /var/log/auth.log (see HostSpec).
	AuthLog AuthLogFormat

	lab *Lab
	dir string // holds etc, home, root, run, var/lib and sshd.log

	mu    sync.Mutex
	pid   int
	mntNS string // readlink of /proc/PID/ns/mnt, to find every process of this host
	// nsFile holds the namespace open until the host is stopped: its inode number (mntNS) is
	// not reused by a namespace another lab (another test binary) creates meanwhile, whose
	// processes stopAll would otherwise kill.
	nsFile  *os.File
	exited  chan struct{}
	hostKey ssh.PublicKey
}

// Result is what a command run in a lab host returned.
type Result struct {
	Stdout, Stderr string
	Code           int
}

// PID is the pid of the host's sshd listener, 0 while the host is stopped.
func (h *Host) PID() int {
	h.mu.Lock()
	defer h.mu.Unlock()
	return h.pid
}

// HostKey is the host's current ed25519 host key.
func (h *Host) HostKey() ssh.PublicKey {
	h.mu.Lock()
	defer h.mu.Unlock()
	return h.hostKey
}

// HostPort is "Addr:22".
func (h *Host) HostPort() string { return net.JoinHostPort(h.Addr, strconv.Itoa(h.Port)) }

// Lab is the lab the host belongs to.
func (h *Host) Lab() *Lab { return h.lab }

// Dir is where the host's private /home, /root, /run and /var/lib live on this machine, and
// its /etc: a full copy, or (where overlayfs works, the usual case) only the files this host
// changed. Read and write a running host's files with ReadFile, WriteFile and Exec instead.
func (h *Host) Dir() string { return h.dir }

// template is the tree this host starts from.
func (h *Host) template() string {
	if withHuman(h.Variant) {
		return h.lab.templates["human"]
	}
	return h.lab.templates["base"]
}

// setup gives the host its files: its template's (an overlay or a copy of etc, copies of the
// small trees), then the variant's sshd files and its own host key. In overlay mode h.dir/etc is
// the overlay's upper directory: it holds only what this host changed.
func (h *Host) setup(ctx context.Context) error {
	tmpl := h.template()
	if err := os.MkdirAll(h.dir, 0o755); err != nil {
		return err
	}
	trees := []string{"home", "root", "run", "var"}
	if !h.lab.overlay {
		trees = append(trees, "etc")
	} else if err := os.MkdirAll(filepath.Join(h.dir, "etc", "ssh", "sshd_config.d"), 0o755); err != nil {
		return err
	}
	args := []string{"-a"}
	for _, d := range trees {
		args = append(args, filepath.Join(tmpl, d))
	}
	if out, err := exec.CommandContext(ctx, "cp", append(args, h.dir+"/")...).CombinedOutput(); err != nil {
		return fmt.Errorf("copy %s: %v: %s", tmpl, err, out)
	}
	etc := filepath.Join(h.dir, "etc")
	cfg := debianSSHDConfig
	switch h.Variant {
	case NoInclude:
		cfg = strings.Replace(cfg, "Include /etc/ssh/sshd_config.d/*.conf\n", "", 1)
	case CloudInit:
		if err := os.WriteFile(filepath.Join(etc, "ssh", "sshd_config.d", "50-cloud-init.conf"),
			[]byte("PasswordAuthentication yes\n"), 0o600); err != nil {
			return err
		}
	}
	// Appended, not prepended: first value wins in sshd_config, and neither keyword is one that
	// accessctl manages, so the variants stay what their names say at the top of the file.
	cfg += fmt.Sprintf("\n# accessctl lab: this host's own address and key\nListenAddress %s\nHostKey /etc/ssh/ssh_host_ed25519_key\n", h.Addr)
	cfg = zooSSHDConfig(h.Variant, cfg)
	if err := os.WriteFile(filepath.Join(etc, "ssh", "sshd_config"), []byte(cfg), 0o644); err != nil {
		return err
	}
	if err := h.zooSetup(ctx); err != nil {
		return err
	}
	if err := h.writeHostKey(); err != nil {
		return err
	}
	return h.writeDropbearKey(ctx)
}

// writeHostKey generates a new ed25519 host key in the host's /etc/ssh. The host must be
// stopped (in overlay mode its upper directory may not change under a mount).
func (h *Host) writeHostKey() error {
	path := filepath.Join(h.dir, "etc", "ssh", "ssh_host_ed25519_key")
	signer, err := GenerateKey(path, "root@"+h.Name)
	if err != nil {
		return err
	}
	h.mu.Lock()
	h.hostKey = signer.PublicKey()
	h.mu.Unlock()
	return nil
}

// nsScript is exec'd by unshare inside the new mount namespace: it mounts the host's directories
// and becomes sshd, so the pid that unshare started is sshd's pid.
const nsScript = `set -e
if [ -n "$LAB_LOWER" ]; then
	mount -t overlay overlay -o "lowerdir=$LAB_LOWER,upperdir=$LAB_DIR/etc,workdir=$LAB_DIR/etc.work" /etc
else
	mount --bind "$LAB_DIR/etc" /etc
fi
mount --bind "$LAB_DIR/home" /home
mount --bind "$LAB_DIR/root" /root
mount --bind "$LAB_DIR/var/lib" /var/lib
mkdir -p "$LAB_DIR/var/log"
mount --bind "$LAB_DIR/var/log" /var/log
mount --bind "$LAB_DIR/run" /run
if [ -d "$LAB_DIR/sbin" ]; then
	mount --bind /usr/sbin "$LAB_DIR/realsbin"
	mount --bind "$LAB_DIR/sbin" /usr/sbin
fi
mkdir -p /run/sshd
chmod 0755 /run/sshd
if [ "${LAB_DAEMON:-}" = dropbear ]; then
	exec /usr/sbin/dropbear -F -E -p "$LAB_ADDR:22" -r /etc/dropbear/lab_ed25519_host_key
fi
exec /usr/sbin/sshd -D -e
`

// Start starts the host's sshd (again, after Stop) and waits until it greets clients.
// The host keeps its files across Stop and Start.
func (h *Host) Start(ctx context.Context) error {
	h.mu.Lock()
	if h.pid != 0 {
		h.mu.Unlock()
		return fmt.Errorf("lab: %s is already running", h.Name)
	}
	h.mu.Unlock()
	cmd := exec.Command("unshare", "-m", "--propagation", "private", "/bin/sh", "-c", nsScript)
	cmd.Env = []string{"LAB_DIR=" + h.dir, "LAB_ADDR=" + h.Addr, "PATH=/usr/sbin:/usr/bin:/sbin:/bin", "LANG=C"}
	if h.Variant == Dropbear {
		cmd.Env = append(cmd.Env, "LAB_DAEMON=dropbear")
	}
	if h.lab.overlay {
		if err := os.MkdirAll(filepath.Join(h.dir, "etc.work"), 0o755); err != nil {
			return err
		}
		cmd.Env = append(cmd.Env, "LAB_LOWER="+filepath.Join(h.template(), "etc"))
	}
	// sshd -e writes its records to stderr; like rsyslog, the lab stamps each one and appends it
	// to the host's own /var/log/auth.log, and keeps the raw lines in sshd.log.
	if err := os.MkdirAll(filepath.Join(h.dir, "var", "log"), 0o755); err != nil {
		return err
	}
	authLog, err := os.OpenFile(filepath.Join(h.dir, "var", "log", "auth.log"), os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o640)
	if err != nil {
		return err
	}
	pr, pw, err := os.Pipe()
	if err != nil {
		authLog.Close()
		return err
	}
	rawLog, err := os.OpenFile(filepath.Join(h.dir, "sshd.log"), os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
	if err != nil {
		authLog.Close()
		pr.Close()
		pw.Close()
		return err
	}
	go h.stampLog(pr, rawLog, authLog)
	cmd.Stdout, cmd.Stderr = pw, pw
	// Pdeathsig: sshd dies with the test binary even when the test is killed before Close.
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL, Setpgid: true}
	err = cmd.Start()
	pw.Close() // sshd holds the write end; the stamper ends when every sshd process has exited
	if err != nil {
		return fmt.Errorf("lab: start %s: %w", h.Name, err)
	}
	exited := make(chan struct{})
	go func() { cmd.Wait(); close(exited) }()
	h.mu.Lock()
	h.pid, h.exited = cmd.Process.Pid, exited
	h.mu.Unlock()

	if err := h.waitReady(ctx, exited); err != nil {
		h.Stop()
		return fmt.Errorf("lab: start %s: %w\n%s", h.Name, err, h.Log())
	}
	nsf, err := os.Open(fmt.Sprintf("/proc/%d/ns/mnt", cmd.Process.Pid))
	if err != nil {
		h.Stop()
		return fmt.Errorf("lab: start %s: %w", h.Name, err)
	}
	ns, err := os.Readlink(fmt.Sprintf("/proc/%d/ns/mnt", cmd.Process.Pid))
	if err != nil {
		nsf.Close()
		h.Stop()
		return fmt.Errorf("lab: start %s: %w", h.Name, err)
	}
	h.mu.Lock()
	h.mntNS, h.nsFile = ns, nsf
	h.mu.Unlock()
	return nil
}

// stampLog copies sshd's stderr to sshd.log as it is, and to auth.log one record per line with a
// syslog stamp, host name, and program, as rsyslog writes them (traditional or RFC 3339).
func (h *Host) stampLog(r io.ReadCloser, raw, auth *os.File) {
	defer r.Close()
	defer raw.Close()
	defer auth.Close()
	pid := 0
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 64<<10), 1<<20)
	for sc.Scan() {
		line := sc.Text()
		raw.WriteString(line + "\n")
		if pid == 0 {
			pid = h.PID()
		}
		now := time.Now()
		stamp := now.Format(time.Stamp)
		if h.AuthLog == AuthLogRFC3339 {
			stamp = now.Format("2006-01-02T15:04:05.000000-07:00")
		}
		fmt.Fprintf(auth, "%s %s sshd[%d]: %s\n", stamp, h.Name, pid, strings.TrimRight(line, "\r"))
	}
}

// waitReady waits until the host's sshd sends its SSH banner.
func (h *Host) waitReady(ctx context.Context, exited <-chan struct{}) error {
	ctx, cancel := context.WithTimeout(ctx, 20*time.Second)
	defer cancel()
	for {
		select {
		case <-exited:
			return errors.New("sshd exited")
		case <-ctx.Done():
			return fmt.Errorf("sshd not ready: %w", ctx.Err())
		default:
		}
		if c, err := net.DialTimeout("tcp", h.HostPort(), time.Second); err == nil {
			c.SetDeadline(time.Now().Add(2 * time.Second))
			buf := make([]byte, 8)
			_, err := io.ReadFull(c, buf)
			c.Close()
			if err == nil && bytes.HasPrefix(buf, []byte("SSH-")) {
				return nil
			}
		}
		time.Sleep(15 * time.Millisecond)
	}
}

// Log is what the host's sshd wrote to stderr (every start appends).
func (h *Host) Log() string {
	b, _ := os.ReadFile(filepath.Join(h.dir, "sshd.log"))
	return string(b)
}

// Stop takes the host down: it kills sshd and every other process in the host's mount
// namespace (open sessions die as on a real power-off), by pid, and waits until they are gone.
func (h *Host) Stop() error {
	return stopAll([]*Host{h})
}

// stopAll stops hosts together: one scan of /proc finds every process of all of them.
func stopAll(hosts []*Host) error {
	type down struct {
		h      *Host
		pid    int
		exited chan struct{}
	}
	var downs []down
	nss := map[string]bool{}
	var pins []*os.File
	defer func() {
		for _, f := range pins {
			f.Close()
		}
	}()
	for _, h := range hosts {
		h.mu.Lock()
		pid, ns, exited := h.pid, h.mntNS, h.exited
		if h.nsFile != nil {
			pins = append(pins, h.nsFile)
		}
		h.pid, h.mntNS, h.nsFile = 0, "", nil
		h.mu.Unlock()
		if pid == 0 {
			continue
		}
		syscall.Kill(pid, syscall.SIGKILL)
		downs = append(downs, down{h, pid, exited})
		if ns != "" {
			nss[ns] = true
		}
	}
	for _, p := range pidsInNS(nss) {
		syscall.Kill(p, syscall.SIGKILL)
	}
	var errs []error
	for _, d := range downs {
		select {
		case <-d.exited:
		case <-time.After(10 * time.Second):
			errs = append(errs, fmt.Errorf("lab: %s: sshd (pid %d) did not exit", d.h.Name, d.pid))
		}
	}
	// The sessions are not our children: wait until they are gone, so nothing strays.
	deadline := time.Now().Add(5 * time.Second)
	for len(nss) > 0 {
		left := pidsInNS(nss)
		if len(left) == 0 {
			break
		}
		if time.Now().After(deadline) {
			errs = append(errs, fmt.Errorf("lab: processes %v survived SIGKILL", left))
			break
		}
		for _, p := range left {
			syscall.Kill(p, syscall.SIGKILL)
		}
		time.Sleep(10 * time.Millisecond)
	}
	return errors.Join(errs...)
}

// pidsInNS lists the processes whose mount namespace is one of nss.
func pidsInNS(nss map[string]bool) []int {
	if len(nss) == 0 {
		return nil
	}
	ents, _ := os.ReadDir("/proc")
	var pids []int
	for _, e := range ents {
		pid, err := strconv.Atoi(e.Name())
		if err != nil {
			continue
		}
		if l, err := os.Readlink("/proc/" + e.Name() + "/ns/mnt"); err == nil && nss[l] {
			pids = append(pids, pid)
		}
	}
	return pids
}

// Pause stops the sshd listener with SIGSTOP: the kernel still accepts TCP connections, but no
// SSH banner comes, like a hung host. Resume undoes it.
func (h *Host) Pause() error { return h.signal(syscall.SIGSTOP) }

// Resume continues a paused sshd.
func (h *Host) Resume() error { return h.signal(syscall.SIGCONT) }

func (h *Host) signal(sig syscall.Signal) error {
	pid := h.PID()
	if pid == 0 {
		return fmt.Errorf("lab: %s is not running", h.Name)
	}
	return syscall.Kill(pid, sig)
}

// RegenerateHostKey gives the host a new host key and restarts it (sessions end). The lab's
// KnownHostsFile keeps the old key, so clients see a changed host key; WriteKnownHosts trusts the
// new one.
func (h *Host) RegenerateHostKey(ctx context.Context) error {
	running := h.PID() != 0
	if err := h.Stop(); err != nil {
		return err
	}
	if err := h.writeHostKey(); err != nil {
		return err
	}
	if err := h.writeDropbearKey(ctx); err != nil {
		return err
	}
	if running {
		return h.Start(ctx)
	}
	return nil
}

// Exec runs a /bin/sh script as root inside the host (`nsenter -t PID -m`), with stdin (may be
// nil). err is non-nil only when the script could not be run; its exit code is in Result.Code.
func (h *Host) Exec(ctx context.Context, script string, stdin io.Reader) (Result, error) {
	pid := h.PID()
	if pid == 0 {
		return Result{}, fmt.Errorf("lab: %s is not running", h.Name)
	}
	cmd := exec.CommandContext(ctx, "nsenter", "-t", strconv.Itoa(pid), "-m", "--", "/bin/sh", "-c", script)
	cmd.Env = []string{"PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin", "HOME=/root", "LANG=C"}
	cmd.Dir = "/"
	return run(cmd, stdin)
}

// MustExec runs a script like Exec and fails the test unless it exits 0; it returns stdout.
func (h *Host) MustExec(t testing.TB, script string) string {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	r, err := h.Exec(ctx, script, nil)
	if err != nil {
		t.Fatalf("%s: %v", h.Name, err)
	}
	if r.Code != 0 {
		t.Fatalf("%s: script exited %d\nscript:\n%s\nstdout:\n%s\nstderr:\n%s", h.Name, r.Code, script, r.Stdout, r.Stderr)
	}
	return r.Stdout
}

// ReadFile reads a file as the running host sees it (through /proc/PID/root, no process started).
func (h *Host) ReadFile(path string) ([]byte, error) {
	p, err := h.procPath(path)
	if err != nil {
		return nil, err
	}
	return os.ReadFile(p)
}

// WriteFile writes a file inside the running host (for drift tests); it keeps an existing file's
// owner, and creates new files owned by root.
func (h *Host) WriteFile(path string, data []byte, perm os.FileMode) error {
	p, err := h.procPath(path)
	if err != nil {
		return err
	}
	if err := os.WriteFile(p, data, perm); err != nil {
		return err
	}
	return os.Chmod(p, perm)
}

func (h *Host) procPath(path string) (string, error) {
	pid := h.PID()
	if pid == 0 {
		return "", fmt.Errorf("lab: %s is not running", h.Name)
	}
	if !filepath.IsAbs(path) {
		return "", fmt.Errorf("lab: %q is not an absolute path", path)
	}
	return fmt.Sprintf("/proc/%d/root%s", pid, filepath.Clean(path)), nil
}

// SSH logs in to h with the real OpenSSH client as user with only keyFile (no agent, no
// password, host key checked against the lab's known_hosts) and runs cmd. Code 255 means ssh
// itself failed, e.g. the key was refused. err is non-nil only when ssh could not be run.
func SSH(ctx context.Context, h *Host, user, keyFile, cmd string) (Result, error) {
	c := exec.CommandContext(ctx, "ssh",
		"-F", "/dev/null",
		"-i", keyFile,
		"-p", strconv.Itoa(h.Port),
		"-o", "IdentitiesOnly=yes",
		"-o", "IdentityAgent=none",
		"-o", "BatchMode=yes",
		"-o", "StrictHostKeyChecking=yes",
		"-o", "UserKnownHostsFile="+h.lab.KnownHostsFile,
		"-o", "GlobalKnownHostsFile=/dev/null",
		"-o", "ConnectTimeout=10",
		"-o", "LogLevel=ERROR",
		"-l", user,
		"--", h.Addr, cmd)
	c.Env = []string{"PATH=/usr/bin:/bin", "HOME=" + h.lab.Dir, "LANG=C"}
	return run(c, nil)
}

func run(cmd *exec.Cmd, stdin io.Reader) (Result, error) {
	var stdout, stderr bytes.Buffer
	cmd.Stdin, cmd.Stdout, cmd.Stderr = stdin, &stdout, &stderr
	err := cmd.Run()
	r := Result{Stdout: stdout.String(), Stderr: stderr.String()}
	var ee *exec.ExitError
	if errors.As(err, &ee) && ee.Exited() {
		r.Code = ee.ExitCode()
		return r, nil
	}
	if err != nil {
		return r, fmt.Errorf("%s: %w", cmd.Args[0], err)
	}
	return r, nil
}

// GenerateKey writes a new ed25519 key pair: the OpenSSH private key at path (0600) and the
// public key line at path+".pub". It returns the key as a signer.
func GenerateKey(path, comment string) (ssh.Signer, error) {
	pub, priv, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		return nil, err
	}
	block, err := ssh.MarshalPrivateKey(priv, comment)
	if err != nil {
		return nil, err
	}
	if err := os.WriteFile(path, pem.EncodeToMemory(block), 0o600); err != nil {
		return nil, err
	}
	if err := os.Chmod(path, 0o600); err != nil {
		return nil, err
	}
	sshPub, err := ssh.NewPublicKey(pub)
	if err != nil {
		return nil, err
	}
	line := strings.TrimSpace(string(ssh.MarshalAuthorizedKey(sshPub))) + " " + comment + "\n"
	if err := os.WriteFile(path+".pub", []byte(line), 0o644); err != nil {
		return nil, err
	}
	return ssh.NewSignerFromKey(priv)
}
