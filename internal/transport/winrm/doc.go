// Package winrm implements transport.Conn for Windows hosts: over WS-Management (WinRM) with
// github.com/masterzen/winrm, and — through [PowerShell] — over any Conn that runs a Windows
// command line, such as the SSH transport talking to OpenSSH for Windows.
//
// It is a transport stage: it knows how to reach a host and run one PowerShell script with its
// input; it knows nothing of manifests or plans.
//
// Invariants:
//   - Run's cmd is a PowerShell script and stdin its data. Neither reaches a command line: the
//     command line holds only a fixed bootstrap (a few hundred characters, -EncodedCommand) that
//     reads the script and the data from stdin, so large scripts and payloads never hit the
//     Windows command-line limit, and secrets in the data never appear in a process list.
//   - HTTPS (port 5986) with certificate verification is the default; plain HTTP and skipping
//     verification each take an explicit Config field. NTLM is the default authentication,
//     Basic on request.
//   - Credentials come from the environment (see [Credentials]); they are never printed and
//     never part of an error.
//   - Never winrm.DefaultParameters (a package-level pointer that other code may mutate): every
//     client gets its own winrm.NewParameters.
package winrm
