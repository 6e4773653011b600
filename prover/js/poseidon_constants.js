// Regenerates l2/poseidon_constants.py from circomlibjs 0.1.7's optimized Poseidon constants
// (src/poseidon_constants_opt.json: the Grain-LFSR constants of the Poseidon paper, transformed
// for the neptune partial-round optimization).  Only widths t = 2..6 (1..5 inputs) are kept.
//
// Usage, from the prover/ directory:   node js/poseidon_constants.js > ../l2/poseidon_constants.py
"use strict";

const fs = require("fs");
const path = require("path");

const MAX_T = 6;
const source = path.join(__dirname, "..", "node_modules", "circomlibjs", "src",
    "poseidon_constants_opt.json");
const opt = JSON.parse(fs.readFileSync(source, "utf8"));

const hex = (s) => "0x" + BigInt(s).toString(16).toUpperCase();  // ruff format style
const flat = (values, indent) =>
    values.map((v) => `${indent}${hex(v)},`).join("\n");
const matrix = (rows, indent) =>
    rows.map((row) => `${indent}(\n${flat(row, indent + "    ")}\n${indent}),`).join("\n");

const out = [];
out.push('"""Poseidon constants for widths t = 2..6 (1..5 inputs), generated -- do not edit.');
out.push("");
out.push("Source: circomlibjs 0.1.7 ``src/poseidon_constants_opt.json`` (the round constants and MDS");
out.push("matrices of the Poseidon paper's Grain LFSR, ``generate_parameters_grain.sage 1 0 254 t 8 R_P");
out.push("p``, rearranged for the optimized partial rounds of filecoin's neptune).  Regenerate with");
out.push("``cd prover && node js/poseidon_constants.js > ../l2/poseidon_constants.py``; the tests check");
out.push("``l2.poseidon`` against circomlibjs itself.");
out.push("");
out.push("Index ``t - 2``: ``C`` round constants, ``S`` sparse partial-round matrices (flattened),");
out.push("``M`` the MDS matrix, ``P`` the pre-partial-round matrix (``[j][i]`` multiplies ``state[j]``");
out.push('into ``state[i]``)."""');
out.push("");
out.push("from typing import Final");
out.push("");
out.push('__all__ = ["POSEIDON_C", "POSEIDON_M", "POSEIDON_P", "POSEIDON_S"]');
out.push("");
for (const [name, kind] of [["C", "flat"], ["S", "flat"], ["M", "matrix"], ["P", "matrix"]]) {
    const type = kind === "flat" ? "tuple[tuple[int, ...], ...]" : "tuple[tuple[tuple[int, ...], ...], ...]";
    out.push(`POSEIDON_${name}: Final[${type}] = (`);
    for (let t = 2; t <= MAX_T; t++) {
        const value = opt[name][t - 2];
        out.push(`    # t = ${t}`);
        out.push("    (");
        out.push(kind === "flat" ? flat(value, "        ") : matrix(value, "        "));
        out.push("    ),");
    }
    out.push(")");
}
process.stdout.write(out.join("\n") + "\n");
