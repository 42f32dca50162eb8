# accessctl READ script for Windows hosts. Windows PowerShell 5.1 compatible; it changes nothing.
#
# Input:  $AccessctlInput, JSON {"users": ["alice", ...]}: the accounts whose per-user
#         authorized_keys file is read (names were validated by accessctl and are checked again).
# Output: one framed JSON document on stdout:
#           @@accessctl-windows-read 1
#           <base64 of the UTF-8 JSON>
#           @@end
#         base64, so no console code page, stray pipeline output or file content can corrupt it.
# Groups are addressed by SID only (their names are localised: "Administratoren", ...).
# Effective access: the script reports raw facts, accessctl judges them (hoststate, Go):
# sshd_config whole (which key file sshd reads for whom), fDenyTSConnections (the Terminal
# Server value and its Group Policy override) and the user rights as `secedit /export` writes
# them (SeRemoteInteractiveLogonRight, SeDenyRemoteInteractiveLogonRight, ...).
Set-StrictMode -Version 2
$ErrorActionPreference = 'Stop'
$ProgressPreference = 'SilentlyContinue'

$req = $AccessctlInput | ConvertFrom-Json
$nameRE = '^[a-z_][a-z0-9_-]{0,19}$'
$wanted = @()
foreach ($n in @($req.users)) {
    if ([string]$n -cnotmatch $nameRE) { throw "invalid user name in request" }
    $wanted += [string]$n
}

$adminsSid = 'S-1-5-32-544'
$rdpSid = 'S-1-5-32-555'
$systemSid = 'S-1-5-18'

function Get-ProfilePath([string]$sid) {
    $key = 'HKLM:\SOFTWARE\Microsoft\Windows NT\CurrentVersion\ProfileList\' + $sid
    $p = Get-ItemProperty -LiteralPath $key -Name ProfileImagePath -ErrorAction SilentlyContinue
    if ($null -eq $p) { return '' }
    return [Environment]::ExpandEnvironmentVariables([string]$p.ProfileImagePath)
}

# Read-KeyFile reports a key file and whether its ACL is what OpenSSH for Windows requires:
# inheritance removed, owner and every access rule among $allowed (SIDs), no Deny rules.
function Read-KeyFile([string]$path, [string[]]$allowed) {
    $r = [ordered]@{ path = $path; kind = 'absent'; content = ''; owner = ''; acl = @(); aclOk = $false }
    if ($path -eq '') { $r.kind = 'noprofile'; return $r }
    $item = Get-Item -LiteralPath $path -Force -ErrorAction SilentlyContinue
    if ($null -eq $item) { return $r }
    if ($item.Attributes -band [IO.FileAttributes]::ReparsePoint) { $r.kind = 'symlink'; return $r }
    if ($item.PSIsContainer) { $r.kind = 'other'; return $r }
    $r.kind = 'file'
    $r.content = [IO.File]::ReadAllText($path, [Text.Encoding]::UTF8)
    $acl = Get-Acl -LiteralPath $path
    $r.owner = $acl.GetOwner([Security.Principal.SecurityIdentifier]).Value
    $ok = $acl.AreAccessRulesProtected -and ($allowed -contains $r.owner)
    $entries = @()
    foreach ($rule in $acl.GetAccessRules($true, $true, [Security.Principal.SecurityIdentifier])) {
        $sid = $rule.IdentityReference.Value
        $entries += ('{0}:{1}:{2}' -f $sid, $rule.AccessControlType, $rule.FileSystemRights)
        if ($rule.AccessControlType -ne 'Allow' -or -not ($allowed -contains $sid) -or $rule.IsInherited) { $ok = $false }
    }
    $r.acl = $entries
    $r.aclOk = [bool]$ok
    return $r
}

# Get-Members lists a group's members by SID. Get-LocalGroupMember throws "Failed to compare two
# elements in the array" when the group holds an orphaned SID; then WMI answers instead.
function Get-Members([string]$groupSid) {
    $g = Get-LocalGroup -SID $groupSid
    $r = [ordered]@{ sid = $groupSid; name = [string]$g.Name; via = 'cmdlet'; cmdletError = ''; members = @() }
    try {
        foreach ($m in @(Get-LocalGroupMember -SID $groupSid)) {
            $r.members += [ordered]@{ sid = $m.SID.Value; name = [string]$m.Name; class = [string]$m.ObjectClass; source = [string]$m.PrincipalSource }
        }
    } catch {
        $r.via = 'wmi'
        $r.cmdletError = $_.Exception.Message
        $r.members = @()
        $wg = Get-CimInstance -ClassName Win32_Group -Filter ("LocalAccount=TRUE AND SID='" + $groupSid + "'")
        foreach ($m in @(Get-CimAssociatedInstance -InputObject $wg -Association Win32_GroupUser)) {
            $r.members += [ordered]@{ sid = [string]$m.SID; name = ([string]$m.Domain + '\' + [string]$m.Name); class = [string]$m.CimClass.CimClassName; source = '' }
        }
    }
    return $r
}

$me = [Security.Principal.WindowsIdentity]::GetCurrent()
$principal = New-Object Security.Principal.WindowsPrincipal($me)
$out = [ordered]@{
    formatVersion = '1'
    computer      = [string]$env:COMPUTERNAME
    psVersion     = $PSVersionTable.PSVersion.ToString()
    login         = [ordered]@{ name = $me.Name; sid = $me.User.Value; admin = $principal.IsInRole([Security.Principal.WindowsBuiltInRole]::Administrator) }
    users         = @()
    groups        = @()
    adminKeys     = $null
    userKeys      = [ordered]@{}
    state         = $null
    sshdConfig    = $null
    rdp           = $null
}

$byName = @{}
foreach ($u in @(Get-LocalUser)) {
    $sid = $u.SID.Value
    $byName[$u.Name.ToLowerInvariant()] = $sid
    $out.users += [ordered]@{
        name        = [string]$u.Name
        sid         = $sid
        enabled     = [bool]$u.Enabled
        fullName    = [string]$u.FullName
        description = [string]$u.Description
        profile     = (Get-ProfilePath $sid)
    }
}

$out.groups = @((Get-Members $adminsSid), (Get-Members $rdpSid))

$sshDir = Join-Path $env:ProgramData 'ssh'
$out.adminKeys = Read-KeyFile (Join-Path $sshDir 'administrators_authorized_keys') @($adminsSid, $systemSid)
foreach ($n in $wanted) {
    if (-not $byName.ContainsKey($n)) { continue }
    $sid = $byName[$n]
    $prof = Get-ProfilePath $sid
    $path = ''
    if ($prof -ne '') { $path = Join-Path $prof '.ssh\authorized_keys' }
    $out.userKeys[$n] = Read-KeyFile $path @($sid, $adminsSid, $systemSid)
}

$sshdConfigPath = Join-Path $sshDir 'sshd_config'
$sc = [ordered]@{ path = $sshdConfigPath; kind = 'absent'; content = '' }
if (Test-Path -LiteralPath $sshdConfigPath -PathType Leaf) {
    $sc.kind = 'file'
    $sc.content = [IO.File]::ReadAllText($sshdConfigPath, [Text.Encoding]::UTF8)
}
$out.sshdConfig = $sc

# Get-Dword returns a registry value as an integer, or $null when the value does not exist.
function Get-Dword([string]$key, [string]$name) {
    $p = Get-ItemProperty -LiteralPath $key -Name $name -ErrorAction SilentlyContinue
    if ($null -eq $p) { return $null }
    return [int]($p.$name)
}

$rdp = [ordered]@{
    fDenyTSConnections       = (Get-Dword 'HKLM:\SYSTEM\CurrentControlSet\Control\Terminal Server' 'fDenyTSConnections')
    policyFDenyTSConnections = (Get-Dword 'HKLM:\SOFTWARE\Policies\Microsoft\Windows NT\Terminal Services' 'fDenyTSConnections')
    userRights               = ''
    rightsError              = ''
}
# secedit writes the user rights as an INF file in UTF-16; the file is the caller's own temporary
# file and is removed whatever happens.
$cfg = Join-Path ([IO.Path]::GetTempPath()) ('accessctl-' + [guid]::NewGuid().ToString('N') + '.inf')
try {
    $o = & secedit.exe /export /areas USER_RIGHTS /cfg $cfg /quiet 2>&1
    if ($LASTEXITCODE -ne 0 -or -not (Test-Path -LiteralPath $cfg -PathType Leaf)) {
        $rdp.rightsError = 'secedit /export exited with status ' + $LASTEXITCODE + ': ' + (($o | Out-String).Trim())
    } else {
        $rdp.userRights = [IO.File]::ReadAllText($cfg, [Text.Encoding]::Unicode)
    }
} catch {
    $rdp.rightsError = 'secedit /export: ' + $_.Exception.Message
} finally {
    Remove-Item -LiteralPath $cfg -Force -ErrorAction SilentlyContinue
}
$out.rdp = $rdp

$statePath = Join-Path $env:ProgramData 'accessctl\state.json'
$st = [ordered]@{ path = $statePath; kind = 'absent'; content = '' }
if (Test-Path -LiteralPath $statePath -PathType Leaf) {
    $st.kind = 'file'
    $st.content = [IO.File]::ReadAllText($statePath, [Text.Encoding]::UTF8)
}
$out.state = $st

$json = ConvertTo-Json -InputObject $out -Depth 8 -Compress
$b64 = [Convert]::ToBase64String([Text.Encoding]::UTF8.GetBytes($json))
[Console]::Out.Write("@@accessctl-windows-read 1`n" + $b64 + "`n@@end`n")
exit 0
