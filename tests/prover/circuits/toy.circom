pragma circom 2.1.0;

// A toy stand-in for RollupBatch in the prover's tests: one public input, circomlib's Poseidon,
// an assert and a constraint, so both failure kinds can be exercised.
include "poseidon.circom";

template Toy(N) {
    signal input preimage[N];
    signal input batch_input;

    assert(preimage[0] != 13);

    component hash = Poseidon(N);
    for (var i = 0; i < N; i++) {
        hash.inputs[i] <== preimage[i];
    }
    hash.out === batch_input;
}
