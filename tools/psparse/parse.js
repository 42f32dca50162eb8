// parse.js: parses PowerShell scripts with the tree-sitter PowerShell grammar (run by
// web-tree-sitter, so no native build) and reports every syntax error.
//
//   node parse.js FILE...     parse each file
//   node parse.js             parse standard input (named "-")
//
// For every ERROR node (text the grammar could not place) and every MISSING node (a token the
// parser had to invent, such as an unclosed brace) it prints one line
//   NAME:LINE:COL: ERROR|MISSING <what> near "<text>"
// with 1-based line and column (the column counts characters). The exit code is 0 when every
// input parsed cleanly, 1 when any had an error, 2 when the tool itself failed (a file could
// not be read, the grammar could not be loaded).
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { setFlagsFromString } from 'node:v8';
import { Language, Parser } from 'web-tree-sitter';

// V8's optimising WebAssembly compiler spends seconds on the grammar's parse tables (node 20: about
// 7 s of the 7.5 s a run took); the baseline compiler alone parses our scripts in milliseconds. The
// flag must be set before the first module is compiled (Parser.init below).
setFlagsFromString('--liftoff-only');

const require = createRequire(import.meta.url);

function fail(msg) {
  process.stderr.write(`psparse: ${msg}\n`);
  process.exit(2);
}

// lineStarts returns the string index of the start of every line (tree-sitter's rows end at
// "\n"; a "\r" before it stays at the end of its line).
function lineStarts(text) {
  const starts = [0];
  for (let i = 0; i < text.length; i++) {
    if (text.charCodeAt(i) === 10) starts.push(i + 1);
  }
  return starts;
}

// position turns a string index into 1-based line and column, counting code points.
function position(starts, text, index) {
  let lo = 0;
  let hi = starts.length - 1;
  while (lo < hi) {
    const mid = (lo + hi + 1) >> 1;
    if (starts[mid] <= index) lo = mid;
    else hi = mid - 1;
  }
  return { line: lo + 1, col: [...text.slice(starts[lo], index)].length + 1 };
}

function excerpt(text) {
  const one = text.replace(/\r?\n/g, '\\n');
  return one.length > 60 ? `${one.slice(0, 57)}...` : one;
}

// problems walks the tree into every subtree that holds an error and returns the ERROR and
// MISSING nodes in document order.
function problems(root) {
  const out = [];
  const visit = (node) => {
    if (node.isMissing) {
      out.push({ kind: 'MISSING', node });
      return;
    }
    if (node.isError) {
      out.push({ kind: 'ERROR', node });
    }
    if (!node.hasError) return;
    for (const child of node.children) visit(child);
  };
  visit(root);
  return out;
}

async function main() {
  const args = process.argv.slice(2);
  const inputs = args.length === 0 ? ['-'] : args;

  await Parser.init();
  let wasm;
  try {
    wasm = require.resolve('tree-sitter-powershell/tree-sitter-powershell.wasm');
  } catch (e) {
    fail(`tree-sitter-powershell is not installed (run: npm ci --prefix tools/psparse): ${e.message}`);
  }
  const language = await Language.load(wasm);
  const parser = new Parser();
  parser.setLanguage(language);

  let bad = 0;
  for (const name of inputs) {
    let text;
    try {
      text = readFileSync(name === '-' ? 0 : name, 'utf8');
    } catch (e) {
      fail(`read ${name}: ${e.message}`);
    }
    // A UTF-8 byte order mark is not part of the script.
    const offset = text.charCodeAt(0) === 0xfeff ? 1 : 0;
    const source = text.slice(offset);
    const tree = parser.parse(source);
    if (tree === null) fail(`${name}: the parser returned no tree`);
    const starts = lineStarts(source);
    for (const { kind, node } of problems(tree.rootNode)) {
      const { line, col } = position(starts, source, node.startIndex);
      const what = kind === 'MISSING' ? `${node.type} (inserted by the parser)` : 'unparsable text';
      const near = excerpt(source.slice(node.startIndex, Math.max(node.endIndex, node.startIndex + 1)));
      process.stdout.write(`${name}:${line}:${col}: ${kind} ${what} near "${near}"\n`);
      bad++;
    }
    tree.delete();
  }
  process.exit(bad > 0 ? 1 : 0);
}

main().catch((e) => fail(e && e.stack ? e.stack : String(e)));
