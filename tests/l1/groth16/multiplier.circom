pragma circom 2.0.0;

// Test circuit for tests/l1/test_groth16.py: knowledge of a, b with a * b == c whose
// Poseidon hash is h. Two public signals, in snarkjs order [h (output), c (input)], so a
// verifier that swaps them is caught.
include "poseidon.circom";

template PoseidonMultiplier() {
    signal input a;
    signal input b;
    signal input c;
    signal output h;

    c === a * b;

    component hasher = Poseidon(2);
    hasher.inputs[0] <== a;
    hasher.inputs[1] <== b;
    h <== hasher.out;
}

component main {public [c]} = PoseidonMultiplier();
