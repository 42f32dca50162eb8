package report

import (
	"encoding/json"
	"fmt"
	"sort"
	"strconv"
	"strings"

	"github.com/accessctl/accessctl/internal/reconcile"
)

// A change's Before and After are whatever JSON-able values the planner chose (key lists, user
// attributes, a sudo rule, an sshd value and where it is set; plain strings in older plan files).
// This file turns any such value into short lines a reviewer reads without knowing Go types: the
// value is normalised through JSON, then lists of keys are compared key by key (by fingerprint),
// objects field by field, and anything else is printed as it is.

// normalize returns v as JSON would decode it: nil, bool, float64, string, []any, map[string]any.
func normalize(v any) any {
	switch v.(type) {
	case nil, string, bool, float64, []any, map[string]any:
		return v
	}
	b, err := json.Marshal(v)
	if err != nil {
		return fmt.Sprint(v)
	}
	var out any
	if err := json.Unmarshal(b, &out); err != nil {
		return string(b)
	}
	return out
}

// fieldOrder is the order in which known fields are shown; others follow by name.
var fieldOrder = map[string]int{
	"keypair": 0, "fingerprint": 1, "type": 2, "options": 3, "comment": 4,
	"rule": 5, "value": 6, "where": 7,
	"uid": 10, "fullName": 11, "shell": 12, "groups": 13, "state": 14, "home": 15,
	"file": 50,
}

func sortedKeys(m map[string]any) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Slice(keys, func(i, j int) bool {
		oi, iok := fieldOrder[keys[i]]
		oj, jok := fieldOrder[keys[j]]
		switch {
		case iok && jok:
			return oi < oj
		case iok != jok:
			return iok
		}
		return keys[i] < keys[j]
	})
	return keys
}

// scalar writes a normalised non-container value.
func scalar(v any) string {
	switch x := v.(type) {
	case nil:
		return "(none)"
	case string:
		if x == "" {
			return `""`
		}
		return oneLine(x)
	case float64:
		return strconv.FormatFloat(x, 'f', -1, 64)
	case bool:
		return strconv.FormatBool(x)
	}
	return oneLine(fmt.Sprint(v))
}

// inline writes any normalised value on one line.
func inline(v any) string {
	switch x := v.(type) {
	case []any:
		if len(x) == 0 {
			return "(none)"
		}
		parts := make([]string, len(x))
		for i, e := range x {
			parts[i] = inline(e)
		}
		return strings.Join(parts, ", ")
	case map[string]any:
		return objectText(x)
	}
	return scalar(v)
}

func str(m map[string]any, k string) string {
	s, _ := m[k].(string)
	return oneLine(s)
}

// isKey reports whether a normalised value is one authorized key (it has a fingerprint).
func isKey(v any) bool {
	m, ok := v.(map[string]any)
	if !ok {
		return false
	}
	_, ok = m["fingerprint"]
	return ok
}

// keyName is "alice-laptop SHA256:..." or, for a key no key pair of the manifest holds, the
// fingerprint alone.
func keyName(m map[string]any) string {
	if kp := str(m, "keypair"); kp != "" {
		return kp + " " + str(m, "fingerprint")
	}
	return str(m, "fingerprint")
}

// keyText is one key: key pair, fingerprint, type, options, comment and file. withDetails=false
// leaves out options and comment (a line that then says how they differ).
func keyText(m map[string]any, withDetails bool) string {
	var attrs []string
	if t := str(m, "type"); t != "" {
		attrs = append(attrs, t)
	}
	if withDetails {
		if o := str(m, "options"); o != "" {
			attrs = append(attrs, "options "+o)
		}
		if c := str(m, "comment"); c != "" {
			attrs = append(attrs, "comment "+strconv.Quote(c))
		}
	}
	if str(m, "keypair") == "" {
		attrs = append(attrs, "no key pair in the manifest")
	}
	s := keyName(m)
	if len(attrs) > 0 {
		s += " (" + strings.Join(attrs, ", ") + ")"
	}
	if f := str(m, "file"); f != "" {
		s += " in " + f
	}
	return s
}

// objectText writes one object: a key, a sudo rule, an sshd value, or "field: value, ...".
func objectText(m map[string]any) string {
	switch {
	case isKey(m):
		return keyText(m, true)
	case m["rule"] != nil:
		s := inline(m["rule"])
		if f := str(m, "file"); f != "" {
			s += " in " + f
		}
		return s
	case m["value"] != nil && len(m) <= 2:
		s := inline(m["value"])
		if w := str(m, "where"); w != "" {
			s += " (" + w + ")"
		}
		return s
	}
	var parts []string
	for _, k := range sortedKeys(m) {
		parts = append(parts, k+" "+inline(m[k]))
	}
	if len(parts) == 0 {
		return "(none)"
	}
	return strings.Join(parts, ", ")
}

// changeDetails are the lines under a change's headline that say what exactly changes. Each
// line starts with "+ " (added), "- " (removed), "~ " (changed) or "  " (context).
func changeDetails(c reconcile.Change) []string {
	before, after := normalize(c.Before), normalize(c.After)
	// An empty string says "nothing" as well as nil does (older and Windows plans use strings).
	if before == "" {
		before = nil
	}
	if after == "" {
		after = nil
	}
	bl, bIsList := before.([]any)
	al, aIsList := after.([]any)
	if (bIsList || before == nil) && (aIsList || after == nil) && allKeys(bl) && allKeys(al) && (len(bl)+len(al) > 0) {
		return keyDiff(bl, al)
	}
	bm, bIsMap := before.(map[string]any)
	am, aIsMap := after.(map[string]any)
	switch {
	case bIsMap && aIsMap && !isKey(bm) && bm["rule"] == nil && bm["value"] == nil:
		return fieldDiff(bm, am)
	case before == nil && after == nil:
		return nil
	case before == nil:
		return []string{"+ " + inline(after)}
	case after == nil:
		return []string{"- " + inline(before)}
	}
	return []string{"- " + inline(before), "+ " + inline(after)}
}

func allKeys(l []any) bool {
	for _, v := range l {
		if !isKey(v) {
			return false
		}
	}
	return true
}

// keyDiff compares two key lists by fingerprint: keys added, removed, and changed (options,
// comment, file), naming key pair, fingerprint and type. Unchanged keys are counted.
func keyDiff(before, after []any) []string {
	byFP := map[string]map[string]any{}
	for _, v := range before {
		m := v.(map[string]any)
		byFP[str(m, "fingerprint")] = m
	}
	var out []string
	seen := map[string]bool{}
	same := 0
	for _, v := range after {
		a := v.(map[string]any)
		fp := str(a, "fingerprint")
		seen[fp] = true
		b, ok := byFP[fp]
		if !ok {
			out = append(out, "+ "+keyText(a, true))
			continue
		}
		var diffs []string
		for _, k := range []string{"options", "comment", "file"} {
			if bv, av := str(b, k), str(a, k); bv != av {
				diffs = append(diffs, fmt.Sprintf("%s %s -> %s", k, strconv.Quote(bv), strconv.Quote(av)))
			}
		}
		if len(diffs) == 0 {
			same++
			continue
		}
		out = append(out, "~ "+keyText(a, false)+": "+strings.Join(diffs, ", "))
	}
	for _, v := range before {
		b := v.(map[string]any)
		if !seen[str(b, "fingerprint")] {
			out = append(out, "- "+keyText(b, true))
		}
	}
	if same > 0 {
		out = append(out, "  "+countNoun(same, "other key", "other keys")+" unchanged")
	}
	return out
}

// fieldDiff compares two objects field by field (user attributes): "~ shell /bin/sh -> /bin/bash".
func fieldDiff(before, after map[string]any) []string {
	all := map[string]any{}
	for k, v := range before {
		all[k] = v
	}
	for k, v := range after {
		all[k] = v
	}
	var out []string
	for _, k := range sortedKeys(all) {
		b, bok := before[k]
		a, aok := after[k]
		switch {
		case !bok:
			out = append(out, "+ "+k+" "+inline(a))
		case !aok:
			out = append(out, "- "+k+" "+inline(b))
		case inline(a) != inline(b):
			out = append(out, "~ "+k+" "+inline(b)+" -> "+inline(a))
		}
	}
	return out
}

func countNoun(n int, one, many string) string {
	if n == 1 {
		return "1 " + one
	}
	return strconv.Itoa(n) + " " + many
}
