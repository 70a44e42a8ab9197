"""Regenerate the Python stubs of the gRPC contract in protos/ (`make proto`).

protoc is shown protos/ under the virtual path `serving/gen`, so the stubs import each other as
`serving.gen.guidance.v1.guidance_pb2` with nothing rewritten by hand, while the proto package,
and so every full method name (`/guidance.v1.GuidanceService/Recommend`), stays `guidance.v1`.
The price is the file name the descriptor pool registers, `serving/gen/guidance/v1/guidance.proto`;
lookups by symbol (server reflection included) do not see it.

    python -m serving.gen.generate [--out DIR]
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import tempfile
from pathlib import Path

import grpc_tools

GEN_DIR = Path(__file__).resolve().parent
REPO_ROOT = GEN_DIR.parents[1]
PROTO_ROOT = REPO_ROOT / "protos"
VIRTUAL_ROOT = "serving/gen"
# Relative to PROTO_ROOT; each one's package directories get an empty __init__.py.
PROTOS = ("guidance/v1/guidance.proto",)
# google/protobuf/*.proto, for when a contract imports a well-known type.
WELL_KNOWN_TYPES = Path(grpc_tools.__file__).resolve().parent / "_proto"


class ProtocError(RuntimeError):
    """protoc rejected a proto file; the message carries its diagnostics."""


def generate(out_dir: Path = GEN_DIR) -> list[Path]:
    """Write the stubs of every proto in PROTOS under `out_dir`, laid out as serving/gen is.

    Returns the written files (stubs and package `__init__.py` files), sorted, relative to
    `out_dir`. The bytes depend only on the protos and the installed grpcio-tools.
    """
    written: set[Path] = set()
    with tempfile.TemporaryDirectory(prefix="guidance-proto-") as tmp:
        stage = Path(tmp)
        command = [
            sys.executable,
            "-m",
            "grpc_tools.protoc",
            f"-I{VIRTUAL_ROOT}={PROTO_ROOT}",
            f"-I{WELL_KNOWN_TYPES}",
            f"--python_out={stage}",
            f"--pyi_out={stage}",
            f"--grpc_python_out={stage}",
            *(f"{VIRTUAL_ROOT}/{proto}" for proto in PROTOS),
        ]
        result = subprocess.run(command, capture_output=True, text=True, check=False)
        if result.returncode != 0:
            raise ProtocError(
                f"protoc failed (exit {result.returncode}) on {', '.join(PROTOS)} "
                f"under {PROTO_ROOT}:\n{result.stderr.strip()}"
            )
        staged_root = stage / VIRTUAL_ROOT
        for staged in sorted(staged_root.rglob("*")):
            if staged.is_file():
                relative = staged.relative_to(staged_root)
                target = out_dir / relative
                target.parent.mkdir(parents=True, exist_ok=True)
                target.write_bytes(staged.read_bytes())
                written.add(relative)
    for proto in PROTOS:
        for package in Path(proto).parents[:-1]:  # guidance/v1, guidance; not the root itself
            init = package / "__init__.py"
            (out_dir / init).write_bytes(b"")
            written.add(init)
    return sorted(written)


def main(argv: list[str] | None = None) -> None:
    """Parse the command line and regenerate; prints where the stubs went."""
    parser = argparse.ArgumentParser(prog="python -m serving.gen.generate", description=__doc__)
    parser.add_argument(
        "--out",
        type=Path,
        default=GEN_DIR,
        help="directory standing for serving/gen (default: regenerate in place)",
    )
    args = parser.parse_args(argv)
    files = generate(args.out)
    print(f"wrote {len(files)} files under {args.out}")


if __name__ == "__main__":
    main()
