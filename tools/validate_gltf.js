// Run the Khronos glTF validator (npm package gltf-validator) on .glb/.gltf files.
// Usage: node tools/validate_gltf.js FILE...  -> one JSON object per line:
// {"file", "errors", "warnings", "infos", "hints", "messages": [{"code", "severity", "message", "pointer"}]}
// Severity: 0 error, 1 warning, 2 info, 3 hint. Exit code 1 when any file has errors.
"use strict";
const fs = require("fs");
const path = require("path");
const validator = require("gltf-validator");

async function main() {
  let failed = false;
  for (const file of process.argv.slice(2)) {
    const bytes = new Uint8Array(fs.readFileSync(file));
    const report = await validator.validateBytes(bytes, {
      uri: path.basename(file),
      maxIssues: 0,
      externalResourceFunction: () => Promise.reject(new Error("external resources are not allowed")),
    });
    const issues = report.issues;
    failed = failed || issues.numErrors > 0;
    console.log(JSON.stringify({
      file,
      errors: issues.numErrors,
      warnings: issues.numWarnings,
      infos: issues.numInfos,
      hints: issues.numHints,
      messages: issues.messages.map((m) => ({code: m.code, severity: m.severity, message: m.message, pointer: m.pointer})),
    }));
  }
  process.exit(failed ? 1 : 0);
}

main().catch((e) => {
  console.error(`validate_gltf: ${e.message || e}`);
  process.exit(2);
});
