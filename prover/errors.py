"""The prover's exception tree: everything the prover raises on purpose derives from
``ProverError``, so a caller (the CLI, the HTTP app) can turn any of them into one clear message
without catching unrelated bugs.  Each class that an HTTP client can cause carries its status
and a stable code (the sequencer's error shape, ``sequencer.httperrors``)."""

from __future__ import annotations

__all__ = [
    "CircuitMismatch",
    "InvalidInputs",
    "InvalidWitness",
    "JobNotDone",
    "JobNotFound",
    "ProverError",
    "ProverStartupError",
    "SetupFailed",
    "SetupMissing",
    "ToolMissing",
]


class ProverError(Exception):
    """Root of every error the prover raises on purpose."""

    #: Stable machine code and HTTP status used when the error reaches the API.
    code = "prover_error"
    status = 500

    @property
    def message(self) -> str:
        return str(self)


class SetupMissing(ProverError):
    """No artifacts (proving key, verification key) for this circuit in the data dir; the
    message names the command that creates them."""

    code = "setup_missing"
    status = 503


class SetupFailed(ProverError):
    """Compiling the circuit or running the setup failed (syntax error, missing include, a
    zkey of another circuit)."""

    code = "setup_failed"


class CircuitMismatch(ProverError):
    """The artifacts or the circuit disagree with what the spec says (another circuit hash,
    another number of public signals)."""

    code = "circuit_mismatch"


class ToolMissing(ProverError):
    """A required external piece (circomlib sources, node) is not installed."""

    code = "tool_missing"


class InvalidInputs(ProverError):
    """The submitted inputs are malformed (not an integer, outside the field, unknown or
    missing signal): refused before any proving work."""

    code = "invalid_inputs"
    status = 400


class InvalidWitness(ProverError):
    """The inputs are well formed but do not satisfy the circuit (a failing ``assert`` or
    ``===``), or the witness generator refused them; the message says which."""

    code = "invalid_witness"
    status = 422


class JobNotFound(ProverError):
    """No job with this id."""

    code = "not_found"
    status = 404


class JobNotDone(ProverError):
    """The job has no proof (yet, or ever: it failed); the message says which."""

    code = "job_not_done"
    status = 409


class ProverStartupError(ProverError):
    """The prover service refuses to start (data dir in use, artifacts missing)."""

    code = "startup"
