pragma circom 2.1.5;

// rollcourt validity circuit: a batch of BATCH_SIZE record slots moves old_state_root to
// new_state_root under exactly the rules of l2/stf.py (docs/validity.md §4).
//
// Licence: GPL-3.0 (it includes circomlib, GPL-3.0); see prover/LICENSE.
//
// Everything the STF reads is a witness; the single public input `batch_input` binds the proof
// to what the L1 has (docs/validity.md §3):
//   batch_input = Poseidon(old_state_root, new_state_root, records_hash, config_hash)
//
// Per slot, three sequential leaf updates against the running accounts root:
//   u0  sender (transfer, withdraw) or target (deposit)
//   u1  recipient (transfer)
//   u2  fee account (signed transaction with fee > 0)
// A disabled update passes the root through unchanged and checks nothing about its path.

include "poseidon.circom";
include "bitify.circom";
include "comparators.circom";
include "babyjub.circom";
include "pointbits.circom";
include "eddsaposeidon.circom";

// The root of a depth-D tree in which the leaf at the position whose bits are `bits` (bit h set:
// the node at height h is a right child) is `leaf`; siblings bottom-up, as l2/smt.py.
template MerkleRoot(D) {
    signal input leaf;
    signal input bits[D];
    signal input siblings[D];
    signal output root;

    component hashers[D];
    signal cur[D + 1];
    signal left[D];
    cur[0] <== leaf;
    for (var h = 0; h < D; h++) {
        left[h] <== cur[h] + bits[h] * (siblings[h] - cur[h]);
        hashers[h] = Poseidon(2);
        hashers[h].inputs[0] <== left[h];
        hashers[h].inputs[1] <== cur[h] + siblings[h] - left[h];
        cur[h + 1] <== hashers[h].out;
    }
    root <== cur[D];
}

// One leaf update: when enabled, old_leaf must sit at `index` under root_in, and root_out is the
// root with new_leaf there instead (same siblings). Disabled: root_out = root_in.
template LeafUpdate(D) {
    signal input enabled;
    signal input root_in;
    signal input index;
    signal input old_leaf;
    signal input new_leaf;
    signal input siblings[D];
    signal output root_out;

    component bits = Num2Bits(D);
    bits.in <== index;
    component old_root = MerkleRoot(D);
    component new_root = MerkleRoot(D);
    old_root.leaf <== old_leaf;
    new_root.leaf <== new_leaf;
    for (var h = 0; h < D; h++) {
        old_root.bits[h] <== bits.out[h];
        old_root.siblings[h] <== siblings[h];
        new_root.bits[h] <== bits.out[h];
        new_root.siblings[h] <== siblings[h];
    }
    enabled * (old_root.root - root_in) === 0;
    root_out <== root_in + enabled * (new_root.root - root_in);
}

// Big-endian integer of bytes[start .. start + count) (a linear combination, no constraint).
function be_weight(count, k) {
    return 256 ** (count - 1 - k);
}

// One record slot: the STF of l2/stf.py for kinds 1-3, a no-op for kind 0.
template RollupSlot(D, MIN_WITHDRAWAL) {
    signal input root_in;
    signal input next_account_in;
    signal input next_deposit_in;
    signal input dom0;
    signal input dom1;
    signal input fee_account;

    signal input record[124];
    signal input key[2];          // deposit: the unpacked key of the record; else (0, 1)
    signal input r8[2];           // signed: the unpacked R8 of the signature; else (0, 1)
    signal input leaf_ax[3];
    signal input leaf_ay[3];
    signal input leaf_balance[3];
    signal input leaf_nonce[3];
    signal input siblings[3][D];

    signal output root_out;
    signal output next_account_out;
    signal output next_deposit_out;
    signal output elements[4];

    var i;
    var k;

    // ---- the record: 124 bytes (l2/tx.py layout), every byte range-checked
    component byte_bits[124];
    for (i = 0; i < 124; i++) {
        byte_bits[i] = Num2Bits(8);
        byte_bits[i].in <== record[i];
    }
    var acc;
    acc = 0;
    for (k = 0; k < 4; k++) { acc += record[1 + k] * (256 ** k); }
    signal a <== acc;                      // from / deposit index
    acc = 0;
    for (k = 0; k < 4; k++) { acc += record[5 + k] * (256 ** k); }
    signal b <== acc;                      // to
    acc = 0;
    for (k = 0; k < 8; k++) { acc += record[9 + k] * (256 ** k); }
    signal amount <== acc;
    acc = 0;
    for (k = 0; k < 6; k++) { acc += record[17 + k] * (256 ** k); }
    signal fee <== acc;
    acc = 0;
    for (k = 0; k < 4; k++) { acc += record[23 + k] * (256 ** k); }
    signal nonce <== acc;

    // The four blob field elements of the record (docs/validity.md §3).
    for (var e = 0; e < 4; e++) {
        acc = 0;
        for (k = 0; k < 31; k++) { acc += record[31 * e + k] * be_weight(31, k); }
        elements[e] <== acc;
    }

    // ---- kind flags: exactly one of no-op, deposit, transfer, withdraw
    component is_dep = IsEqual();
    is_dep.in[0] <== record[0];
    is_dep.in[1] <== 1;
    component is_tr = IsEqual();
    is_tr.in[0] <== record[0];
    is_tr.in[1] <== 2;
    component is_wd = IsEqual();
    is_wd.in[0] <== record[0];
    is_wd.in[1] <== 3;
    component is_nop = IsZero();
    is_nop.in <== record[0];
    is_nop.out + is_dep.out + is_tr.out + is_wd.out === 1;
    signal dep <== is_dep.out;
    signal tr <== is_tr.out;
    signal wd <== is_wd.out;
    signal signed <== tr + wd;

    // ---- canonical records (l2.tx.decode_record with 32-byte keys, 64-byte signatures)
    var signature_sum = 0;
    for (k = 60; k < 124; k++) { signature_sum += record[k]; }
    var payload_sum = 0;
    for (k = 27; k < 60; k++) { payload_sum += record[k]; }
    var recipient_padding = 0;
    for (k = 47; k < 60; k++) { recipient_padding += record[k]; }
    dep * fee === 0;
    dep * nonce === 0;
    dep * record[59] === 0;
    dep * signature_sum === 0;
    tr * payload_sum === 0;
    wd * b === 0;
    wd * recipient_padding === 0;

    // ---- the signing message: Poseidon of the 31-byte big-endian chunks of
    //      prefix(54) || record[0:60] (docs/validity.md §1)
    var c1 = dom1 * (2 ** 64);
    for (k = 0; k < 8; k++) { c1 += record[k] * be_weight(8, k); }
    var c2 = 0;
    for (k = 0; k < 31; k++) { c2 += record[8 + k] * be_weight(31, k); }
    var c3 = 0;
    for (k = 0; k < 21; k++) { c3 += record[39 + k] * be_weight(21, k); }
    component message = Poseidon(4);
    message.inputs[0] <== dom0;
    message.inputs[1] <== c1;
    message.inputs[2] <== c2;
    message.inputs[3] <== c3;

    // ---- deposit key: the record's 32 packed bytes are exactly (key) packed, key on the curve
    component key_check = BabyCheck();
    key_check.x <== key[0];
    key_check.y <== key[1];
    component key_bits = Point2Bits_Strict();
    key_bits.in[0] <== key[0];
    key_bits.in[1] <== key[1];
    for (k = 0; k < 256; k++) {
        dep * (key_bits.out[k] - byte_bits[27 + k \ 8].out[k % 8]) === 0;
    }

    // ---- signature: packed R8 (canonical, on the curve) || S (little-endian, < 2^253)
    component r8_check = BabyCheck();
    r8_check.x <== r8[0];
    r8_check.y <== r8[1];
    component r8_bits = Point2Bits_Strict();
    r8_bits.in[0] <== r8[0];
    r8_bits.in[1] <== r8[1];
    for (k = 0; k < 256; k++) {
        signed * (r8_bits.out[k] - byte_bits[60 + k \ 8].out[k % 8]) === 0;
    }
    byte_bits[123].out[5] + byte_bits[123].out[6] + byte_bits[123].out[7] === 0;
    acc = 0;
    for (k = 0; k < 253; k++) { acc += byte_bits[92 + k \ 8].out[k % 8] * (2 ** k); }
    signal s <== acc;

    component eddsa = EdDSAPoseidonVerifier();
    eddsa.enabled <== signed;
    eddsa.Ax <== leaf_ax[0];
    eddsa.Ay <== leaf_ay[0];
    eddsa.S <== s;
    eddsa.R8x <== r8[0];
    eddsa.R8y <== r8[1];
    eddsa.M <== message.out;

    // ---- accounts exist (dense: index < next_account), deposits in queue order
    component sender_exists = LessThan(32);
    sender_exists.in[0] <== a;
    sender_exists.in[1] <== next_account_in;
    signed * (1 - sender_exists.out) === 0;
    component to_exists = LessThan(32);
    to_exists.in[0] <== b;
    to_exists.in[1] <== next_account_in;
    tr * (1 - to_exists.out) === 0;
    component fee_zero = IsZero();
    fee_zero.in <== fee;
    signal fee_on <== signed * (1 - fee_zero.out);
    component fee_exists = LessThan(32);
    fee_exists.in[0] <== fee_account;
    fee_exists.in[1] <== next_account_in;
    fee_on * (1 - fee_exists.out) === 0;

    dep * (a - next_deposit_in) === 0;
    signal create <== dep * (1 - to_exists.out);
    create * (b - next_account_in) === 0;
    signal dep_existing <== dep * to_exists.out;
    dep_existing * (leaf_ax[0] - key[0]) === 0;
    dep_existing * (leaf_ay[0] - key[1]) === 0;

    // ---- nonce, amounts
    signed * (nonce - leaf_nonce[0]) === 0;
    component nonce_max = IsEqual();
    nonce_max.in[0] <== leaf_nonce[0];
    nonce_max.in[1] <== 4294967295;
    signed * nonce_max.out === 0;
    signal total <== amount + fee;
    component total_bits = Num2Bits(64);
    total_bits.in <== total;
    component min_withdrawal = GreaterEqThan(64);
    min_withdrawal.in[0] <== amount;
    min_withdrawal.in[1] <== MIN_WITHDRAWAL;
    wd * (1 - min_withdrawal.out) === 0;

    // ---- u0: sender (debit amount + fee, nonce + 1) or deposit target (credit / create)
    component old_hash[3];
    component new_hash[3];
    component balance_bits[3];
    component update[3];
    for (i = 0; i < 3; i++) {
        old_hash[i] = Poseidon(4);
        old_hash[i].inputs[0] <== leaf_ax[i];
        old_hash[i].inputs[1] <== leaf_ay[i];
        old_hash[i].inputs[2] <== leaf_balance[i];
        old_hash[i].inputs[3] <== leaf_nonce[i];
        new_hash[i] = Poseidon(4);
        balance_bits[i] = Num2Bits(64);
        update[i] = LeafUpdate(D);
        for (k = 0; k < D; k++) { update[i].siblings[k] <== siblings[i][k]; }
    }
    signal kept_balance <== leaf_balance[0] * (1 - create);
    signal credited <== dep * amount;
    signal debited <== signed * total;
    signal new_balance0 <== kept_balance + credited - debited;
    balance_bits[0].in <== new_balance0;
    new_hash[0].inputs[0] <== leaf_ax[0] + create * (key[0] - leaf_ax[0]);
    new_hash[0].inputs[1] <== leaf_ay[0] + create * (key[1] - leaf_ay[0]);
    new_hash[0].inputs[2] <== new_balance0;
    new_hash[0].inputs[3] <== (1 - create) * (leaf_nonce[0] + signed);
    update[0].enabled <== 1 - is_nop.out;
    update[0].root_in <== root_in;
    update[0].index <== a + dep * (b - a);
    update[0].old_leaf <== (1 - create) * old_hash[0].out;
    update[0].new_leaf <== new_hash[0].out;

    // ---- u1: recipient of a transfer (credit amount)
    balance_bits[1].in <== leaf_balance[1] + amount;
    new_hash[1].inputs[0] <== leaf_ax[1];
    new_hash[1].inputs[1] <== leaf_ay[1];
    new_hash[1].inputs[2] <== leaf_balance[1] + amount;
    new_hash[1].inputs[3] <== leaf_nonce[1];
    update[1].enabled <== tr;
    update[1].root_in <== update[0].root_out;
    update[1].index <== b;
    update[1].old_leaf <== old_hash[1].out;
    update[1].new_leaf <== new_hash[1].out;

    // ---- u2: the fee account (credit fee)
    balance_bits[2].in <== leaf_balance[2] + fee;
    new_hash[2].inputs[0] <== leaf_ax[2];
    new_hash[2].inputs[1] <== leaf_ay[2];
    new_hash[2].inputs[2] <== leaf_balance[2] + fee;
    new_hash[2].inputs[3] <== leaf_nonce[2];
    update[2].enabled <== fee_on;
    update[2].root_in <== update[1].root_out;
    update[2].index <== fee_account;
    update[2].old_leaf <== old_hash[2].out;
    update[2].new_leaf <== new_hash[2].out;

    root_out <== update[2].root_out;
    next_account_out <== next_account_in + create;
    next_deposit_out <== next_deposit_in + dep;
}

template RollupBatch(D, BATCH_SIZE, MIN_WITHDRAWAL) {
    signal input batch_input;

    signal input dom0;
    signal input dom1;
    signal input fee_account;
    signal input old_accounts_root;
    signal input old_next_account;
    signal input old_next_deposit;

    signal input record[BATCH_SIZE][124];
    signal input key[BATCH_SIZE][2];
    signal input r8[BATCH_SIZE][2];
    signal input leaf_ax[BATCH_SIZE][3];
    signal input leaf_ay[BATCH_SIZE][3];
    signal input leaf_balance[BATCH_SIZE][3];
    signal input leaf_nonce[BATCH_SIZE][3];
    signal input siblings[BATCH_SIZE][3][D];

    var i;
    var j;
    var k;

    // Counters are u32: without the range checks a different split of the same counters word
    // would pass.
    component account_bits = Num2Bits(32);
    account_bits.in <== old_next_account;
    component deposit_bits = Num2Bits(32);
    deposit_bits.in <== old_next_deposit;
    component fee_bits = Num2Bits(32);
    fee_bits.in <== fee_account;

    component old_root = Poseidon(2);
    old_root.inputs[0] <== old_accounts_root;
    old_root.inputs[1] <== old_next_deposit * (2 ** 32) + old_next_account;

    component slots[BATCH_SIZE];
    component records_hash[BATCH_SIZE];
    for (i = 0; i < BATCH_SIZE; i++) {
        slots[i] = RollupSlot(D, MIN_WITHDRAWAL);
        slots[i].dom0 <== dom0;
        slots[i].dom1 <== dom1;
        slots[i].fee_account <== fee_account;
        if (i == 0) {
            slots[i].root_in <== old_accounts_root;
            slots[i].next_account_in <== old_next_account;
            slots[i].next_deposit_in <== old_next_deposit;
        } else {
            slots[i].root_in <== slots[i - 1].root_out;
            slots[i].next_account_in <== slots[i - 1].next_account_out;
            slots[i].next_deposit_in <== slots[i - 1].next_deposit_out;
        }
        for (k = 0; k < 124; k++) { slots[i].record[k] <== record[i][k]; }
        slots[i].key[0] <== key[i][0];
        slots[i].key[1] <== key[i][1];
        slots[i].r8[0] <== r8[i][0];
        slots[i].r8[1] <== r8[i][1];
        for (j = 0; j < 3; j++) {
            slots[i].leaf_ax[j] <== leaf_ax[i][j];
            slots[i].leaf_ay[j] <== leaf_ay[i][j];
            slots[i].leaf_balance[j] <== leaf_balance[i][j];
            slots[i].leaf_nonce[j] <== leaf_nonce[i][j];
            for (k = 0; k < D; k++) { slots[i].siblings[j][k] <== siblings[i][j][k]; }
        }

        records_hash[i] = Poseidon(5);
        if (i == 0) {
            records_hash[i].inputs[0] <== 0;
        } else {
            records_hash[i].inputs[0] <== records_hash[i - 1].out;
        }
        for (k = 0; k < 4; k++) { records_hash[i].inputs[1 + k] <== slots[i].elements[k]; }
    }

    component new_root = Poseidon(2);
    new_root.inputs[0] <== slots[BATCH_SIZE - 1].root_out;
    new_root.inputs[1] <== slots[BATCH_SIZE - 1].next_deposit_out * (2 ** 32)
        + slots[BATCH_SIZE - 1].next_account_out;

    component config_hash = Poseidon(3);
    config_hash.inputs[0] <== dom0;
    config_hash.inputs[1] <== dom1;
    config_hash.inputs[2] <== fee_account;

    component binding = Poseidon(4);
    binding.inputs[0] <== old_root.out;
    binding.inputs[1] <== new_root.out;
    binding.inputs[2] <== records_hash[BATCH_SIZE - 1].out;
    binding.inputs[3] <== config_hash.out;
    batch_input === binding.out;
}
