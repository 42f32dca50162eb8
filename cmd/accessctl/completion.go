package main

import (
	"fmt"
	"io"
	"sort"
	"strings"

	"github.com/accessctl/accessctl/internal/report"
)

func init() {
	register("completion", "print a shell completion script: completion bash|zsh|fish", runCompletion)
}

// The scripts are static: made from the commands' flag sets when this command runs, they never
// call accessctl back while the user types.

func runCompletion(c *cli, args []string) int {
	fs := c.newFlags("completion", "bash|zsh|fish",
		"Prints a completion script for the shell: commands, subcommands, flags (with their values where\n"+
			"there is a fixed list, such as --format) and file names where a flag takes a file.")
	if code, ok := c.parseFlags(fs, args); !ok {
		return code
	}
	if fs.NArg() != 1 {
		c.errorf("completion needs exactly one shell: bash, zsh or fish")
		c.hintf("see 'accessctl completion --help'")
		return exitUsage
	}
	cmds := completionModel()
	switch fs.Arg(0) {
	case "bash":
		writeBash(c.stdout, cmds)
	case "zsh":
		writeZsh(c.stdout, cmds)
	case "fish":
		writeFish(c.stdout, cmds)
	default:
		c.errorf("completion: unknown shell %q (want bash, zsh or fish)", fs.Arg(0))
		c.hintf("see 'accessctl completion --help'")
		return exitUsage
	}
	return exitOK
}

// compCommand is one command (or "policy test") as the completion scripts see it.
type compCommand struct {
	name    string // "plan", "policy test"
	word    string // the first word: "plan", "policy"
	sub     string // "", "test"
	summary string
	flags   []compFlag
	args    string // positional arguments: "", "files", "dirs", "commands", "shells", "users"
}

type compFlag struct {
	helpFlag
	values []string // fixed choices
	files  string   // "", "files", "dirs"
}

func completionModel() []compCommand {
	var out []compCommand
	for _, name := range commandNames() {
		cc := compCommand{name: name, word: name, summary: commands[name].summary}
		if subs := subcommands(name); len(subs) > 0 {
			cc.sub = subs[0]
			cc.name = name + " " + subs[0]
		}
		if fs := describeCommand(name); fs != nil {
			for _, f := range helpFlags(fs) {
				cf := compFlag{helpFlag: f}
				if !f.bool {
					cf.values = flagValues(cc.name, f.name)
					if cf.values == nil {
						cf.files = placeholderFiles(f.placeholder)
					}
				}
				cc.flags = append(cc.flags, cf)
			}
		}
		switch cc.name {
		case "policy test":
			cc.args = "dirs"
		case "report merge":
			cc.args = "files"
		case "completion":
			cc.args = "shells"
		case "authorized-keys":
			cc.args = "users"
		}
		out = append(out, cc)
	}
	out = append(out, compCommand{name: "help", word: "help", summary: "show the help of a command", args: "commands"})
	sort.Slice(out, func(i, j int) bool { return out[i].word < out[j].word })
	return out
}

// flagValues are the fixed choices of a flag, nil for a free value.
func flagValues(cmd, name string) []string {
	switch name {
	case "format":
		switch cmd {
		case "check", "validate":
			return report.Formats()
		case "plan":
			return fleetFormats(true)
		}
		return fleetFormats(false)
	case "winrm-auth":
		return []string{"ntlm", "basic"}
	}
	return nil
}

// placeholderFiles says whether a flag's value is a file, a directory or neither.
func placeholderFiles(ph string) string {
	switch {
	case ph == "DIR":
		return "dirs"
	case strings.Contains(ph, "FILE") || strings.Contains(ph, "PATH"):
		return "files"
	}
	return ""
}

var shells = []string{"bash", "zsh", "fish"}

func writeBash(w io.Writer, cmds []compCommand) {
	var words []string
	for _, c := range cmds {
		words = append(words, c.word)
	}
	fmt.Fprintf(w, `# bash completion for accessctl (made by 'accessctl completion bash').
# Load it in ~/.bashrc with:  source <(accessctl completion bash)
_accessctl() {
    local cur prev cmd sub i
    COMPREPLY=()
    cur="${COMP_WORDS[COMP_CWORD]}"
    prev="${COMP_WORDS[COMP_CWORD-1]}"
    cmd=""
    sub=""
    for ((i = 1; i < COMP_CWORD; i++)); do
        case "${COMP_WORDS[i]}" in
        -*) ;;
        *)
            if [[ -z $cmd ]]; then
                cmd="${COMP_WORDS[i]}"
                case "$cmd" in policy|report) ;; *) break ;; esac
            else
                sub="${COMP_WORDS[i]}"
                break
            fi
            ;;
        esac
    done
    if [[ -z $cmd ]]; then
        COMPREPLY=($(compgen -W "%s --help --version" -- "$cur"))
        return
    fi
    case "$cmd" in
`, strings.Join(words, " "))
	for _, c := range cmds {
		fmt.Fprintf(w, "    %s)\n", c.word)
		if c.sub != "" {
			fmt.Fprintf(w, "        if [[ -z $sub ]]; then COMPREPLY=($(compgen -W %q -- \"$cur\")); return; fi\n", c.sub)
		}
		var files, dirs, none, flagWords []string
		choices := map[string][]string{}
		for _, f := range c.flags {
			d := dashName(f.name)
			flagWords = append(flagWords, d)
			if f.bool {
				continue
			}
			alts := d
			if len(f.name) > 1 {
				alts = d + "|-" + f.name
			}
			switch {
			case f.values != nil:
				choices[alts] = f.values
			case f.files == "files":
				files = append(files, alts)
			case f.files == "dirs":
				dirs = append(dirs, alts)
			default:
				none = append(none, alts)
			}
		}
		if len(files)+len(dirs)+len(none)+len(choices) > 0 {
			fmt.Fprintf(w, "        case \"$prev\" in\n")
			if len(files) > 0 {
				fmt.Fprintf(w, "        %s) COMPREPLY=($(compgen -f -- \"$cur\")); return ;;\n", strings.Join(files, "|"))
			}
			if len(dirs) > 0 {
				fmt.Fprintf(w, "        %s) COMPREPLY=($(compgen -d -- \"$cur\")); return ;;\n", strings.Join(dirs, "|"))
			}
			keys := make([]string, 0, len(choices))
			for k := range choices {
				keys = append(keys, k)
			}
			sort.Strings(keys)
			for _, k := range keys {
				fmt.Fprintf(w, "        %s) COMPREPLY=($(compgen -W %q -- \"$cur\")); return ;;\n", k, strings.Join(choices[k], " "))
			}
			if len(none) > 0 {
				fmt.Fprintf(w, "        %s) return ;;\n", strings.Join(none, "|"))
			}
			fmt.Fprintf(w, "        esac\n")
		}
		flagWords = append(flagWords, "--help")
		fmt.Fprintf(w, "        if [[ $cur == -* ]]; then COMPREPLY=($(compgen -W %q -- \"$cur\")); return; fi\n", strings.Join(flagWords, " "))
		switch c.args {
		case "files":
			fmt.Fprintf(w, "        COMPREPLY=($(compgen -f -- \"$cur\"))\n")
		case "dirs":
			fmt.Fprintf(w, "        COMPREPLY=($(compgen -d -- \"$cur\"))\n")
		case "users":
			fmt.Fprintf(w, "        COMPREPLY=($(compgen -u -- \"$cur\"))\n")
		case "shells":
			fmt.Fprintf(w, "        COMPREPLY=($(compgen -W %q -- \"$cur\"))\n", strings.Join(shells, " "))
		case "commands":
			fmt.Fprintf(w, "        COMPREPLY=($(compgen -W %q -- \"$cur\"))\n", strings.Join(words, " "))
		}
		fmt.Fprintf(w, "        ;;\n")
	}
	fmt.Fprintf(w, `    esac
}
complete -o default -F _accessctl accessctl
`)
}

// zshQuote makes s safe inside single quotes and inside an _arguments description.
func zshQuote(s string) string {
	s = strings.Split(s, "\n")[0]
	s = strings.NewReplacer("'", `'\''`, "[", "(", "]", ")", ":", " -", "\\", "").Replace(s)
	return s
}

func writeZsh(w io.Writer, cmds []compCommand) {
	fmt.Fprintf(w, `#compdef accessctl
# zsh completion for accessctl (made by 'accessctl completion zsh').
# Install:  accessctl completion zsh > "${fpath[1]}/_accessctl"   (then restart zsh)
# or load it now:  source <(accessctl completion zsh)

_accessctl() {
    local -a commands
    commands=(
`)
	for _, c := range cmds {
		fmt.Fprintf(w, "        '%s:%s'\n", c.word, zshQuote(c.summary))
	}
	fmt.Fprintf(w, `    )
    if (( CURRENT == 2 )); then
        _describe -t commands 'accessctl command' commands
        return
    fi
    local cmd=${words[2]}
    case $cmd in
    policy|report)
        if (( CURRENT == 3 )); then
            case $cmd in
            policy) compadd test ;;
            report) compadd merge ;;
            esac
            return
        fi
        words=("${(@)words[2,-1]}")
        (( CURRENT-- ))
        ;;
    esac
    words=("${(@)words[2,-1]}")
    (( CURRENT-- ))
    case $cmd in
`)
	for _, c := range cmds {
		fmt.Fprintf(w, "    %s)\n        _arguments -s \\\n", c.word)
		for _, f := range c.flags {
			spec := dashName(f.name)
			if f.repeatable {
				spec = "*" + spec
			}
			spec += "[" + zshQuote(f.usage) + "]"
			if !f.bool {
				action := " "
				switch {
				case f.values != nil:
					action = "(" + strings.Join(f.values, " ") + ")"
				case f.files == "files":
					action = "_files"
				case f.files == "dirs":
					action = "_files -/"
				}
				spec += ":" + zshQuote(f.placeholder) + ":" + action
			}
			fmt.Fprintf(w, "            '%s' \\\n", spec)
		}
		fmt.Fprintf(w, "            '(- *)'{-h,--help}'[show the help]'")
		switch c.args {
		case "files":
			fmt.Fprintf(w, " \\\n            '*:file:_files'")
		case "dirs":
			fmt.Fprintf(w, " \\\n            '*:directory:_files -/'")
		case "users":
			fmt.Fprintf(w, " \\\n            '1:user:_users'")
		case "shells":
			fmt.Fprintf(w, " \\\n            '1:shell:(%s)'", strings.Join(shells, " "))
		case "commands":
			var words []string
			for _, x := range cmds {
				words = append(words, x.word)
			}
			fmt.Fprintf(w, " \\\n            '1:command:(%s)'", strings.Join(words, " "))
		}
		fmt.Fprintf(w, "\n        ;;\n")
	}
	fmt.Fprintf(w, `    esac
}

if [[ $zsh_eval_context[-1] == loadautofunc ]]; then
    _accessctl "$@"
else
    compdef _accessctl accessctl
fi
`)
}

// fishQuote makes s a single-quoted fish string.
func fishQuote(s string) string {
	s = strings.Split(s, "\n")[0]
	return "'" + strings.NewReplacer(`\`, `\\`, `'`, `\'`).Replace(s) + "'"
}

func writeFish(w io.Writer, cmds []compCommand) {
	fmt.Fprintf(w, `# fish completion for accessctl (made by 'accessctl completion fish').
# Install:  accessctl completion fish > ~/.config/fish/completions/accessctl.fish
complete -c accessctl -f
complete -c accessctl -n __fish_use_subcommand -l help -d 'show the help'
complete -c accessctl -n __fish_use_subcommand -l version -d 'print the version'
`)
	for _, c := range cmds {
		fmt.Fprintf(w, "complete -c accessctl -n __fish_use_subcommand -a %s -d %s\n", c.word, fishQuote(c.summary))
	}
	for _, c := range cmds {
		cond := "__fish_seen_subcommand_from " + c.word
		if c.sub != "" {
			fmt.Fprintf(w, "complete -c accessctl -n '%s; and not __fish_seen_subcommand_from %s' -a %s\n", cond, c.sub, c.sub)
			cond += "; and __fish_seen_subcommand_from " + c.sub
		}
		for _, f := range c.flags {
			opt := "-l " + f.name
			if len(f.name) == 1 {
				opt = "-s " + f.name
			}
			val := ""
			switch {
			case f.bool:
			case f.values != nil:
				val = " -x -a " + fishQuote(strings.Join(f.values, " "))
			case f.files == "files":
				val = " -r -F"
			case f.files == "dirs":
				val = " -x -a '(__fish_complete_directories)'"
			default:
				val = " -x"
			}
			fmt.Fprintf(w, "complete -c accessctl -n '%s' %s%s -d %s\n", cond, opt, val, fishQuote(f.usage))
		}
		fmt.Fprintf(w, "complete -c accessctl -n '%s' -s h -l help -d 'show the help'\n", cond)
		switch c.args {
		case "files":
			fmt.Fprintf(w, "complete -c accessctl -n '%s' -F\n", cond)
		case "dirs":
			fmt.Fprintf(w, "complete -c accessctl -n '%s' -a '(__fish_complete_directories)'\n", cond)
		case "users":
			fmt.Fprintf(w, "complete -c accessctl -n '%s' -a '(__fish_complete_users)'\n", cond)
		case "shells":
			fmt.Fprintf(w, "complete -c accessctl -n '%s' -a %s\n", cond, fishQuote(strings.Join(shells, " ")))
		case "commands":
			var words []string
			for _, x := range cmds {
				words = append(words, x.word)
			}
			fmt.Fprintf(w, "complete -c accessctl -n '%s' -a %s\n", cond, fishQuote(strings.Join(words, " ")))
		}
	}
}
