// Validates Prometheus Operator objects (ServiceMonitor, PrometheusRule) against the
// schemas of the monitoring.coreos.com/v1 CRDs, as packaged by
// @kubernetes-models/prometheus-operator (its validators are generated from the CRDs).
//
// Those schemas, like the CRDs, do not forbid unknown fields (the API server prunes
// them, or rejects them under strict field validation). To catch a misspelt field
// here, every object key is also checked against the field list of the model class
// that the package declares for that position.
//
// Usage: node validate-crds.mjs <node_modules dir> <file.json>...
//   each file holds a JSON array of manifests (the check script converts YAML).
import fs from "node:fs";
import path from "node:path";
import { pathToFileURL } from "node:url";

const [nodeModules, ...files] = process.argv.slice(2);
const pkgDir = path.join(nodeModules, "@kubernetes-models", "prometheus-operator");
const v1 = await import(pathToFileURL(path.join(pkgDir, "monitoring.coreos.com", "v1", "index.js")).href);

// ---- field lists from the declaration files ------------------------------------
const classCache = new Map(); // d.ts path -> { fields: Map<name, type>, imports: Map<iface, d.ts path> }

function resolveModule(fromFile, spec) {
  const base = spec.startsWith(".")
    ? path.resolve(path.dirname(fromFile), spec)
    : path.join(nodeModules, spec);
  return base.replace(/\.js$/, "") + ".d.ts";
}

function loadDecl(file) {
  if (classCache.has(file)) return classCache.get(file);
  let entry = null;
  if (fs.existsSync(file)) {
    const text = fs.readFileSync(file, "utf8");
    const imports = new Map();
    for (const m of text.matchAll(/^import \{ (\w+) \} from "([^"]+)";$/gm)) {
      imports.set(m[1], resolveModule(file, m[2]));
    }
    // The class declaration lists every field, inherited ones included.
    const cls = text.match(/^export declare class \w+ extends Model<\w+> implements \w+ \{\n([\s\S]*?)^\}/m);
    if (cls) {
      const fields = new Map();
      for (const m of cls[1].matchAll(/^ {4}"([^"]+)"\??: (.+?);?$/gm)) fields.set(m[1], m[2]);
      entry = { fields, imports };
    }
  }
  classCache.set(file, entry);
  return entry;
}

function checkKeys(value, declFile, where, errors) {
  const decl = loadDecl(declFile);
  if (!decl || value === null || typeof value !== "object" || Array.isArray(value)) return;
  for (const [key, child] of Object.entries(value)) {
    if (!decl.fields.has(key)) {
      errors.push(`${where}.${key}: unknown field (known: ${[...decl.fields.keys()].sort().join(", ")})`);
      continue;
    }
    const type = decl.fields.get(key);
    const ref = type.match(/^(?:Array<)?(I\w+)>?$/);
    if (!ref || !decl.imports.has(ref[1])) continue; // a scalar, a map or an inline type
    const target = decl.imports.get(ref[1]);
    if (Array.isArray(child)) child.forEach((c, i) => checkKeys(c, target, `${where}.${key}[${i}]`, errors));
    else checkKeys(child, target, `${where}.${key}`, errors);
  }
}

// ---- run -------------------------------------------------------------------------
let failed = 0;
let checked = 0;
for (const file of files) {
  const objects = JSON.parse(fs.readFileSync(file, "utf8"));
  for (const obj of objects) {
    const label = `${obj.source ?? file}: ${obj.manifest.kind}/${obj.manifest.metadata?.name}`;
    const Model = obj.manifest.apiVersion === "monitoring.coreos.com/v1" ? v1[obj.manifest.kind] : undefined;
    if (!Model) {
      console.error(`FAIL ${label}: no schema for ${obj.manifest.apiVersion} ${obj.manifest.kind}`);
      failed++;
      continue;
    }
    const errors = [];
    try {
      new Model(obj.manifest).validate();
    } catch (e) {
      errors.push(e.message);
    }
    checkKeys(obj.manifest, path.join(pkgDir, "monitoring.coreos.com", "v1", `${obj.manifest.kind}.d.ts`), obj.manifest.kind, errors);
    checked++;
    if (errors.length) {
      failed++;
      for (const e of errors) console.error(`FAIL ${label}: ${e}`);
    } else {
      console.log(`ok   ${label}`);
    }
  }
}
if (checked === 0 && failed === 0) {
  console.error("FAIL no Prometheus Operator objects given");
  process.exit(1);
}
process.exit(failed ? 1 : 0);
