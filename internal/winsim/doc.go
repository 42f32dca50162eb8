// Package winsim is a SIMULATOR of a Windows host for tests: a WS-Management server (SOAP 1.2
// over HTTP, the text-based command shell resource windows/shell/cmd with Create, Command, Send,
// Receive, Signal and Delete) in front of an in-memory model of the parts of Windows accessctl
// manages — local users with SIDs, the Administrators (S-1-5-32-544) and Remote Desktop Users
// (S-1-5-32-555) groups under localised names, authorized_keys files with ACL flags, and
// C:\ProgramData\accessctl\state.json.
//
// It is test infrastructure, not a stage of accessctl, and it is NOT Windows: it runs no
// PowerShell. It recognises the command line (accessctl's bootstrap, -EncodedCommand) and the
// script on stdin (the embedded READ or APPLY script, or the privileged no-op) and answers with
// the JSON contract those scripts implement, computed from the model. So it proves the transport
// (masterzen/winrm over real HTTP), the framing and the Go side of the contract; it proves
// nothing about what the PowerShell scripts do on a real host (see docs/windows.md).
//
// Fault injection: an orphaned SID in a group (READ then reports members through the WMI
// fallback, as the script does when Get-LocalGroupMember throws), and a change that fails (APPLY
// then rolls back what it did, in reverse order, as the script does).
package winsim
