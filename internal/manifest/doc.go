// Package manifest is the first stage: it loads one manifest file or a directory of them through
// yaml.v3 nodes, keeps the position of every value, merges the files, and checks schema, names and
// references. Every problem is collected with file:line:column; none stops the others from being
// found. Secrets are never read here except on demand (Secret), and never echoed in a diagnostic.
package manifest
