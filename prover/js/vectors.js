// Test vectors from circomlibjs 0.1.7 (and npm blake-hash) for the Python validity profile.
//
// Reads one JSON request on stdin and prints one JSON answer on stdout; every key is optional:
//
//   request                                   answer (same key, one entry per request entry)
//   "poseidon": [["1", "2"], ...]             decimal string of buildPoseidon()(inputs)
//   "prv2pub":  ["<hex private key>", ...]    {"x", "y" (decimal), "packed" (hex)}
//   "sign":     [{"key": hex, "msg": dec}]    hex of packSignature(signPoseidon(key, msg))
//   "verify":   [{"pub": hex, "sig": hex,     true/false: unpackPoint / unpackSignature, then
//                 "msg": dec}]                verifyPoseidon (false if a point does not unpack)
//   "pack":     [["x", "y"], ...]             hex of babyJub.packPoint
//   "unpack":   ["<hex>", ...]                ["x", "y"] or null
//   "subgroup": [["x", "y"], ...]             babyJub.inSubgroup
//   "blake512": ["<hex data>", ...]           hex digest of blake-hash's "blake512"
//
// Field elements and scalars are decimal strings, byte strings lower-case hex.
// Run from the prover/ directory: `node js/vectors.js < request.json`.
"use strict";

const { buildPoseidon, buildEddsa, buildBabyjub } = require("circomlibjs");
const createBlakeHash = require("blake-hash");

function readStdin() {
    return new Promise((resolve, reject) => {
        const chunks = [];
        process.stdin.on("data", (c) => chunks.push(c));
        process.stdin.on("end", () => resolve(Buffer.concat(chunks).toString("utf8")));
        process.stdin.on("error", reject);
    });
}

const toHex = (bytes) => Buffer.from(bytes).toString("hex");
const fromHex = (hex) => new Uint8Array(Buffer.from(hex, "hex"));

async function main() {
    const request = JSON.parse(await readStdin());
    const answer = {};
    const poseidon = await buildPoseidon();
    const babyJub = await buildBabyjub();
    const eddsa = await buildEddsa();
    const F = babyJub.F;
    const point = ([x, y]) => [F.e(BigInt(x)), F.e(BigInt(y))];
    const unpoint = (P) => [F.toObject(P[0]).toString(), F.toObject(P[1]).toString()];

    if (request.poseidon) {
        answer.poseidon = request.poseidon.map((inputs) =>
            poseidon.F.toObject(poseidon(inputs.map((x) => BigInt(x)))).toString());
    }
    if (request.prv2pub) {
        answer.prv2pub = request.prv2pub.map((key) => {
            const A = eddsa.prv2pub(Buffer.from(key, "hex"));
            const [x, y] = unpoint(A);
            return { x, y, packed: toHex(babyJub.packPoint(A)) };
        });
    }
    if (request.sign) {
        answer.sign = request.sign.map(({ key, msg }) => {
            const sig = eddsa.signPoseidon(Buffer.from(key, "hex"), F.e(BigInt(msg)));
            return toHex(eddsa.packSignature(sig));
        });
    }
    if (request.verify) {
        answer.verify = request.verify.map(({ pub, sig, msg }) => {
            const A = babyJub.unpackPoint(fromHex(pub));
            const signature = eddsa.unpackSignature(fromHex(sig));
            if (A === null || signature.R8 === null) return false;
            return eddsa.verifyPoseidon(F.e(BigInt(msg)), signature, A);
        });
    }
    if (request.pack) {
        answer.pack = request.pack.map((P) => toHex(babyJub.packPoint(point(P))));
    }
    if (request.unpack) {
        answer.unpack = request.unpack.map((hex) => {
            const P = babyJub.unpackPoint(fromHex(hex));
            return P === null ? null : unpoint(P);
        });
    }
    if (request.subgroup) {
        answer.subgroup = request.subgroup.map((P) => babyJub.inSubgroup(point(P)));
    }
    if (request.blake512) {
        answer.blake512 = request.blake512.map((hex) =>
            toHex(createBlakeHash("blake512").update(Buffer.from(hex, "hex")).digest()));
    }
    process.stdout.write(JSON.stringify(answer) + "\n");
}

main().then(() => process.exit(0), (err) => {
    process.stderr.write(String(err && err.stack ? err.stack : err) + "\n");
    process.exit(1);
});
