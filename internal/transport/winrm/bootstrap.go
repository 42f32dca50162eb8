package winrm

import (
	"bufio"
	"context"
	"encoding/base64"
	"fmt"
	"io"
	"strings"
	"unicode/utf16"

	"github.com/accessctl/accessctl/internal/transport"
)

// bootstrap is the whole PowerShell program that appears on the command line. It reads stdin to
// the end: the first line is the script (base64 of UTF-8), the rest is the script's input,
// available to it as $AccessctlInput. The script runs dot-sourced at the top level, so its
// `exit N` is the process's exit code.
const bootstrap = `$ErrorActionPreference='Stop';$ProgressPreference='SilentlyContinue';` +
	`$s=[Console]::OpenStandardInput();$m=New-Object IO.MemoryStream;$s.CopyTo($m);$b=$m.ToArray();$m=$null;` +
	`$i=[Array]::IndexOf($b,[byte]10);if($i -lt 0){[Console]::Error.WriteLine('accessctl: bootstrap: no script on stdin');exit 97};` +
	`$AccessctlScript=[Text.Encoding]::UTF8.GetString([Convert]::FromBase64String([Text.Encoding]::ASCII.GetString($b,0,$i).Trim()));` +
	`$AccessctlInput=[Text.Encoding]::UTF8.GetString($b,$i+1,$b.Length-$i-1);$b=$null;` +
	`try{. ([ScriptBlock]::Create($AccessctlScript));exit 0}catch{[Console]::Error.WriteLine('accessctl: '+$_.Exception.Message);exit 98}`

// Bootstrap is the PowerShell program on the command line (for tests and the simulator).
func Bootstrap() string { return bootstrap }

// CommandLine is the Windows command line that runs the bootstrap with Windows PowerShell 5.1.
// -EncodedCommand takes base64 of UTF-16LE; the bootstrap is fixed, so this line is too.
func CommandLine() string {
	return "powershell.exe -NoLogo -NoProfile -NonInteractive -ExecutionPolicy Bypass -EncodedCommand " + EncodeCommand(bootstrap)
}

// EncodeCommand encodes a PowerShell program for -EncodedCommand.
func EncodeCommand(ps string) string {
	u := utf16.Encode([]rune(ps))
	b := make([]byte, 2*len(u))
	for i, c := range u {
		b[2*i] = byte(c)
		b[2*i+1] = byte(c >> 8)
	}
	return base64.StdEncoding.EncodeToString(b)
}

// DecodeCommand reverses EncodeCommand.
func DecodeCommand(enc string) (string, error) {
	b, err := base64.StdEncoding.DecodeString(enc)
	if err != nil {
		return "", err
	}
	if len(b)%2 != 0 {
		return "", fmt.Errorf("odd UTF-16 length")
	}
	u := make([]uint16, len(b)/2)
	for i := range u {
		u[i] = uint16(b[2*i]) | uint16(b[2*i+1])<<8
	}
	return string(utf16.Decode(u)), nil
}

// StdinFor is what the bootstrap reads: the script as one base64 line, then the data.
func StdinFor(script string, data io.Reader) io.Reader {
	head := strings.NewReader(base64.StdEncoding.EncodeToString([]byte(script)) + "\n")
	if data == nil {
		return head
	}
	return io.MultiReader(head, data)
}

// SplitStdin reverses StdinFor (for the simulator): the script and the data.
func SplitStdin(in []byte) (script string, data []byte, err error) {
	r := bufio.NewReader(strings.NewReader(string(in)))
	line, err := r.ReadString('\n')
	if err != nil {
		return "", nil, fmt.Errorf("no script line on stdin")
	}
	s, err := base64.StdEncoding.DecodeString(strings.TrimSpace(line))
	if err != nil {
		return "", nil, fmt.Errorf("script line: %w", err)
	}
	return string(s), in[len(line):], nil
}

// PowerShell adapts a Conn that runs Windows command lines — the SSH transport connected to
// OpenSSH for Windows, whose default shell is cmd.exe or PowerShell — into a Conn whose Run takes
// a PowerShell script, like the WinRM Conn. The command line is CommandLine(): the script and its
// data travel on the SSH session's stdin.
//
// Why not `powershell -NoProfile -NonInteractive -Command -`: with -Command -, PowerShell
// executes stdin line by line as if typed (multi-line blocks need a blank line after them), so the
// data cannot follow the script on the same stream. The bootstrap reads stdin as bytes instead.
func PowerShell(c transport.Conn) transport.Conn { return psConn{c} }

type psConn struct{ transport.Conn }

func (p psConn) Run(ctx context.Context, script string, stdin io.Reader, stdout, stderr io.Writer) (int, error) {
	return p.Conn.Run(ctx, CommandLine(), StdinFor(script, stdin), stdout, stderr)
}
