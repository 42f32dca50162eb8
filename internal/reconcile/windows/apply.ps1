# accessctl APPLY script for Windows hosts. Windows PowerShell 5.1 compatible.
#
# Input:  $AccessctlInput, the JSON change set (Go type hoststate.WinChangeSet), read from stdin
#         by the bootstrap. It may carry plaintext passwords: they exist here only, are turned
#         into SecureStrings, and are never printed or put on a command line.
# Output: one framed JSON report (Go type hoststate.WinApplyReport):
#           @@accessctl-windows-apply 1
#           <base64 of the UTF-8 JSON>
#           @@end
# Every change is diffed against the host before it is made ("unchanged" when there is nothing to
# do: adding an existing member would error). On the first failure, the changes already made are
# undone in reverse order and the rest are skipped; what cannot be undone (a removed account keeps
# no SID, an overwritten password is unknown) is reported as notRolledBack.
# Groups are addressed by SID only; key files get the ACLs OpenSSH for Windows requires.
Set-StrictMode -Version 2
$ErrorActionPreference = 'Stop'
$ProgressPreference = 'SilentlyContinue'

$set = $AccessctlInput | ConvertFrom-Json
$AccessctlInput = $null

$adminsSid = 'S-1-5-32-544'
$rdpSid = 'S-1-5-32-555'
$systemSid = 'S-1-5-18'
$nameRE = '^[a-z_][a-z0-9_-]{0,19}$'
$sidRE = '^S-1-5-[0-9]+(-[0-9]+)*$'
$me = [Security.Principal.WindowsIdentity]::GetCurrent().User.Value
$results = New-Object System.Collections.ArrayList
$undo = New-Object System.Collections.ArrayList

function Emit-Report($ok, $rollbackErrors) {
    $rep = [ordered]@{ formatVersion = '1'; ok = [bool]$ok; results = @($results); rollbackErrors = @($rollbackErrors) }
    $json = ConvertTo-Json -InputObject $rep -Depth 6 -Compress
    $b64 = [Convert]::ToBase64String([Text.Encoding]::UTF8.GetBytes($json))
    [Console]::Out.Write("@@accessctl-windows-apply 1`n" + $b64 + "`n@@end`n")
}

function Assert-Name([string]$n) { if ($n -cnotmatch $nameRE) { throw "invalid user name" } }
function Assert-Group([string]$g) { if ($g -ne $adminsSid -and $g -ne $rdpSid) { throw "group $g is not managed" } }

function Get-User([string]$name) { return Get-LocalUser -Name $name -ErrorAction SilentlyContinue }

function Get-MemberSids([string]$groupSid) {
    try {
        return @(Get-LocalGroupMember -SID $groupSid | ForEach-Object { $_.SID.Value })
    } catch {
        # Orphaned SIDs make Get-LocalGroupMember throw; WMI still answers.
        $wg = Get-CimInstance -ClassName Win32_Group -Filter ("LocalAccount=TRUE AND SID='" + $groupSid + "'")
        return @(Get-CimAssociatedInstance -InputObject $wg -Association Win32_GroupUser | ForEach-Object { [string]$_.SID })
    }
}

function New-Secure([string]$plain) {
    $s = New-Object Security.SecureString
    foreach ($ch in $plain.ToCharArray()) { $s.AppendChar($ch) }
    $s.MakeReadOnly()
    return $s
}

function Get-ProfilePath([string]$sid, [string]$name, [bool]$create) {
    $key = 'HKLM:\SOFTWARE\Microsoft\Windows NT\CurrentVersion\ProfileList\' + $sid
    $p = Get-ItemProperty -LiteralPath $key -Name ProfileImagePath -ErrorAction SilentlyContinue
    if ($null -ne $p) { return [Environment]::ExpandEnvironmentVariables([string]$p.ProfileImagePath) }
    if (-not $create) { return '' }
    # A new account has no profile until its first logon, but sshd reads the key file from the
    # profile: create it the way Windows would (userenv!CreateProfile).
    if (-not ('Accessctl.UserEnv' -as [type])) {
        Add-Type -Namespace Accessctl -Name UserEnv -MemberDefinition '[DllImport("userenv.dll", CharSet = CharSet.Unicode)] public static extern int CreateProfile(string pszUserSid, string pszUserName, System.Text.StringBuilder pszProfilePath, uint cchProfilePath);'
    }
    $sb = New-Object Text.StringBuilder(260)
    $hr = [Accessctl.UserEnv]::CreateProfile($sid, $name, $sb, 260)
    if ($hr -ne 0) { throw ('CreateProfile failed: 0x{0:X8}' -f $hr) }
    return $sb.ToString()
}

function Invoke-Icacls([string[]]$a) {
    $o = & icacls.exe @a 2>&1
    if ($LASTEXITCODE -ne 0) { throw ('icacls ' + $a[0] + ' failed: ' + ($o -join ' ')) }
}

# Set-KeyAcl: inheritance removed; full control for Administrators, SYSTEM and (a user's own
# file) the user, who also owns it. By SID: group names are localised.
function Set-KeyAcl([string]$path, [string]$userSid) {
    $a = @($path, '/inheritance:r', '/grant', ('*' + $adminsSid + ':F'), '/grant', ('*' + $systemSid + ':F'))
    $owner = $adminsSid
    if ($userSid -ne '') { $a += @('/grant', ('*' + $userSid + ':F')); $owner = $userSid }
    Invoke-Icacls $a
    Invoke-Icacls @($path, '/setowner', ('*' + $owner))
}

# Write-Atomic: a temporary file in the same directory, flushed to disk, ACL set, then swapped in
# with ReplaceFile (or moved, when there was no file), so sshd sees the old or the new file.
function Write-Atomic([string]$path, [string]$content, [string]$userSid) {
    $dir = Split-Path -Parent $path
    if (-not (Test-Path -LiteralPath $dir -PathType Container)) {
        New-Item -ItemType Directory -Path $dir -Force | Out-Null
        Set-KeyAcl $dir $userSid
    }
    $tmp = Join-Path $dir ('.accessctl-' + [guid]::NewGuid().ToString('N') + '.tmp')
    $bytes = (New-Object Text.UTF8Encoding($false)).GetBytes($content)
    $fs = [IO.File]::Open($tmp, [IO.FileMode]::CreateNew, [IO.FileAccess]::Write, [IO.FileShare]::None)
    try { $fs.Write($bytes, 0, $bytes.Length); $fs.Flush($true) } finally { $fs.Dispose() }
    try {
        Set-KeyAcl $tmp $userSid
        if (Test-Path -LiteralPath $path -PathType Leaf) { [IO.File]::Replace($tmp, $path, $null) } else { [IO.File]::Move($tmp, $path) }
    } catch {
        Remove-Item -LiteralPath $tmp -Force -ErrorAction SilentlyContinue
        throw
    }
    # ReplaceFile keeps the replaced file's security descriptor: set it again on the result.
    Set-KeyAcl $path $userSid
}

function Backup-File([string]$path) {
    if (Test-Path -LiteralPath $path -PathType Leaf) {
        return @{ exists = $true; content = [IO.File]::ReadAllText($path, [Text.Encoding]::UTF8); sddl = (Get-Acl -LiteralPath $path).Sddl }
    }
    return @{ exists = $false }
}

function Restore-File([string]$path, $b, [string]$userSid) {
    if (-not $b.exists) { Remove-Item -LiteralPath $path -Force -ErrorAction SilentlyContinue; return }
    Write-Atomic $path $b.content $userSid
    $acl = Get-Acl -LiteralPath $path
    $acl.SetSecurityDescriptorSddlForm($b.sddl)
    Set-Acl -LiteralPath $path -AclObject $acl
}

function Key-Path($c) {
    if ($c.file -eq 'admin') { return @{ path = (Join-Path $env:ProgramData 'ssh\administrators_authorized_keys'); sid = '' } }
    Assert-Name $c.user
    $u = Get-User $c.user
    if ($null -eq $u) { throw ('no user ' + $c.user) }
    $prof = Get-ProfilePath $u.SID.Value $c.user $true
    return @{ path = (Join-Path $prof '.ssh\authorized_keys'); sid = $u.SID.Value }
}

function Push-Undo([int]$id, [hashtable]$u) { $u.id = $id; [void]$undo.Add($u) }

# Undo-Change reverts one change recorded by Push-Undo.
function Undo-Change($u) {
    switch ($u.kind) {
        'removeUser' { Remove-LocalUser -Name $u.user }
        'setUser' { Set-LocalUser -Name $u.user -FullName $u.fullName -Description $u.description }
        'disableUser' { Disable-LocalUser -Name $u.user }
        'enableUser' { Enable-LocalUser -Name $u.user }
        'removeMember' { Remove-LocalGroupMember -SID $u.group -Member $u.sid }
        'addMember' { Add-LocalGroupMember -SID $u.group -Member $u.sid }
        'restoreFile' { Restore-File $u.path $u.backup $u.sid }
        default { throw ('cannot undo ' + $u.kind) }
    }
}

# Invoke-Change makes one change and returns 'done' or 'unchanged'; it throws on failure.
function Invoke-Change($c) {
    switch ([string]$c.op) {
        'createUser' {
            Assert-Name $c.user
            if ($null -ne (Get-User $c.user)) { return 'unchanged' }
            $p = @{ Name = $c.user; FullName = [string]$c.fullName; Description = [string]$c.description; AccountNeverExpires = $true }
            if ([string]$c.password -ne '') { $p.Password = New-Secure ([string]$c.password); $p.PasswordNeverExpires = $true } else { $p.NoPassword = $true }
            New-LocalUser @p | Out-Null
            if ([bool]$c.disabled) { Disable-LocalUser -Name $c.user }
            Push-Undo $c.id @{ kind = 'removeUser'; user = [string]$c.user }
            return 'done'
        }
        'setUser' {
            Assert-Name $c.user
            $u = Get-User $c.user
            if ($null -eq $u) { throw ('no user ' + $c.user) }
            if ([string]$u.FullName -ceq [string]$c.fullName -and [string]$u.Description -ceq [string]$c.description) { return 'unchanged' }
            Set-LocalUser -Name $c.user -FullName ([string]$c.fullName) -Description ([string]$c.description)
            Push-Undo $c.id @{ kind = 'setUser'; user = [string]$c.user; fullName = [string]$u.FullName; description = [string]$u.Description }
            return 'done'
        }
        'setPassword' {
            Assert-Name $c.user
            if ($null -eq (Get-User $c.user)) { throw ('no user ' + $c.user) }
            Set-LocalUser -Name $c.user -Password (New-Secure ([string]$c.password)) -PasswordNeverExpires $true
            Push-Undo $c.id @{ kind = 'none'; why = 'the previous password is unknown' }
            return 'done'
        }
        'enableUser' {
            Assert-Name $c.user
            $u = Get-User $c.user
            if ($null -eq $u) { throw ('no user ' + $c.user) }
            if ($u.Enabled) { return 'unchanged' }
            Enable-LocalUser -Name $c.user
            Push-Undo $c.id @{ kind = 'disableUser'; user = [string]$c.user }
            return 'done'
        }
        'disableUser' {
            Assert-Name $c.user
            $u = Get-User $c.user
            if ($null -eq $u) { throw ('no user ' + $c.user) }
            if ($u.SID.Value -eq $me) { throw 'refusing to disable the account accessctl is logged in as' }
            if (-not $u.Enabled) { return 'unchanged' }
            Disable-LocalUser -Name $c.user
            Push-Undo $c.id @{ kind = 'enableUser'; user = [string]$c.user }
            return 'done'
        }
        'removeUser' {
            Assert-Name $c.user
            $u = Get-User $c.user
            if ($null -eq $u) { return 'unchanged' }
            if ($u.SID.Value -eq $me) { throw 'refusing to remove the account accessctl is logged in as' }
            Remove-LocalUser -Name $c.user
            Push-Undo $c.id @{ kind = 'none'; why = 'a removed account cannot be restored with its SID' }
            return 'done'
        }
        'addMember' {
            Assert-Group $c.group
            Assert-Name $c.user
            $u = Get-User $c.user
            if ($null -eq $u) { throw ('no user ' + $c.user) }
            $sid = $u.SID.Value
            if ((Get-MemberSids $c.group) -contains $sid) { return 'unchanged' }
            Add-LocalGroupMember -SID $c.group -Member $sid
            Push-Undo $c.id @{ kind = 'removeMember'; group = [string]$c.group; sid = $sid }
            return 'done'
        }
        'removeMember' {
            Assert-Group $c.group
            $sid = [string]$c.sid
            if ($sid -notmatch $sidRE) { throw 'invalid member SID' }
            if ($c.group -eq $adminsSid -and $sid -eq $me) { throw 'refusing to remove the account accessctl is logged in as from Administrators' }
            if (-not ((Get-MemberSids $c.group) -contains $sid)) { return 'unchanged' }
            Remove-LocalGroupMember -SID $c.group -Member $sid
            Push-Undo $c.id @{ kind = 'addMember'; group = [string]$c.group; sid = $sid }
            return 'done'
        }
        'writeKeys' {
            $k = Key-Path $c
            $b = Backup-File $k.path
            if ($b.exists -and $b.content -ceq [string]$c.content) {
                $cur = Get-Acl -LiteralPath $k.path
                if ($cur.AreAccessRulesProtected -and -not [bool]$c.fixAcl) { return 'unchanged' }
            }
            Write-Atomic $k.path ([string]$c.content) $k.sid
            Push-Undo $c.id @{ kind = 'restoreFile'; path = $k.path; backup = $b; sid = $k.sid }
            return 'done'
        }
        'writeState' {
            $path = Join-Path $env:ProgramData 'accessctl\state.json'
            $b = Backup-File $path
            if ($b.exists -and $b.content -ceq [string]$c.content) { return 'unchanged' }
            Write-Atomic $path ([string]$c.content) ''
            Push-Undo $c.id @{ kind = 'restoreFile'; path = $path; backup = $b; sid = '' }
            return 'done'
        }
        default { throw ('unknown change ' + [string]$c.op) }
    }
}

$failed = $false
foreach ($c in @($set.changes)) {
    $r = [ordered]@{ id = [int]$c.id; op = [string]$c.op; status = 'skipped'; error = '' }
    [void]$results.Add($r)
    if ($failed) { continue }
    try {
        $r.status = Invoke-Change $c
    } catch {
        $r.status = 'failed'
        $r.error = $_.Exception.Message
        $failed = $true
    }
    if ($c.PSObject.Properties.Name -contains 'password') { $c.password = $null }
}

$rollbackErrors = @()
if ($failed) {
    for ($i = $undo.Count - 1; $i -ge 0; $i--) {
        $u = $undo[$i]
        $r = $results | Where-Object { $_.id -eq $u.id } | Select-Object -First 1
        if ($u.kind -eq 'none') { $r.status = 'notRolledBack'; $r.error = $u.why; continue }
        try { Undo-Change $u; $r.status = 'rolledBack' } catch { $r.status = 'notRolledBack'; $r.error = $_.Exception.Message; $rollbackErrors += ('change ' + $u.id + ': ' + $_.Exception.Message) }
    }
}
$set = $null
Emit-Report (-not $failed) $rollbackErrors
if ($failed) { exit 3 }
exit 0
