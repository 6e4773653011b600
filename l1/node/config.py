"""Node configuration: one settings object, from ``ROLLCOURT_L1_*`` environment variables or flags."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any, Literal

from pydantic import Field, field_validator
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict

__all__ = ["NodeConfig", "default_spec_path"]


def default_spec_path(preset: str = "devnet") -> Path:
    return Path(__file__).resolve().parent.parent / "specs" / f"{preset}.json"


class NodeConfig(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="ROLLCOURT_L1_", extra="forbid")

    data_dir: Path = Field(
        default=Path("./devnet-data/l1"), description="where the node keeps its database"
    )
    spec: Path | None = Field(
        default=None, description="chain spec JSON (default: the devnet spec)"
    )
    database_url: str | None = Field(
        default=None, description="SQLAlchemy URL; default SQLite in data_dir"
    )
    host: str = "127.0.0.1"
    rpc_port: int = 8114
    #: URL other nodes use to reach this one (announced to peers); default http://host:rpc_port.
    public_url: str | None = None
    #: From the environment (ROLLCOURT_L1_PEERS): URLs separated by spaces or commas, as the
    #: CLI reads the same variable -- not JSON.
    peers: Annotated[list[str], NoDecode] = Field(default_factory=list)
    mine: bool = False
    #: Fraction of the time the miner hashes (0-1]; the difficulty adjusts to it.
    mine_duty: float = 0.5
    #: Seconds the miner waits after each block (paces presets with permanent difficulty).
    mine_interval: float = 0.0
    #: Lock args (blake160, hex) the miner's rewards pay to; default devnet key 0.
    miner_lock_args: str | None = None
    #: Seconds between sync rounds with peers.
    sync_interval: float = 1.0
    #: Largest accepted HTTP request body, in bytes.
    max_request_bytes: int = 8_000_000
    #: Longest challenge window (L1 blocks) this node serves data for; must fit in retention.
    challenge_window: int = 0
    #: Test-only fault injection (devnet/test presets): "withhold-cells", "corrupt-cells",
    #: "withhold-sidecars" (announce blocks without their blob data).
    fault: Literal["withhold-cells", "corrupt-cells", "withhold-sidecars"] | None = None
    #: Expose test-only RPC methods (generate_block, truncate...) — devnet/test presets only.
    dev_rpc: bool = False
    log_level: str = "info"

    @field_validator("peers", mode="before")
    @classmethod
    def _split_peers(cls, value: Any) -> Any:
        if isinstance(value, str):
            return [url for url in value.replace(",", " ").split() if url]
        return value

    def resolved_spec(self) -> Path:
        return self.spec if self.spec is not None else default_spec_path()

    def resolved_database_url(self) -> str:
        if self.database_url:
            return self.database_url
        return f"sqlite:///{(self.data_dir / 'chain.sqlite').resolve()}"

    def resolved_public_url(self) -> str:
        return self.public_url or f"http://{self.host}:{self.rpc_port}"
