// The JavaScript harness: the user's child process for every JavaScript job.
//
// Runs inside the sandbox as `node call_main.mjs SCRIPT REPORT_FD`. Node has
// no way to tell from a file's name alone whether a `.js` file is an ES module
// or CommonJS (bookworm's Node 18 has no --experimental-detect-module), so
// this does what that flag does: compile the source as CommonJS, and take it
// as a module only when the compiler's complaint is about module syntax
// (import, export, import.meta, top-level await).
//
// It loads SCRIPT, and when the script exports a function `main` (`export
// function main(data)` or `module.exports.main`), calls it with the input
// JSON, awaits it when it returns a promise, and writes a report to
// REPORT_FD for the runner, in the same shape as call_main.py's:
//
//     one JSON line {"status": "ok"} followed by the result's JSON text, or
//     one JSON line {"status": "error", "code": ..., "message": ...}
//
// then exits: a run ends when main settles, as asyncio.run ends a Python one.
// A script without `main` is a program: it already ran while it loaded, and
// Node goes on until its event loop is empty, with no report (the runner then
// reads $SCRIPTBOX_RESULT, as for a Python program).
//
// Nothing here is trusted by the runner beyond what the report says: the
// user's code runs in this process and could forge it, which only hurts the
// user's own result. For the same reason it does not matter that Node, unlike
// call_main.py, cannot keep REPORT_FD from the processes the script spawns.
//
// Unlike Python's, this harness is not started ahead of the job: Node cannot
// take on another stdin once started (no dup2), which a program needs. Each
// run pays Node's start-up (about 70-100 ms of CPU for Node 18).

import fs from "node:fs";
import { createRequire, register } from "node:module";
import { pathToFileURL } from "node:url";
import { isModule } from "./module_formats.mjs";

const HARNESS = new URL(import.meta.url).pathname;

// Node decides a file's module system by its name: a module needs `.mjs`. A
// hard link, not a copy: no second set of bytes, the same file the runner
// wrote.
function moduleFile(script) {
  const target = script.replace(/\.[^./]*$/, "") + ".mjs";
  if (target !== script) {
    fs.linkSync(script, target);
  }
  return target;
}

// A script that imports its neighbours sits among them under $SCRIPTBOX_LIB,
// read-only, at its tree path: there, a hook tells each `.js` file's module
// system (module_formats.mjs), and the script is imported where it is.
function amongNeighbours(script) {
  const lib = process.env.SCRIPTBOX_LIB;
  return Boolean(lib) && script.startsWith(lib + "/");
}

async function load(script) {
  const source = fs.readFileSync(script, "utf8");
  const neighbours = amongNeighbours(script);
  if (neighbours) {
    register("./module_formats.mjs", import.meta.url);
  }
  if (isModule(source, script)) {
    const file = neighbours ? script : moduleFile(script);
    return await import(pathToFileURL(file).href);
  }
  return createRequire(script)(script);
}

function report(fd, header, body = "") {
  let data = Buffer.from(JSON.stringify(header) + "\n" + body, "utf8");
  while (data.length > 0) {
    const written = fs.writeSync(fd, data);
    data = data.subarray(written);
  }
}

function describe(error) {
  if (error instanceof Error) {
    return error.message ? `${error.name}: ${error.message}` : error.name;
  }
  try {
    return `Thrown: ${String(error)}`;
  } catch {
    return "Thrown: a value that cannot be shown";
  }
}

// The stack without the harness's own frames, as Python's harness drops its.
function userStack(error) {
  if (!(error instanceof Error) || typeof error.stack !== "string") {
    return describe(error);
  }
  return error.stack
    .split("\n")
    .filter((line) => !line.includes(HARNESS) && !line.includes("(node:internal"))
    .join("\n");
}

function fail(fd, code, message) {
  report(fd, { status: "error", code, message });
  process.exit(1);
}

async function run() {
  const [script, reportFdText] = process.argv.slice(2);
  const reportFd = Number(reportFdText);
  // As `node script.js` would show it.
  process.argv = [process.argv[0], script];

  let loaded;
  try {
    loaded = await load(script);
  } catch (error) {
    process.stderr.write(userStack(error) + "\n");
    fail(reportFd, "SCRIPT_ERROR", describe(error));
  }
  const main = loaded?.main;
  if (typeof main !== "function") {
    return; // a program: it ran as it loaded, and may still be running
  }

  const data = JSON.parse(fs.readFileSync(process.env.SCRIPTBOX_INPUT, "utf8"));
  let result;
  try {
    result = await main(data);
  } catch (error) {
    process.stderr.write(userStack(error) + "\n");
    fail(reportFd, "SCRIPT_ERROR", describe(error));
  }
  let text;
  try {
    // JSON.stringify's own rules, as a JavaScript author expects them; only
    // `undefined` (main returned nothing) has no JSON text, and means null.
    text = JSON.stringify(result) ?? "null";
  } catch (error) {
    report(reportFd, {
      status: "error",
      code: "INVALID_RESULT",
      message: `main() returned a value that is not JSON-serialisable: ${describe(error)}`,
    });
    process.exit(0);
  }
  report(reportFd, { status: "ok" }, text);
  // Writes to pipes are synchronous on Linux: nothing printed is lost here.
  process.exit(0);
}

await run();
