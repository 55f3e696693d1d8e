// Which module system a JavaScript file is written for, told from its
// source: Node tells a `.js` file's only from package.json, which a script's
// tree has none of.
//
// Also a module-loader hook (registered by call_main.mjs for a script that
// imports its neighbours): a `.js` file under $SCRIPTBOX_LIB loads as an ES
// module when it is written as one and as CommonJS otherwise, so a module
// may import a neighbour written either way, in place, read-only.

import fs from "node:fs";
import { pathToFileURL } from "node:url";
import vm from "node:vm";

// What V8 says when module syntax is compiled as a CommonJS function body.
const MODULE_SYNTAX_ERRORS = [
  "Cannot use import statement outside a module",
  "Unexpected token 'export'",
  "Cannot use 'import.meta' outside a module",
  "await is only valid in async functions and the top level bodies of modules",
];

export function isModule(source, filename) {
  try {
    // The wrapper Node puts around a CommonJS file.
    new vm.Script(
      `(function (exports, require, module, __filename, __dirname) {${source}\n})`,
      { filename },
    );
    return false;
  } catch (error) {
    return (
      error instanceof SyntaxError &&
      MODULE_SYNTAX_ERRORS.some((text) => error.message.includes(text))
    );
  }
}

const LIB = process.env.SCRIPTBOX_LIB
  ? pathToFileURL(process.env.SCRIPTBOX_LIB).href + "/"
  : null;

export async function load(url, context, nextLoad) {
  if (LIB !== null && url.startsWith(LIB) && url.endsWith(".js")) {
    const filename = new URL(url).pathname;
    const source = fs.readFileSync(filename, "utf8");
    const format = isModule(source, filename) ? "module" : "commonjs";
    return nextLoad(url, { ...context, format });
  }
  return nextLoad(url, context);
}
