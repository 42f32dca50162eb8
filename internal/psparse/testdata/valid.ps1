# Valid Windows PowerShell 5.1: the grammar must accept all of it (TestGrammarAcceptsValid).
# It holds the constructs accessctl's scripts use and their near relatives.
#Requires -Version 5.1
using namespace System.Collections.Generic
<#
  a block comment
#>
param(
    [string]$Name = 'alice',
    [string]$Mode = 'a',
    [switch]$Force
)
Set-StrictMode -Version 2
$ErrorActionPreference = 'Stop'
$ProgressPreference = 'SilentlyContinue'
$list = New-Object 'System.Collections.Generic.List[string]'
$h = [ordered]@{ a = 1; 'b c' = @(1, 2, 3); d = @{} }
$h.a++
$h['d']['e'] = $null
$x = 1..3 | Where-Object { $_ -gt 1 } | ForEach-Object { $_ * 2 }
$y = $x -join ','
$z = 'a,b' -split ','
$r = 'x' -replace 'x', 'y'
$m = 'abc' -match '^a(?<rest>.*)$'
if ($m) { $rest = $Matches['rest'] }
$s = "name: $Name, first: $($x[0]), env: ${env:ProgramData} `"q`" `t$($h.a)"
$t = 'it''s'
$f = '{0} {1:N2}' -f 'a', 3.5
$here = @"
line $Name
  "quoted" $(1 + 2)
"@
$lit = @'
no $expansion here, "quotes" and 'quotes'
'@
[void]$list.Add('x')
$null = [Console]::Error.WriteLine('err')
[Console]::Out.Write("a`n")
$cast = [int]'3' + [math]::Max(1, 2)
$sb = { param($a) $a + 1 }
& $sb 2
. $sb 3
$splat = @{ Path = 'C:\x'; ErrorAction = 'SilentlyContinue' }
Get-Item @splat 2>&1 | Out-Null
Get-ChildItem -Path C:\Windows `
    -Filter '*.log'
:outer foreach ($i in 1..3) {
    for ($j = 0; $j -lt 3; $j++) { if ($j -eq 1) { continue } }
    while ($false) { break }
    do { $i-- } while ($i -gt 5)
    do { $i++ } until ($i -ge 0)
}
switch -Regex ($Name) {
    '^a' { 'A'; break }
    default { 'other' }
}
switch ($Mode) { 'a' { 1 } 'b' { 2 } }
try {
    throw 'x'
} catch [System.UnauthorizedAccessException] {
    $_.Exception.Message
} catch {
    Write-Error $_
} finally {
    $done = $true
}
try { 1 } finally { 2 }
trap { continue }
function Get-Thing {
    [CmdletBinding()]
    param(
        [Parameter(Mandatory = $true)][string[]]$In,
        [ValidateSet('x', 'y')][string]$Kind = 'x'
    )
    begin { $acc = @() }
    process { $acc += $In }
    end { return , $acc }
}
function Test-Simple($a, $b) { $a -eq $b }
filter Double { $_ * 2 }
if (-not $Force -and ($Mode -eq 'a' -or $Mode -ne 'b')) { 'x' } elseif ($Force) { 'f' } else { 'e' }
$sid = New-Object System.Security.Principal.SecurityIdentifier('S-1-5-32-544')
$account = $sid.Translate([System.Security.Principal.NTAccount]).Value
$bytes = [byte[]](1, 2, 3)
$text = [Text.Encoding]::UTF8.GetString($bytes, 0, $bytes.Length)
$o = [pscustomobject]@{ ok = $true; results = @(); error = '' }
$o | ConvertTo-Json -Depth 5 -Compress
$in = '{"a":1}' | ConvertFrom-Json
$secure = New-Object System.Security.SecureString
foreach ($ch in 'pw'.ToCharArray()) { $secure.AppendChar($ch) }
$secure.MakeReadOnly()
$users = @(Get-CimInstance -ClassName Win32_UserAccount -Filter "LocalAccount = TRUE" -ErrorAction SilentlyContinue)
$rule = New-Object System.Security.AccessControl.FileSystemAccessRule($sid, 'FullControl', 'Allow')
$acl = Get-Acl -Path 'C:\x'
$acl.SetAccessRuleProtection($true, $false)
$acl.AddAccessRule($rule)
Add-Type -TypeDefinition @"
public static class X { public static int Y() { return 1; } }
"@
class Widget {
    [string]$Name
    Widget([string]$n) { $this.Name = $n }
    [string] Hello() { return "hi $($this.Name)" }
}
enum Color { Red; Green }
$w = [Widget]::new('a')
$v = $PSVersionTable.PSVersion.Major
$p = Join-Path $env:ProgramData 'accessctl\state.json'
if (Test-Path -LiteralPath $p) { [IO.File]::WriteAllText($p, 'x', (New-Object Text.UTF8Encoding($false))) }
exit 0
